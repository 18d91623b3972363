"""The models that ship inside the package: names, files and defaults, torch-free.

``pip install edgerestore`` brings exported files of the default models (written by
``edgerestore export --shipped`` into the ``packaged/`` folder beside this module,
indexed by ``packaged/models.json``), so a user can restore a photo without torch
and without exporting anything. This module turns what a user types into one file:

* a path to an ``.onnx`` / ``.tflite`` (or ``.safetensors``) file is used as it is;
* a packaged name (``blindspot_gauss25_rgb``) picks one of that model's files: the
  fastest one (by the latency measured when it was exported) among the installed
  backends, unless a backend or precision is asked for;
* no model at all picks the default for the task and the image's channel count.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from edgerestore.errors import InputError, ModelFileError
from edgerestore.runtime.model_files import MODEL_SUFFIXES
from edgerestore.units import to_255

PACKAGED_DIR = Path(__file__).resolve().parent / "packaged"
MANIFEST = "models.json"
BACKENDS = ("onnxruntime", "litert")
PRECISIONS = ("fp32", "int8")
#: Every packaged model, what it is for, in listing order.
SHIPPED = {
    "blindspot_gauss25_rgb": "colour denoiser, sigma 25 (faithful architecture)",
    "blindspot_eff_gauss25_rgb": "colour denoiser, sigma 25 (efficient, 2.3x fewer MACs)",
    "blindspot_gauss5_50_rgb": "colour denoiser trained on sigma 5-50",
    "blindspot_gauss25_gray": "grey denoiser, sigma 25",
    "blindspot_real_rgb": "colour denoiser for real camera photos (AP-BSN, noisy photos only)",
    "blindspot_real_rgb_fast": "its phone-speed student: a plain CNN, 9x fewer MACs than one "
                               "AP-BSN pass (the phone demo's default for photos)",
    "map_rgb": "colour MAP denoiser: the prior of deblur / inpaint / upscale",
    "map_gray": "grey MAP denoiser: the prior of deblur / inpaint / upscale",
}
#: (task, channels) -> the model used when none is named.
DEFAULTS = {
    ("denoise", 3): "blindspot_gauss25_rgb",
    ("denoise", 1): "blindspot_gauss25_gray",
    ("prior", 3): "map_rgb",
    ("prior", 1): "map_gray",
}
#: Colour noise levels (0-255) where the sigma-25 default beats the sigma 5-50 model;
#: outside them the 5-50 model is the default. Measured on the bundled samples (5
#: colour images, 256x256 centre crops, seed 0, sigma estimated as the CLI does, ONNX
#: fp32; ``python benchmarks/default_sigma_switch.py``) with the sigma-25 model at
#: 146,144 patches: the 5-50 model is ahead by 2.12 dB at sigma 5, 0.15 at 12, behind
#: by 0.51 at 15 and 0.20 at 35, ahead by 0.56 at 40 and 1.25 at 50; the edges are the
#: linearly interpolated crossings. Rerun that script after retraining either model.
SIGMA25_BAND = (12.7, 36.3)
RANGE_MODEL = "blindspot_gauss5_50_rgb"
#: The colour default for real camera noise (see ``sigma_estimate.noise_kind``).
REAL_NOISE_MODEL = "blindspot_real_rgb"
#: What ``noise`` may say: measured on the image, or told.
NOISE_KINDS = ("auto", "real", "gaussian")


@dataclass(frozen=True)
class PackagedFile:
    """One exported file of a packaged model, as ``models.json`` describes it."""

    path: Path
    format: str
    precision: str
    backend: str
    size_bytes: int
    ms_256: float | None
    parity: dict[str, Any] | None


@dataclass(frozen=True)
class PackagedModel:
    """A packaged model: its index entry and its files."""

    name: str
    task: str  # "denoise" (blind-spot) or "prior" (MAP denoiser for plug-and-play)
    channels: int
    entry: dict[str, Any]
    files: tuple[PackagedFile, ...]

    @property
    def default_for(self) -> str | None:
        """'colour' / 'grey' when this is the default model of its task, else None."""
        if DEFAULTS.get((self.task, self.channels)) != self.name:
            return None
        return "colour" if self.channels == 3 else "grey"


def read_manifest(path: Path | None = None) -> dict[str, Any]:
    """The raw ``models.json`` (``{"models": {name: entry}}``)."""
    path = path or PACKAGED_DIR / MANIFEST
    if not path.is_file():
        raise ModelFileError(f"{path}: no packaged models index; this install carries no "
                             "models (run `edgerestore export --shipped` in a checkout)")
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise ModelFileError(f"{path}: packaged models index is not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        raise ModelFileError(f"{path}: packaged models index has no 'models' table")
    return data


@cache
def packaged_models() -> dict[str, PackagedModel]:
    """Every packaged model by name (read once per process)."""
    models = {}
    for name, entry in read_manifest()["models"].items():
        files = tuple(PackagedFile(PACKAGED_DIR / f["file"], f["format"], f["precision"],
                                   f["backend"], int(f["size_bytes"]),
                                   f.get("ms_256x256_1thread"), f.get("parity_samples"))
                      for f in entry["files"])
        models[name] = PackagedModel(name, entry["task"], int(entry["channels"]), entry, files)
    return models


def installed_backends() -> tuple[str, ...]:
    """The inference backends importable here (onnxruntime is in the base install)."""
    modules = {"onnxruntime": "onnxruntime", "litert": "ai_edge_litert"}
    return tuple(b for b in BACKENDS if importlib.util.find_spec(modules[b]) is not None)


def choose_file(name: str, backend: str | None = None, precision: str | None = None
                ) -> PackagedFile:
    """The file of packaged model ``name`` to run: the fastest that fits the request.

    Without ``backend`` only installed backends are considered, so a base install
    (onnxruntime only) never picks a TFLite file it cannot open; naming a backend
    that is not installed picks its file anyway and opening it names the extra.
    """
    model = _model(name)
    backends = (backend,) if backend else installed_backends()
    fits = [f for f in model.files
            if f.backend in backends and (precision is None or f.precision == precision)]
    if not fits:
        raise InputError(f"packaged model {name} has no {precision or ''} file for "
                         f"{backend or ' or '.join(backends) or 'any installed backend'} "
                         f"(it has: {', '.join(f.path.name for f in model.files)})")
    return min(fits, key=lambda f: (f.ms_256 is None, f.ms_256 or 0.0))


def default_name(task: str, channels: int, sigma: float | None = None,
                 noise: str = "gaussian") -> str:
    """The packaged model used for ``task`` ('denoise' / 'prior') on a C-channel image.

    ``noise`` 'real' (camera noise) picks the real-noise model for colour denoising;
    for Gaussian noise ``sigma`` ([0, 1] units, given or estimated) moves colour
    denoising to the sigma 5-50 model outside :data:`SIGMA25_BAND` (0-255), where it
    measured better.
    """
    try:
        name = DEFAULTS[(task, channels)]
    except KeyError:
        raise InputError(f"no packaged {task} model for {channels}-channel images; "
                         "pass --model") from None
    if task == "denoise" and noise == "real":
        if channels != 3:
            raise InputError("the real-noise model takes colour photos; this image is grey "
                             "(leave --noise out or say gaussian)")
        return REAL_NOISE_MODEL
    low, high = SIGMA25_BAND
    if (task, channels) == ("denoise", 3) and sigma is not None and not (
            low <= to_255(sigma) <= high):
        return RANGE_MODEL
    return name


def resolve(model: str | Path | None, *, task: str, channels: int | None = None,
            backend: str | None = None, precision: str | None = None,
            sigma: float | None = None, noise: str = "gaussian") -> Path:
    """A model argument (path, packaged name or None) as the file to open.

    ``channels`` (required then), ``sigma`` ([0, 1] units) and ``noise`` ('real' /
    'gaussian') pick the default when ``model`` is None.
    """
    if backend is not None and backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    if precision is not None and precision not in PRECISIONS:
        raise InputError(f"unknown precision {precision!r}; choose from "
                         f"{', '.join(PRECISIONS)}")
    if model is None:
        if channels is None:
            raise InputError("no model given and no image to choose a default for")
        return choose_file(default_name(task, channels, sigma, noise), backend,
                           precision).path
    text = str(model)
    if isinstance(model, str) and text in SHIPPED:
        return choose_file(text, backend, precision).path
    path = Path(model)
    if path.suffix.lower() in MODEL_SUFFIXES or path.exists():
        if backend or precision:
            raise InputError("--backend / --precision choose among the files of a packaged "
                             f"model; {path} is a file")
        if not path.is_file():
            raise ModelFileError(f"{path}: no such model file")
        return path
    raise InputError(f"{text!r} is neither a model file nor a packaged model "
                     f"(packaged: {', '.join(SHIPPED)})")


def _model(name: str) -> PackagedModel:
    models = packaged_models()
    if name not in models:
        raise ModelFileError(f"packaged model {name} is missing from this install "
                             f"(has: {', '.join(models) or 'none'}); reinstall edgerestore")
    return models[name]
