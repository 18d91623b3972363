"""Denoising evaluation with the benchmark protocol: fixed seed, unclipped noise, 8-bit PSNR.

One function scores any denoiser callable (float32 HxWxC noisy image + true level ->
float HxWxC estimate) so that our networks, their exported files and classical
baselines (CBM3D) are measured on the *same* noisy images in the same run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgerestore.console import progress
from edgerestore.errors import InputError
from edgerestore.models.blindspot_denoiser import BlindSpotDenoiser
from edgerestore.models.image_network import DenoisingNetwork
from edgerestore.models.patches import convert_channels
from edgerestore.runtime.bayes import OUTPUT_MODES
from edgerestore.runtime.image_files import list_images
from edgerestore.runtime.image_io import read_image
from edgerestore.runtime.metrics import psnr, ssim
from edgerestore.runtime.noise import NoiseSpec
from edgerestore.runtime.sigma_estimate import estimate_sigma

Denoise = Callable[[np.ndarray, float], np.ndarray]
MODES = OUTPUT_MODES


def noisy_set(folder: str | Path, spec: NoiseSpec, seed: int, channels: int,
              limit: int | None = None, clipped_input: bool = False
              ) -> list[tuple[str, np.ndarray, np.ndarray, float]]:
    """(name, clean, noisy, level) for each image, noise drawn from one seeded generator.

    ``clipped_input`` clips the noisy image to [0, 1] and rounds it to 8 bits, as a
    camera writes it: the published protocol keeps the noise unclipped, a photo cannot.
    """
    rng = np.random.default_rng(seed)
    out = []
    for path in list_images(folder)[:limit]:
        clean = convert_channels(read_image(path)[0], channels, str(path))
        noisy, level = spec.apply(clean, rng)
        if clipped_input:
            noisy = np.round(np.clip(noisy, 0.0, 1.0) * 255.0) / 255.0
        out.append((path.name, clean, noisy.astype(np.float32), level))
    return out


def is_pair_folder(folder: str | Path) -> bool:
    """A folder of real noisy photos with clean references: ``noisy/`` and ``clean/``
    subfolders, the same file name meaning the same scene (``../shared/data/real``)."""
    return (Path(folder) / "noisy").is_dir() and (Path(folder) / "clean").is_dir()


def real_pairs(folder: str | Path, channels: int, limit: int | None = None
               ) -> list[tuple[str, np.ndarray, np.ndarray, float]]:
    """(name, clean, noisy, 0.0) for the real noisy/clean pairs of a pair folder.

    With ``limit``, every k-th pair (evenly spread over the sorted names), so a small dev
    set still covers every camera of the set rather than the first scene's blocks. The
    level is 0: real noise has no known level (the denoisers measure their own).
    """
    folder = Path(folder)
    noisy_paths = list_images(folder / "noisy")
    if limit is not None and limit < len(noisy_paths):
        noisy_paths = noisy_paths[::len(noisy_paths) // limit][:limit]
    out = []
    for path in noisy_paths:
        clean_path = folder / "clean" / path.name
        if not clean_path.is_file():
            raise InputError(f"{path}: no clean reference {clean_path}")
        noisy = convert_channels(read_image(path)[0], channels, str(path))
        clean = convert_channels(read_image(clean_path)[0], channels, str(clean_path))
        if clean.shape != noisy.shape:
            raise InputError(f"{path}: {noisy.shape} but its clean reference is {clean.shape}")
        out.append((path.name, clean, noisy.astype(np.float32), 0.0))
    return out


def score(denoise: Denoise, items: list[tuple[str, np.ndarray, np.ndarray, float]],
          desc: str = "eval", with_ssim: bool = True) -> dict[str, Any]:
    """Mean and per-image PSNR/SSIM and seconds of ``denoise`` over prepared noisy images."""
    rows = []
    for name, clean, noisy, level in progress(items, desc=desc, unit="img"):
        start = time.perf_counter()
        est = denoise(noisy, level)
        seconds = time.perf_counter() - start
        row = {"image": name, "level": round(level, 4), "psnr": psnr(clean, est),
               "seconds": round(seconds, 4)}
        if with_ssim:
            row["ssim"] = ssim(clean, est)
        rows.append(row)
    result: dict[str, Any] = {"psnr": float(np.mean([r["psnr"] for r in rows]))}
    if with_ssim:
        result["ssim"] = float(np.mean([r["ssim"] for r in rows]))
    result["seconds"] = float(np.sum([r["seconds"] for r in rows]))
    result["per_image"] = rows
    return result


def torch_denoiser(model: BlindSpotDenoiser | DenoisingNetwork, mode: str,
                   noise_kind: str | None, device: str = "cpu") -> Denoise:
    """Wrap a blind-spot model as a ``Denoise`` callable for one inference mode.

    ``posterior``: posterior mean with the true noise level (camera noise has none the
    Gaussian head could use, its level is an ISO: it runs as ``estimated``);
    ``estimated``: with the model's learned estimate, or the MAD estimate for
    known-sigma models (Gaussian only); ``prior``: the prior mean alone.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")

    def run(noisy: np.ndarray, level: float) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(noisy.transpose(2, 0, 1)))[None].to(device)
        if mode == "prior":
            out = model.denoise(x, mode="prior")
        elif mode == "posterior" and noise_kind in ("gauss", "poisson"):
            lvl = level / 255.0 if noise_kind == "gauss" else level
            out = model.denoise(x, torch.tensor([lvl], device=device))
        elif getattr(model, "sigma_mode", None) != "known":  # learned level, or AP-BSN
            out = model.denoise(x)
        else:
            out = model.denoise(x, torch.tensor([estimate_sigma(noisy)], device=device))
        return out[0].permute(1, 2, 0).cpu().numpy()

    return run


def dev_psnr(model: DenoisingNetwork, items: list[tuple[str, np.ndarray, np.ndarray, float]],
             noise_kind: str | None, device: str) -> float:
    """A training run's dev-set PSNR: the model's output (posterior mean at the true level
    where it takes one) in eval mode, then back to training mode."""
    model.eval()
    value = score(torch_denoiser(model, "posterior", noise_kind, device), items, desc="dev",
                  with_ssim=False)["psnr"]
    model.train()
    return value
