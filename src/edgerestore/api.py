"""The Python API: restore an image (or an image file) in one call, with the models inside
the package.

``import edgerestore`` stays light (these functions are imported on first use);
everything here runs on the torch-free runtime (numpy + onnxruntime, or LiteRT when
installed), except a ``.safetensors`` prior, which needs torch as on the command line.
Every function takes an image as

* a path (str or ``os.PathLike``): read like the command line reads it (EXIF
  orientation, 16-bit kept) and returned as a PIL image (8-bit);
* a PIL image (mode ``L`` or ``RGB``; others are converted to RGB): returned in the
  same mode and size;
* a numpy array ``HxW`` or ``HxWxC`` (C = 1 or 3), float in [0, 1] or uint8 / uint16:
  returned with the same shape and dtype.

:func:`restore_file` restores one image file into another: the one per-file path of
the command line, for a single file and for each file of a folder alike (same bytes,
the source's EXIF and ICC profile kept, JPEG at quality 95, 16 bits kept in PNG).

Noise levels are in 0-255 units, as on the command line (converted once, by
:func:`edgerestore.units.noise_sigma`, to the library's [0, 1]). ``model`` is a packaged
name (``edgerestore models`` lists them), a file (``.onnx`` / ``.tflite``; for the
plug-and-play tasks also ``.safetensors``), a :class:`Model` from :func:`load_model`,
or None for the packaged default for the image (colour or grey; for colour denoising,
by the given or estimated noise level). Any denoiser may serve as the prior of
deblur, inpaint and upscale: a fixed-strength MAP denoiser at its training level, a
blind-spot denoiser at the solver's level. Opened models are cached, so repeated calls
do not reopen the file.

>>> import numpy as np, edgerestore
>>> rng = np.random.default_rng(0)
>>> clean = np.tile(np.linspace(0.2, 0.8, 48, dtype=np.float32), (48, 1))[..., None]
>>> clean = np.repeat(clean, 3, axis=2)
>>> noisy = np.clip(clean + rng.normal(0, 25 / 255, clean.shape), 0, 1).astype(np.float32)
>>> out = edgerestore.denoise(noisy, sigma=25)
>>> out.shape, out.dtype
((48, 48, 3), dtype('float32'))
>>> bool(np.abs(out - clean).mean() < np.abs(noisy - clean).mean() / 2)
True
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edgerestore.console import log
from edgerestore.errors import InputError
from edgerestore.restoring import (  # noqa: F401  (Model, load_model: public API)
    TASKS,
    ImageLike,
    Model,
    ModelLike,
    PathLike,
    check_solver_options,
    files_read,
    load_model,
    resolve_given,
    restore_pixels,
)
from edgerestore.runtime.tiling import DEFAULT_MAX_TILE
from edgerestore.units import noise_sigma

if TYPE_CHECKING:
    from PIL import Image


def denoise(image: ImageLike, sigma: float | None = None, model: ModelLike = None, *,
            noise: str | None = None, backend: str | None = None, precision: str | None = None,
            threads: int | None = None) -> ImageLike:
    """Remove noise: Gaussian noise of std ``sigma`` (0-255; None: estimated from the
    image), or a camera's real noise.

    ``noise`` picks the default model: "auto" (None without ``sigma`` and ``model``)
    measures the noise on the image (:func:`edgerestore.runtime.sigma_estimate.noise_kind`:
    a camera's spatially correlated noise, or white noise) and runs the real-noise model
    on colour camera photos, the Gaussian one otherwise; it sent none of the CBSD68
    images with white noise at any sigma to the real-noise model, and every SIDD and
    PolyU photo to it (``benchmarks/results/noise_kind_rule.json``). "gaussian" is the
    packaged blind-spot denoiser for the image's channels (for colour far from sigma 25,
    the sigma 5-50 model: see :data:`edgerestore.runtime.packaged.SIGMA25_BAND`), also
    what a given ``sigma`` means; "real" the real-noise model for colour photos.
    ``backend`` / ``precision`` choose among a packaged model's files, as in
    :func:`load_model`.

    >>> import numpy as np, edgerestore
    >>> noisy = np.random.default_rng(1).integers(90, 160, (40, 40), dtype=np.uint8)
    >>> out = edgerestore.denoise(noisy)
    >>> out.shape, out.dtype, bool(out.std() < noisy.std())
    ((40, 40), dtype('uint8'), True)
    """
    pixels, back = _as_float(image)
    out, _ = restore_pixels("denoise", pixels, resolve_given(model, "denoise", backend, precision),
                      sigma=noise_sigma(sigma, positive=True), backend=backend,
                      precision=precision, threads=threads, noise=noise)
    return back(out)


def deblur(image: ImageLike, kernel: np.ndarray | str | os.PathLike[str],
           sigma: float | None = None, model: ModelLike = None, *,
           backend: str | None = None, precision: str | None = None,
           threads: int | None = None, device: str = "auto", **solver: Any) -> ImageLike:
    """Remove a known blur ``kernel`` (array or kernel file) with plug-and-play ADMM.

    ``sigma`` is the noise std of the blurred image (0-255; None: estimated); the
    prior is the packaged MAP denoiser unless ``model`` names another. ``solver``
    passes ``method`` ('admm' / 'hqs', or 'dmsp' with an optional ``dae`` prior file),
    ``iters``, ``rho`` and ``boundary`` ('same', 'circular', 'valid') to
    :func:`edgerestore.runtime.pnp.deblur`. ``device``: torch device of a
    ``.safetensors`` prior.

    >>> import numpy as np, edgerestore
    >>> from edgerestore.runtime.kernels import gaussian_kernel
    >>> blurred = np.full((32, 32, 3), 0.5, np.float32)
    >>> edgerestore.deblur(blurred, gaussian_kernel(1.0), sigma=2.55, iters=3).shape
    (32, 32, 3)
    """
    pixels, back = _as_float(image)
    out, _ = restore_pixels("deblur", pixels, resolve_given(model, "deblur", backend, precision),
                      sigma=noise_sigma(sigma), backend=backend, precision=precision,
                      threads=threads, device=device, kernel=kernel, **solver)
    return back(out)


def inpaint(image: ImageLike, mask: np.ndarray | str | os.PathLike[str],
            sigma: float | None = None, model: ModelLike = None, *,
            threads: int | None = None, device: str = "auto", **solver: Any) -> ImageLike:
    """Fill in the pixels where ``mask`` is False (HxW or HxWxC boolean array, or a mask
    image file: white = known).

    ``sigma`` is the noise std of the known pixels (0-255; None: the authors'
    example, :data:`edgerestore.runtime.presets.INPAINT_SIGMA_N`). ``solver`` passes
    ``method``, ``iters`` and ``rho`` to :func:`edgerestore.runtime.pnp.inpaint`.

    >>> import numpy as np, edgerestore
    >>> image = np.full((32, 32), 0.5, np.float32)
    >>> mask = np.random.default_rng(0).random((32, 32)) > 0.3
    >>> edgerestore.inpaint(image, mask, iters=3).shape
    (32, 32)
    """
    pixels, back = _as_float(image)
    out, _ = restore_pixels("inpaint", pixels, resolve_given(model, "inpaint", None, None),
                      sigma=noise_sigma(sigma), threads=threads, device=device, mask=mask,
                      **solver)
    return back(out)


def upscale(image: ImageLike, scale: int, sigma: float | None = None,
            model: ModelLike = None, *, threads: int | None = None, device: str = "auto",
            **solver: Any) -> ImageLike:
    """Super-resolve by ``scale`` (2, 3 or 4); the result is ``scale`` times larger.

    ``sigma`` is the input's noise std (0-255; None: estimated). ``solver`` passes
    ``kernel`` (array or kernel file), ``method``, ``iters`` and ``rho`` to
    :func:`edgerestore.runtime.pnp.upscale`.

    >>> import numpy as np, edgerestore
    >>> small = np.full((16, 16, 3), 128, np.uint8)
    >>> edgerestore.upscale(small, 2, iters=3).shape
    (32, 32, 3)
    """
    pixels, back = _as_float(image)
    out, _ = restore_pixels("upscale", pixels, resolve_given(model, "upscale", None, None),
                      sigma=noise_sigma(sigma), threads=threads, device=device, scale=scale,
                      **solver)
    return back(out)


def restore_file(task: str, source: PathLike, out: PathLike, *, model: ModelLike = None,
                 backend: str | None = None, precision: str | None = None,
                 sigma: float | None = None, threads: int | None = None,
                 device: str = "auto", max_tile: int = DEFAULT_MAX_TILE,
                 bit_depth: int | None = None, in_place: bool = False,
                 show_progress: bool = False, **options: Any) -> None:
    """Restore image file ``source`` into ``out``: the one path for every file.

    ``task`` is one of :data:`TASKS`; ``options`` are its own (``kernel``, ``mask``,
    ``scale``, ``method``, ``iters``, ``rho``, ``boundary``, ``dae``), as for the
    functions above. The output is checked before any work (writable, an image
    extension, nothing read overwritten; ``source`` only with ``in_place``). It keeps
    the source's EXIF (orientation reset) and ICC profile where its format can, its 16
    bits when written as PNG (``bit_depth``: 8 or 16 instead), and is written
    atomically. ``show_progress``: progress bars (the command line's single file).
    """
    from edgerestore.runtime.image_io import (
        check_image_output,
        output_bit_depth,
        read_opaque,
        write_image,
    )

    if task not in TASKS:
        raise InputError(f"unknown task {task!r}; one of {', '.join(TASKS)}")
    source, out = Path(source), Path(out)
    given = resolve_given(model, task, backend, precision)
    check_image_output(source, out, in_place=in_place, reads=files_read(given, options),
                       bit_depth=bit_depth)
    start = time.perf_counter()
    pixels, info = read_opaque(source)
    restored, summary = restore_pixels(task, pixels, given,
                                 sigma=noise_sigma(sigma, positive=task == "denoise"),
                                 backend=backend, precision=precision, threads=threads,
                                 device=device, max_tile=max_tile,
                                 show_progress=show_progress, **options)
    write_image(out, restored, bit_depth=output_bit_depth(bit_depth, info, out), like=info)
    log.info("wrote %s (%s, %.2f s)", out, summary, time.perf_counter() - start)



def _as_float(image: Any) -> tuple[np.ndarray, Any]:
    """``image`` as float32 HxWxC in [0, 1], and how to turn a result back into its kind."""
    from PIL import Image

    from edgerestore.runtime.image_io import read_opaque, to_uint

    if isinstance(image, (str, os.PathLike)):
        pixels, _info = read_opaque(image)
        return pixels, lambda out: _pil(to_uint(out, 8))
    if isinstance(image, Image.Image):
        mode = image.mode if image.mode in ("L", "RGB") else "RGB"
        pixels = np.asarray(image.convert(mode), np.float32) / 255.0
        return (pixels[:, :, None] if pixels.ndim == 2 else pixels,
                lambda out: _pil(to_uint(out, 8)))
    if not isinstance(image, np.ndarray):
        raise InputError(f"expected a path, a PIL image or a numpy array, got "
                         f"{type(image).__name__}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3)):
        raise InputError(f"expected an HxW or HxWxC (C = 1 or 3) array, got shape {image.shape}")
    squeeze = image.ndim == 2
    dtype = image.dtype
    if dtype in (np.uint8, np.uint16):
        scale = float(np.iinfo(dtype).max)
        pixels = image.astype(np.float32) / scale

        def back(out: np.ndarray) -> np.ndarray:
            restored = np.round(np.clip(out, 0, 1) * scale).astype(dtype)
            return restored[:, :, 0] if squeeze else restored
    elif np.issubdtype(dtype, np.floating):
        if not np.all(np.isfinite(image)):
            raise InputError("image contains NaN or infinite values")
        pixels = image.astype(np.float32)

        def back(out: np.ndarray) -> np.ndarray:
            restored = np.clip(out, 0, 1).astype(dtype)
            return restored[:, :, 0] if squeeze else restored
    else:
        raise InputError(f"expected a float, uint8 or uint16 array, got {dtype}")
    return (pixels[:, :, None] if squeeze else pixels), back


def _pil(pixels: np.ndarray) -> Image.Image:
    from PIL import Image

    return Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)
