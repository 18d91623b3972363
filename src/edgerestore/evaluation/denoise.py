"""Denoising evaluation with the benchmark protocol: seeded, unclipped noise, 8-bit PSNR.

Weights are scored through PyTorch (in one or all of the blind-spot network's output
modes, optionally beside (C)BM3D told the true noise level); an exported ``.onnx`` /
``.tflite`` file through the torch-free runtime on the same noisy images (seed and
order), which is the runtime-vs-PyTorch parity measurement.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from edgerestore.console import log
from edgerestore.errors import InputError, require
from edgerestore.evaluation.results import write_result
from edgerestore.runtime.bayes import OUTPUT_MODES
from edgerestore.runtime.model_files import is_model_file, is_weights
from edgerestore.runtime.noise import NoiseSpec

MODES = OUTPUT_MODES


@dataclass(frozen=True)
class DenoiseEvaluation:
    """One ``eval denoise`` run; ``mode`` is one of :data:`MODES` or ``'all'``."""

    model: Path
    images: Path
    noise: str = "gauss:25"
    seed: int = 0
    mode: str = "posterior"
    bm3d: bool = False
    bm3d_cache: Path | None = None
    limit: int | None = None
    device: str = "auto"
    threads: int | None = None
    with_ssim: bool = True
    clipped_input: bool = False
    json: Path | None = None
    card: bool = False
    command: str = ""


def evaluate_denoise(run: DenoiseEvaluation) -> dict:
    """Score the model (and BM3D if asked); write the JSON / card entry; return the result."""
    # Both paths read and noise the images with the training code's loader (torch).
    require("torch", package="torch", extra="train", purpose="evaluating .safetensors models")
    if not is_model_file(run.model):
        raise InputError(f"{run.model}: expected .safetensors weights or an exported "
                         ".onnx/.tflite file")
    if not run.images.is_dir():
        raise InputError(f"{run.images}: not a folder of images")
    spec = NoiseSpec.parse(run.noise)
    result = (_evaluate_weights(run, spec) if is_weights(run.model)
              else _evaluate_exported(run, spec))
    if run.json:
        write_result(run.json, result, run.command)
    if run.card:
        record_in_card(run.model, run.images.name, result)
    return result


def _evaluate_weights(run: DenoiseEvaluation, spec: NoiseSpec) -> dict:
    from edgerestore.models.blindspot_denoiser import BlindSpotDenoiser
    from edgerestore.models.bm3d_baseline import bm3d_denoiser
    from edgerestore.models.evaluate import noisy_set, score, torch_denoiser
    from edgerestore.models.image_network import DenoisingNetwork
    from edgerestore.models.run_state import resolve_device
    from edgerestore.models.weights_io import load_weights

    device = resolve_device(run.device)
    model, config = load_weights(run.model, device)
    if not isinstance(model, DenoisingNetwork):
        raise InputError(f"{run.model}: not a denoiser ({config.get('arch')})")
    if model.noise_model not in (spec.kind, None):
        raise InputError(f"{run.model} models {model.noise_model} noise, not {spec.kind}")
    modes = MODES if run.mode == "all" else (run.mode,)
    if not isinstance(model, BlindSpotDenoiser) and modes != ("posterior",):
        raise InputError(f"{run.model}: a {config.get('arch')} network has one output; "
                         "--mode prior/estimated/all need a blind-spot model's Gaussian head")
    channels = model.in_channels
    items = noisy_set(run.images, spec, run.seed, channels, run.limit, run.clipped_input)
    result: dict = {"model": str(run.model), "images": str(run.images), "noise": str(spec),
                    "seed": run.seed, "count": len(items), "clipped_input": run.clipped_input}
    for mode in modes:
        scored = score(torch_denoiser(model, mode, spec.kind, device), items, desc=mode,
                       with_ssim=run.with_ssim)
        if len(modes) == 1:
            result.update(mode=mode, **scored)
        else:
            result.setdefault("modes", {})[mode] = scored
        log.info("%s %s: PSNR %.2f dB", run.model.name, mode, scored["psnr"])
    if run.bm3d:
        if spec.kind != "gauss":
            raise InputError("the BM3D baseline needs Gaussian noise")
        name = "cbm3d" if channels == 3 else "bm3d"
        timings: list[float] = []
        result[name] = score(bm3d_denoiser(run.bm3d_cache, timings), items, desc=name,
                             with_ssim=run.with_ssim)
        for row, seconds in zip(result[name]["per_image"], timings, strict=True):
            row["seconds"] = round(seconds, 4)  # compute time, also for cached outputs
        result[name]["seconds"] = float(sum(timings))
        log.info("%s: PSNR %.2f dB", name, result[name]["psnr"])
    return result


def _evaluate_exported(run: DenoiseEvaluation, spec: NoiseSpec) -> dict:
    """Score an exported file through the runtime, on the same noisy images (seed, order)
    as the PyTorch path."""
    from edgerestore.models.evaluate import noisy_set, score
    from edgerestore.runtime.backends import SessionOptions
    from edgerestore.runtime.exported_denoiser import ExportedDenoiser
    from edgerestore.units import to_unit

    if run.mode != "posterior" or run.bm3d or run.card:
        raise InputError("exported files are scored as they are (no --mode, --bm3d or --card)")
    if spec.kind != "gauss":
        raise InputError("the runtime denoiser handles Gaussian noise only")
    den = ExportedDenoiser(run.model, SessionOptions(threads=run.threads))
    items = noisy_set(run.images, spec, run.seed, den.channels, run.limit, run.clipped_input)
    # noisy_set's levels are NoiseSpec's (0-255); the denoiser takes [0, 1]
    scored = score(lambda noisy, level: den.denoise(noisy, to_unit(level)), items,
                   desc="exported", with_ssim=run.with_ssim)
    log.info("%s: PSNR %.2f dB", run.model.name, scored["psnr"])
    return {"model": str(run.model), "backend": den.session.backend,
            "images": str(run.images), "noise": str(spec), "seed": run.seed,
            "count": len(items), "clipped_input": run.clipped_input, "mode": "exported",
            **scored}


def record_in_card(model: Path, dataset: str, result: dict) -> None:
    """Add ``{dataset: {noise: {mode: {psnr, ssim}}}}`` to the model card, atomically."""
    from edgerestore.models.weights_io import card_path, load_card
    from edgerestore.runtime.atomic import atomic_write

    card = load_card(model)
    if not card:
        raise InputError(f"{model}: has no model card to record the evaluation in")
    modes = result.get("modes") or {result["mode"]: result}
    noise = result["noise"] + (" clipped 8-bit input" if result.get("clipped_input") else "")
    entry = card.setdefault("evaluation", {}).setdefault(dataset, {}).setdefault(noise, {})
    for mode, scored in modes.items():
        entry[mode] = {k: round(scored[k], 4) for k in ("psnr", "ssim") if k in scored}
        entry[mode]["seed"] = result["seed"]
    for base in ("cbm3d", "bm3d"):
        if base in result:
            entry[base] = {k: round(result[base][k], 4) for k in ("psnr", "ssim")
                           if k in result[base]}
    atomic_write(card_path(model), (json.dumps(card, indent=2) + "\n").encode())
