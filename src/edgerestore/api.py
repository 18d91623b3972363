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

Noise levels are in 0-255 units, as on the command line. ``model`` is a packaged
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

import itertools
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, Union

import numpy as np

from edgerestore.console import log, progress
from edgerestore.errors import InputError, ModelFileError
from edgerestore.runtime.tiling import DEFAULT_MAX_TILE
from edgerestore.units import noise_sigma

if TYPE_CHECKING:
    from PIL import Image

ImageLike = TypeVar("ImageLike", bound=Union[str, os.PathLike, "Image.Image", np.ndarray])
ModelLike = Union[str, os.PathLike, "Model", None]
PathLike = str | os.PathLike

#: What :func:`restore_file` does, and the kind of packaged model each task defaults to:
#: a blind-spot denoiser, or a MAP denoiser as the prior of a plug-and-play solver.
TASKS = {"denoise": "denoise", "deblur": "prior", "inpaint": "prior", "upscale": "prior"}


@dataclass(frozen=True)
class Model:
    """An opened model, reusable across calls (and across images).

    ``task`` is ``denoise`` (blind-spot denoiser: removes noise of a given or
    estimated level) or ``prior`` (MAP denoiser: the image prior of deblur, inpaint
    and upscale); ``strength`` is its fixed noise level in [0, 1] units, if recorded.
    ``runner`` is an :class:`~edgerestore.runtime.exported_denoiser.ExportedDenoiser`
    (``.onnx`` / ``.tflite``) or, for ``.safetensors``, a torch denoiser, which takes
    images of any channel count (``any_channels``).
    """

    path: Path
    task: str
    channels: int
    runner: Any
    strength: float | None
    backend: str
    any_channels: bool = False


def load_model(name_or_path: str | os.PathLike[str], *, backend: str | None = None,
               precision: str | None = None, threads: int | None = None) -> Model:
    """Open a packaged model (by name) or a model file.

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
def _open(path: Path, threads: int | None, device: str = "auto",
          max_tile: int = DEFAULT_MAX_TILE) -> Model:
    """An exported file on the runtime, or ``.safetensors`` weights through torch."""
    from edgerestore.runtime.backends import SessionOptions
    from edgerestore.runtime.exported_denoiser import ExportedDenoiser

    if path.suffix.lower() in (".onnx", ".tflite"):
        runner = ExportedDenoiser(path, SessionOptions(threads=threads), max_tile=max_tile)
        return Model(path, _kind(runner.task), runner.channels, runner, runner.strength,
                     runner.session.backend)
    from edgerestore.loading import load_denoiser

    loaded = load_denoiser(path, device, threads)
    torch_runner: Any = loaded.denoise
    return Model(path, _kind(torch_runner.model.task), torch_runner.channels, torch_runner,
                 loaded.sigma, "torch", any_channels=True)


def _kind(card_task: str) -> str:
    """A model card's task as the kind of model it is (``denoise`` / ``prior``)."""
    return "denoise" if card_task.startswith("denoise_") else "prior"


def denoise(image: ImageLike, sigma: float | None = None, model: ModelLike = None, *,
            noise: str = "auto", backend: str | None = None, precision: str | None = None,
            threads: int | None = None) -> ImageLike:
    """Remove noise: a camera's real noise, or Gaussian noise of std ``sigma`` (0-255;
    None: estimated from the image).

    The default model is chosen for the image: for a colour photo whose noise is
    spatially correlated (``noise="auto"`` measures it, see
    :func:`edgerestore.runtime.sigma_estimate.noise_kind`; "real" / "gaussian" say it)
    the real-noise model, else the packaged blind-spot denoiser for the image's
    channels (for colour far from sigma 25, the sigma 5-50 model: see
    :data:`edgerestore.runtime.packaged.SIGMA25_BAND`). A given ``sigma`` means
    Gaussian noise. ``backend`` / ``precision`` choose among a packaged model's files,
    as in :func:`load_model`.

    >>> import numpy as np, edgerestore
    >>> noisy = np.random.default_rng(1).integers(90, 160, (40, 40), dtype=np.uint8)
    >>> out = edgerestore.denoise(noisy)
    >>> out.shape, out.dtype, bool(out.std() < noisy.std())
    ((40, 40), dtype('uint8'), True)
    """
    pixels, back = _as_float(image)
    out, _ = _restore("denoise", pixels, _resolve_given(model, "denoise", backend, precision),
                      sigma=sigma, backend=backend, precision=precision, threads=threads,
                      noise=noise)
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
    out, _ = _restore("deblur", pixels, _resolve_given(model, "deblur", backend, precision),
                      sigma=sigma, backend=backend, precision=precision, threads=threads,
                      device=device, kernel=kernel, **solver)
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
    out, _ = _restore("inpaint", pixels, _resolve_given(model, "inpaint", None, None),
                      sigma=sigma, threads=threads, device=device, mask=mask, **solver)
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
    out, _ = _restore("upscale", pixels, _resolve_given(model, "upscale", None, None),
                      sigma=sigma, threads=threads, device=device, scale=scale, **solver)
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
    given = _resolve_given(model, task, backend, precision)
    check_image_output(source, out, in_place=in_place, reads=_reads(given, options),
                       bit_depth=bit_depth)
    start = time.perf_counter()
    pixels, info = read_opaque(source)
    restored, summary = _restore(task, pixels, given, sigma=sigma, backend=backend,
                                 precision=precision, threads=threads, device=device,
                                 max_tile=max_tile, show_progress=show_progress, **options)
    write_image(out, restored, bit_depth=output_bit_depth(bit_depth, info, out), like=info)
    log.info("wrote %s (%s, %.2f s)", out, summary, time.perf_counter() - start)


def _resolve_given(model: ModelLike, task: str, backend: str | None, precision: str | None
                   ) -> Model | Path | None:
    """A named model as its file (a packaged name picks one); None stays the default."""
    from edgerestore.runtime.packaged import resolve

    if model is None or isinstance(model, Model):
        return model
    return resolve(model if isinstance(model, str) else Path(model), task=TASKS[task],
                   backend=backend, precision=precision)


def check_solver_options(method: str, *, rho: float | None = None,
                         dae: PathLike | None = None) -> None:
    """Refuse options the chosen solver would silently ignore."""
    if rho is not None and method != "admm":
        raise InputError("--rho only applies to --method admm")
    if dae is not None and method != "dmsp":
        raise InputError("--dae only applies to --method dmsp")


def _reads(model: Model | Path | None, options: dict[str, Any]) -> list[Path]:
    """Every file restoring reads besides its source: the output may replace none."""
    from edgerestore.runtime.kernels import kernel_file
    from edgerestore.runtime.model_metadata import sidecar_path

    path = model.path if isinstance(model, Model) else model
    files = [] if path is None else [path, path.with_suffix(".json"), sidecar_path(path)]
    for key in ("mask", "dae"):
        if isinstance(options.get(key), (str, os.PathLike)):
            files.append(Path(options[key]))
    if isinstance(options.get("kernel"), (str, os.PathLike)):
        files.append(kernel_file(options["kernel"]))
    return files


def _restore(task: str, pixels: np.ndarray, given: Model | Path | None, *,
             sigma: float | None, backend: str | None = None, precision: str | None = None,
             threads: int | None = None, device: str = "auto",
             max_tile: int = DEFAULT_MAX_TILE, show_progress: bool = False,
             **options: Any) -> tuple[np.ndarray, str]:
    """``pixels`` (float32 HxWxC) restored by ``task`` with the model ``given`` (see
    :func:`_resolve_given`), and a summary for the log: what every function above runs."""
    noise_sigma(sigma, positive=task == "denoise")  # range-checked before any work
    noise = "gaussian"  # a plug-and-play prior removes Gaussian noise
    if task == "denoise":
        noise = options.pop("noise", "auto")
        check_noise_kind(noise, sigma, given)
    net = _model(given, task, pixels, sigma, threads, backend, precision, device, max_tile,
                 noise)
    if task == "denoise":
        return _denoise(net, pixels, sigma, show_progress)
    return _solve(task, net, pixels, sigma, show_progress, threads=threads, device=device,
                  **options)


def check_noise_kind(noise: str, sigma: float | None, given: Model | Path | None) -> None:
    """Refuse a noise kind that is unknown or that would be silently ignored."""
    from edgerestore.runtime.packaged import NOISE_KINDS

    if noise not in NOISE_KINDS:
        raise InputError(f"noise must be one of {', '.join(NOISE_KINDS)}, got {noise!r:.40}")
    if noise == "auto":
        return
    if given is not None:
        raise InputError(f"--noise {noise} chooses the default model; a model is given "
                         "(leave one of them out)")
    if noise == "real" and sigma is not None:
        raise InputError("--sigma is a Gaussian noise level; real camera noise has none "
                         "(leave --sigma out, or say --noise gaussian)")


def _model(given: Model | Path | None, task: str, pixels: np.ndarray, sigma: float | None,
           threads: int | None, backend: str | None, precision: str | None, device: str,
           max_tile: int, noise: str = "gaussian") -> Model:
    """The model file ``given`` opened (None: the packaged default for ``task``, the
    image and ``noise``, among ``backend`` / ``precision``) and checked against the image."""
    if given is None:
        given = _default_model(task, pixels, sigma, backend, precision, noise)
    path = given.path if isinstance(given, Model) else given
    if task == "denoise" and path.suffix.lower() not in (".onnx", ".tflite"):
        raise ModelFileError(f"{path}: denoising runs exported .onnx / .tflite files "
                             "(torch-free); export .safetensors weights first "
                             "(`edgerestore export`)")
    net = given if isinstance(given, Model) else _open(given, threads, device, max_tile)
    channels = pixels.shape[2]
    if net.channels != channels and not net.any_channels:
        raise InputError(f"{net.path.name} takes {net.channels}-channel images; the image "
                         f"has {channels}")
    return net


def _default_model(task: str, pixels: np.ndarray, sigma: float | None, backend: str | None,
                   precision: str | None, noise: str = "gaussian") -> Path:
    """The packaged model for ``task`` on this image: its channel count and, for
    denoising, the kind of noise (``noise``: 'auto' measures it on a colour image
    without a given sigma) and the given or else estimated level pick it (see
    :func:`edgerestore.runtime.packaged.default_name`)."""
    from edgerestore.runtime.packaged import resolve
    from edgerestore.runtime.sigma_estimate import estimate_sigma, noise_kind

    level = None
    if TASKS[task] == "denoise":
        if noise == "auto":
            noise = ("real" if sigma is None and pixels.shape[2] == 3
                     and noise_kind(pixels) == "real" else "gaussian")
            log.info("noise: %s (measured on the image; --noise sets it)", noise)
        level = sigma if sigma is not None else estimate_sigma(pixels) * 255.0
    path = resolve(None, task=TASKS[task], channels=pixels.shape[2], backend=backend,
                   precision=precision, sigma=level, noise=noise)
    log.info("model: %s (the packaged default for this image)", path.name)
    return path


def _denoise(net: Model, pixels: np.ndarray, sigma: float | None, show_progress: bool
             ) -> tuple[np.ndarray, str]:
    from edgerestore.runtime.exported_denoiser import NOISE_FREE_SIGMA

    runner = net.runner
    if sigma is not None and not runner.takes_level:
        raise InputError(f"--sigma does not apply to {net.path.name}: it takes no noise level "
                         "(a MAP prior denoises at its fixed strength, AP-BSN removes what "
                         "it sees); leave the sigma out")
    if sigma is None and runner.takes_level:
        sigma = runner.resolve_sigma(pixels, None)
        if sigma <= NOISE_FREE_SIGMA:
            log.info("the image looks noise-free (estimated sigma below %.3g/255); denoising "
                     "at that floor; pass --sigma to set it", sigma)
        else:
            log.info("estimated noise sigma %.2f/255 (MAD); pass --sigma to set it", sigma)
    with _ticks("denoise", runner.tile_count(*pixels.shape[:2]), "tile", show_progress) as tick:
        out = runner.denoise(pixels, sigma, on_tile=tick)
    return out, f"{net.path.name}, {net.backend} backend"


def _solve(task: str, net: Model, pixels: np.ndarray, sigma: float | None,
           show_progress: bool, *, threads: int | None, device: str, method: str = "admm",
           iters: int | None = None, dae: PathLike | None = None, **options: Any
           ) -> tuple[np.ndarray, str]:
    """A plug-and-play solver with ``net`` as the prior (DMSP: its DAE)."""
    from edgerestore.runtime import pnp
    from edgerestore.runtime.kernels import load_kernel, validate_kernel

    options = {k: v for k, v in options.items() if v is not None}  # None: the default
    check_solver_options(method, rho=options.get("rho"), dae=dae)
    sigma_n = noise_sigma(sigma)
    kernel = options.get("kernel")
    if task == "deblur" and kernel is None:
        raise InputError("deblurring needs the blur kernel")
    if isinstance(kernel, (str, os.PathLike)):
        options["kernel"] = load_kernel(kernel)
    if task == "deblur":
        options["kernel"] = validate_kernel(
            options["kernel"], pixels.shape,
            name="kernel" if isinstance(kernel, np.ndarray) else f"kernel {kernel}")
    runs = {} if iters is None else {"iters": iters}
    with _ticks(method, iters, "it", show_progress) as tick:
        if tick is not None:
            options["callback"] = lambda *_: tick()
        if method == "dmsp":
            if task != "deblur":
                raise InputError("--method dmsp deblurs only")
            result = _dmsp(net, pixels, sigma_n, dae, threads, device, **runs, **options)
        elif task == "deblur":
            result = pnp.deblur(pixels, options.pop("kernel"), net.runner, sigma_n=sigma_n,
                                denoiser_sigma=_strength(net), method=method, iters=iters,
                                **options)
        elif task == "inpaint":
            mask = _mask(options.pop("mask"), pixels.shape)
            # None: runtime.presets.INPAINT_SIGMA_N, the authors' example
            level = {} if sigma_n is None else {"sigma_n": sigma_n}
            result = pnp.inpaint(pixels, mask, net.runner, denoiser_sigma=_strength(net),
                                 method=method, iters=iters, **level, **options)
        else:
            scale = options.pop("scale")
            if scale not in (2, 3, 4):
                raise InputError(f"scale must be 2, 3 or 4, got {scale}")
            result = pnp.upscale(pixels, scale, net.runner, sigma_n=sigma_n,
                                 denoiser_sigma=_strength(net), method=method, iters=iters,
                                 **options)
    # Only ADMM has a tolerance; HQS and DMSP always run their full schedule.
    state = ("" if method != "admm" else
             ", converged" if result.converged else ", not converged within --iters")
    return result.x, (f"{net.path.name}, {method}, {result.iterations} iterations{state}, "
                      f"noise sigma {result.sigma_n * 255.0:.2f}/255")


def _dmsp(net: Model, pixels: np.ndarray, sigma_n: float | None, dae: PathLike | None,
          threads: int | None, device: str, *, kernel: np.ndarray, **options: Any) -> Any:
    """DMSP deblurring with the DAE prior the denoiser's card names (or ``dae``)."""
    from edgerestore.loading import LoadedDenoiser, load_dae_prior
    from edgerestore.runtime.dmsp import dmsp_deblur

    _, prior = load_dae_prior(net.path, LoadedDenoiser(net.runner, _strength(net)),
                              None if dae is None else Path(dae), device, threads)
    return dmsp_deblur(pixels, kernel, prior.denoise, sigma_n=sigma_n, sigma_dae=prior.sigma,
                       **options)


def _mask(mask: np.ndarray | PathLike, shape: tuple[int, ...]) -> np.ndarray:
    """A boolean HxWx1 (or per-channel HxWxC) mask: True marks known pixels; in a mask
    image, white (>= 0.5)."""
    if isinstance(mask, (str, os.PathLike)):
        from edgerestore.runtime.image_io import read_image

        pixels, info = read_image(mask)
        if info.has_alpha:
            raise InputError(f"{mask}: mask has an alpha channel; save it as plain black and "
                             "white")
        if pixels.shape[:2] != shape[:2]:
            raise InputError(f"{mask}: mask is {pixels.shape[1]}x{pixels.shape[0]}, "
                             f"the image is {shape[1]}x{shape[0]}")
        if pixels.shape[2] == 3 and np.all(pixels == pixels[:, :, :1]):
            pixels = pixels[:, :, :1]
        mask = pixels >= 0.5
    mask = np.asarray(mask, bool)
    if mask.ndim == 2:
        mask = mask[:, :, None]
    if mask.shape[:2] != shape[:2] or mask.shape[2] not in (1, shape[2]):
        raise InputError(f"mask shape {mask.shape} does not fit the image {shape}")
    return mask


@contextmanager
def _ticks(desc: str, total: int | None, unit: str, show: bool
           ) -> Iterator[Callable[[], None] | None]:
    """A callback that advances one progress bar (None when no bar is shown).

    It drives :func:`edgerestore.console.progress` by hand, so the bar looks like every
    other one and ``--quiet`` silences it; without a known total it just counts.
    """
    if not show:
        yield None
        return
    ticks = progress(itertools.count() if total is None else range(total), desc=desc,
                     total=total, unit=unit)
    try:
        yield lambda: next(ticks, None)
    finally:
        ticks.close()


def _strength(net: Model) -> float:
    """The prior's fixed noise level: its recorded one, else the paper's 11/255."""
    from edgerestore.runtime.presets import MAP_DENOISER_SIGMA

    if net.strength is not None:
        return net.strength
    log.warning("%s: its model card records no training sigma; assuming 11/255", net.path)
    return MAP_DENOISER_SIGMA


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
