"""Open a denoiser file by its suffix: the one place where model formats are dispatched.

Commands, the evaluation library and the benchmarks all need "this path -> a callable
denoiser and the noise level it was trained at"; keeping the dispatch here (and not in
a command module) lets them share it without importing the CLI. ``.onnx`` / ``.tflite``
run on the torch-free runtime; ``.safetensors`` imports torch lazily, only when asked.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from edgerestore.console import log
from edgerestore.errors import ModelFileError, require
from edgerestore.runtime.model_card import read_json_object
from edgerestore.runtime.model_files import MODEL_SUFFIXES, is_exported, model_suffix

if TYPE_CHECKING:
    from edgerestore.runtime.denoiser_protocol import Denoiser


class LoadedDenoiser(NamedTuple):
    """A denoiser callable and the noise std (in [0, 1] units) it works at."""

    denoise: Denoiser
    sigma: float


def load_denoiser(path: Path, device: str = "auto", threads: int | None = None
                  ) -> LoadedDenoiser:
    """Open a denoiser file by its suffix.

    ``.onnx`` / ``.tflite`` files run on the torch-free runtime (``threads`` applies);
    ``.safetensors`` weights need torch (``device`` applies). The strength falls back
    to the paper's 11/255 (with a warning) when the file does not record its level.
    """
    from edgerestore.runtime.presets import MAP_DENOISER_SIGMA

    suffix = model_suffix(path)
    if suffix not in MODEL_SUFFIXES:
        raise ModelFileError(f"{path}: unsupported denoiser file type {suffix or '(none)'!r}; "
                             f"supported: {', '.join(MODEL_SUFFIXES)}")
    if is_exported(path):
        from edgerestore.runtime.backends import SessionOptions
        from edgerestore.runtime.exported_denoiser import ExportedDenoiser

        exported = ExportedDenoiser(path, SessionOptions(threads=threads))
        denoise: Denoiser = exported
        sigma = exported.strength
    else:
        require("torch", package="torch", extra="train", purpose=f"running {path.name}")
        from edgerestore.models.run_state import resolve_device
        from edgerestore.models.torch_denoisers import denoiser_sigma, load_torch_denoiser

        denoise = load_torch_denoiser(path, resolve_device(device))
        sigma = denoiser_sigma(path)
    if sigma is None:
        log.warning("%s: its model card records no training sigma; assuming 11/255", path)
        sigma = MAP_DENOISER_SIGMA
    return LoadedDenoiser(denoise, sigma)


def load_dae_prior(denoiser: Path, loaded: LoadedDenoiser, dae: Path | None, device: str,
                   threads: int | None) -> tuple[Path, LoadedDenoiser]:
    """The DAE that DMSP should use as its prior, as (path, loaded denoiser).

    DMSP is defined with a denoising autoencoder, not with the MAP denoiser trained
    against it; a MAP card records its DAE, so the faithful baseline is the default
    even when the caller only names the MAP denoiser (already ``loaded``, and reused
    when nothing else is found).
    """
    path = dae
    if path is None:
        card = denoiser.with_suffix(".json")  # read here: weights_io would import torch
        named = read_json_object(card, "model card").get("dae") if card.is_file() else None
        if isinstance(named, str) and named and (denoiser.parent / named).is_file():
            path = denoiser.parent / named
            log.info("DMSP prior: %s (the DAE named in %s)", path, card.name)
        else:
            log.warning("DMSP prior: no DAE named beside %s; using the denoiser itself",
                        denoiser)
            return denoiser, loaded
    return path, load_denoiser(path, device, threads)
