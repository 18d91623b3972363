"""How one image is restored: which model (given, or the packaged default for the image
and its noise), opened once and cached, and the task's steps (the denoiser, or a
plug-and-play solver with the model as its prior).

:mod:`edgerestore.api` is the public face (images of any kind in, the same kind out,
files); this module is what every entry point shares underneath, on float32 HxWxC
pixels in [0, 1], so a file restored alone, inside a folder or from Python takes the
same path.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, Union

import numpy as np

from edgerestore.console import log, progress
from edgerestore.errors import InputError, ModelFileError
from edgerestore.runtime.model_files import is_exported
from edgerestore.runtime.tiling import DEFAULT_MAX_TILE
from edgerestore.units import to_255

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

    if is_exported(path):
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


def resolve_given(model: ModelLike, task: str, backend: str | None, precision: str | None
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


def files_read(model: Model | Path | None, options: dict[str, Any]) -> list[Path]:
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


def restore_pixels(task: str, pixels: np.ndarray, given: Model | Path | None, *,
             sigma: float | None, backend: str | None = None, precision: str | None = None,
             threads: int | None = None, device: str = "auto",
             max_tile: int = DEFAULT_MAX_TILE, show_progress: bool = False,
             **options: Any) -> tuple[np.ndarray, str]:
    """``pixels`` (float32 HxWxC) restored by ``task`` with the model ``given`` (see
    :func:`resolve_given`), and a summary for the log: what every function above runs.

    ``sigma`` is in [0, 1] units, already range-checked (:func:`edgerestore.units.noise_sigma`
    converts the 0-255 one of the command line and the Python API)."""
    noise = "gaussian"  # a plug-and-play prior removes Gaussian noise
    if task == "denoise":
        told = options.pop("noise", None)
        check_noise_kind(told, sigma, given)
        # Not said: measured on the image, unless a sigma (Gaussian noise) is given.
        noise = told or ("gaussian" if sigma is not None else "auto")
    net = _model(given, task, pixels, sigma, threads, backend, precision, device, max_tile,
                 noise)
    if task == "denoise":
        return _denoise(net, pixels, sigma, show_progress)
    return _solve(task, net, pixels, sigma, show_progress, threads=threads, device=device,
                  **options)


def check_noise_kind(noise: str | None, sigma: float | None, given: Model | Path | None
                     ) -> None:
    """Refuse a noise kind that is unknown or that would be silently ignored (None: not
    said: measured on the image, Gaussian with a given sigma)."""
    from edgerestore.runtime.packaged import NOISE_KINDS

    if noise is None:
        return
    if noise not in NOISE_KINDS:
        raise InputError(f"noise must be one of {', '.join(NOISE_KINDS)}, got {noise!r:.40}")
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
    if task == "denoise" and not is_exported(path):
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
        level = sigma if sigma is not None else estimate_sigma(pixels)
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
                     "at that floor; pass --sigma to set it", to_255(sigma))
        else:
            log.info("estimated noise sigma %.2f/255 (MAD); pass --sigma to set it",
                     to_255(sigma))
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
    sigma_n = sigma
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
                      f"noise sigma {to_255(result.sigma_n):.2f}/255")


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

