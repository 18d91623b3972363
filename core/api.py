"""The Python API: restore an image in one call, with the models inside the package.

``import edgerestore`` stays light (these functions are imported on first use);
everything here runs on the torch-free runtime (numpy + onnxruntime, or LiteRT when
installed). Every function takes an image as

* a path (str or ``os.PathLike``): read like the command line reads it (EXIF
  orientation, 16-bit kept) and returned as a PIL image (8-bit);
* a PIL image (mode ``L`` or ``RGB``; others are converted to RGB): returned in the
  same mode and size;
* a numpy array ``HxW`` or ``HxWxC`` (C = 1 or 3), float in [0, 1] or uint8 / uint16:
  returned with the same shape and dtype.

Noise levels are in 0-255 units, as on the command line. ``model`` is a packaged
name (``edgerestore models`` lists them), a file (``.onnx`` / ``.tflite``), a
:class:`Model` from :func:`load_model`, or None for the packaged default for the
image (colour or grey). Opened models are cached, so repeated calls do not reopen
the file.

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
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, Union

import numpy as np

from edgerestore.errors import InputError, ModelFileError

if TYPE_CHECKING:
    from PIL import Image

    from edgerestore.runtime.exported_denoiser import ExportedDenoiser

ImageLike = TypeVar("ImageLike", bound=Union[str, os.PathLike, "Image.Image", np.ndarray])
ModelLike = Union[str, os.PathLike, "Model", None]


@dataclass(frozen=True)
class Model:
    """An opened exported model, reusable across calls (and across images).

    ``task`` is ``denoise`` (blind-spot denoiser: removes noise of a given or
    estimated level) or ``prior`` (MAP denoiser: the image prior of deblur, inpaint
    and upscale); ``strength`` is a prior's fixed noise level in [0, 1] units.
    """

    path: Path
    task: str
    channels: int
    runner: ExportedDenoiser

    @property
    def strength(self) -> float | None:
        return self.runner.strength

    @property
    def backend(self) -> str:
        return self.runner.session.backend


def load_model(name_or_path: str | os.PathLike[str], *, backend: str | None = None,
               precision: str | None = None, threads: int | None = None) -> Model:
    """Open a packaged model (by name) or an exported ``.onnx`` / ``.tflite`` file.

    A packaged name picks the fastest file among the installed backends unless
    ``backend`` ('onnxruntime' / 'litert') or ``precision`` ('fp32' / 'int8') say
    otherwise; ``threads`` is the inference thread count (default: all cores).

    >>> import edgerestore
    >>> model = edgerestore.load_model("blindspot_gauss25_rgb", backend="onnxruntime")
    >>> model.task, model.channels, model.backend
    ('denoise', 3, 'onnxruntime')
    """
    from edgerestore.runtime.packaged import resolve

    path = resolve(str(name_or_path) if isinstance(name_or_path, str) else Path(name_or_path),
                   task="denoise", backend=backend, precision=precision)
    return _open(path, threads)


@lru_cache(maxsize=8)
def _open(path: Path, threads: int | None) -> Model:
    from edgerestore.runtime.backends import SessionOptions
    from edgerestore.runtime.exported_denoiser import ExportedDenoiser

    if path.suffix.lower() not in (".onnx", ".tflite"):
        raise ModelFileError(f"{path}: the torch-free API runs exported .onnx / .tflite files; "
                             "export .safetensors weights first (`edgerestore export`)")
    runner = ExportedDenoiser(path, SessionOptions(threads=threads))
    task = "denoise" if runner.task.startswith("denoise_") else "prior"
    return Model(path, task, runner.channels, runner)


def denoise(image: ImageLike, sigma: float | None = None, model: ModelLike = None, *,
            backend: str | None = None, precision: str | None = None,
            threads: int | None = None) -> ImageLike:
    """Remove Gaussian noise of std ``sigma`` (0-255; None: estimated from the image).

    The default model is the packaged blind-spot denoiser for the image's channels
    (for colour far from sigma 25, the sigma 5-50 model: see
    :data:`edgerestore.runtime.packaged.SIGMA25_BAND`). ``backend`` / ``precision``
    choose among a packaged model's files, as in :func:`load_model`.

    >>> import numpy as np, edgerestore
    >>> noisy = np.random.default_rng(1).integers(90, 160, (40, 40), dtype=np.uint8)
    >>> out = edgerestore.denoise(noisy)
    >>> out.shape, out.dtype, bool(out.std() < noisy.std())
    ((40, 40), dtype('uint8'), True)
    """
    pixels, back = _as_float(image)
    if sigma is not None and not (np.isfinite(sigma) and 0 < sigma <= 255):
        raise InputError(f"sigma must be in (0, 255], got {sigma}")
    level = sigma
    if model is None and level is None and pixels.shape[2] == 3:
        from edgerestore.runtime.sigma_estimate import estimate_sigma

        level = estimate_sigma(pixels) * 255.0  # only picks the model; the runner re-checks
    net = _model(model, "denoise", pixels.shape[2], threads, backend, precision, level)
    return back(net.runner.denoise(pixels, sigma))


def deblur(image: ImageLike, kernel: np.ndarray | str | os.PathLike[str],
           sigma: float | None = None, model: ModelLike = None, *,
           backend: str | None = None, precision: str | None = None,
           threads: int | None = None, **solver: Any) -> ImageLike:
    """Remove a known blur ``kernel`` (array or kernel file) with plug-and-play ADMM.

    ``sigma`` is the noise std of the blurred image (0-255; None: estimated); the
    prior is the packaged MAP denoiser unless ``model`` names another. ``solver``
    passes ``method`` ('admm' / 'hqs'), ``iters``, ``rho`` and ``boundary`` ('same',
    'circular', 'valid') to :func:`edgerestore.runtime.pnp.deblur`.

    >>> import numpy as np, edgerestore
    >>> from edgerestore.runtime.kernels import gaussian_kernel
    >>> blurred = np.full((32, 32, 3), 0.5, np.float32)
    >>> edgerestore.deblur(blurred, gaussian_kernel(1.0), sigma=2.55, iters=3).shape
    (32, 32, 3)
    """
    from edgerestore.runtime.kernels import load_kernel, validate_kernel
    from edgerestore.runtime.pnp import deblur as pnp_deblur

    pixels, back = _as_float(image)
    k = np.asarray(kernel) if isinstance(kernel, np.ndarray) else load_kernel(kernel)
    k = validate_kernel(k, pixels.shape)
    net = _model(model, "prior", pixels.shape[2], threads, backend, precision)
    result = pnp_deblur(pixels, k, net.runner, sigma_n=_unit_sigma(sigma),
                        denoiser_sigma=_strength(net), **solver)
    return back(result.x)


def inpaint(image: ImageLike, mask: np.ndarray, sigma: float = 2.55,
            model: ModelLike = None, *, threads: int | None = None,
            **solver: Any) -> ImageLike:
    """Fill in the pixels where ``mask`` is False (HxW or HxWxC boolean array).

    ``sigma`` is the noise std of the known pixels (0-255). ``solver`` passes
    ``method``, ``iters`` and ``rho`` to :func:`edgerestore.runtime.pnp.inpaint`.

    >>> import numpy as np, edgerestore
    >>> image = np.full((32, 32), 0.5, np.float32)
    >>> mask = np.random.default_rng(0).random((32, 32)) > 0.3
    >>> edgerestore.inpaint(image, mask, iters=3).shape
    (32, 32)
    """
    from edgerestore.runtime.pnp import inpaint as pnp_inpaint

    pixels, back = _as_float(image)
    mask = np.asarray(mask, bool)
    if mask.ndim == 2:
        mask = mask[:, :, None]
    if mask.shape[:2] != pixels.shape[:2] or mask.shape[2] not in (1, pixels.shape[2]):
        raise InputError(f"mask shape {mask.shape} does not fit the image {pixels.shape}")
    net = _model(model, "prior", pixels.shape[2], threads)
    result = pnp_inpaint(pixels, mask, net.runner, sigma_n=_unit_sigma(sigma),
                         denoiser_sigma=_strength(net), **solver)
    return back(result.x)


def upscale(image: ImageLike, scale: int, sigma: float | None = None,
            model: ModelLike = None, *, threads: int | None = None,
            **solver: Any) -> ImageLike:
    """Super-resolve by ``scale`` (2, 3 or 4); the result is ``scale`` times larger.

    ``sigma`` is the input's noise std (0-255; None: estimated). ``solver`` passes
    ``kernel``, ``method``, ``iters`` and ``rho`` to :func:`edgerestore.runtime.pnp.upscale`.

    >>> import numpy as np, edgerestore
    >>> small = np.full((16, 16, 3), 128, np.uint8)
    >>> edgerestore.upscale(small, 2, iters=3).shape
    (32, 32, 3)
    """
    from edgerestore.runtime.pnp import upscale as pnp_upscale

    if scale not in (2, 3, 4):
        raise InputError(f"scale must be 2, 3 or 4, got {scale}")
    pixels, back = _as_float(image)
    net = _model(model, "prior", pixels.shape[2], threads)
    result = pnp_upscale(pixels, scale, net.runner, sigma_n=_unit_sigma(sigma),
                         denoiser_sigma=_strength(net), **solver)
    return back(result.x)


def _model(model: ModelLike, task: str, channels: int, threads: int | None,
           backend: str | None = None, precision: str | None = None,
           sigma: float | None = None) -> Model:
    """``model`` opened (default: the packaged one for ``task``, ``channels`` and the
    noise level ``sigma``), checked against the task and the image."""
    from edgerestore.runtime.packaged import resolve

    if isinstance(model, Model):
        net = model
    else:
        spec = str(model) if isinstance(model, str) else (None if model is None
                                                         else Path(model))
        net = _open(resolve(spec, task=task, channels=channels, backend=backend,
                            precision=precision, sigma=sigma), threads)
    if net.task != task:
        wanted = "a blind-spot denoiser" if task == "denoise" else "a MAP denoiser (prior)"
        raise InputError(f"{net.path.name} is not {wanted}")
    if net.channels != channels:
        raise InputError(f"{net.path.name} takes {net.channels}-channel images; the image "
                         f"has {channels}")
    return net


def _strength(net: Model) -> float:
    from edgerestore.runtime.presets import MAP_DENOISER_SIGMA

    return net.strength if net.strength is not None else MAP_DENOISER_SIGMA


def _unit_sigma(sigma: float | None) -> float | None:
    if sigma is None:
        return None
    if not (np.isfinite(sigma) and 0 <= sigma <= 255):
        raise InputError(f"sigma must be in [0, 255], got {sigma}")
    return sigma / 255.0


def _as_float(image: Any) -> tuple[np.ndarray, Any]:
    """``image`` as float32 HxWxC in [0, 1], and how to turn a result back into its kind."""
    from PIL import Image

    from edgerestore.runtime.image_io import read_image, to_uint

    if isinstance(image, (str, os.PathLike)):
        pixels, info = read_image(image)
        if info.has_alpha:
            raise InputError(f"{image}: has an alpha channel; restoration needs an opaque image")
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
