"""Self-supervised training of the blind-spot denoiser on noisy images only.

The loss is Laine et al.'s likelihood of the *noisy* pixel under the predicted prior
convolved with the noise model; no clean target is used. For benchmarks the noise is
synthesised on the fly from clean images; ``already_noisy`` trains directly on real
noisy photos, which is the point of self-supervision.

Runs are resumable: a checkpoint (weights, optimiser, step, wall time) is written
atomically every ``checkpoint_every`` steps, and batches depend only on
``(seed, step)`` (see :mod:`patches`), so a run killed with -9 and resumed sees the
same data as one that never stopped.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgerestore.console import log, progress
from edgerestore.errors import InputError
from edgerestore.models import gaussian_head
from edgerestore.models.blindspot_denoiser import BlindSpotDenoiser
from edgerestore.models.evaluate import noisy_set, score, torch_denoiser
from edgerestore.models.patches import load_images, sample_batch
from edgerestore.models.registry import build_model
from edgerestore.models.run_state import (
    RunSettings,
    hardware,
    load_checkpoint,
    resolve_device,
    save_checkpoint,
)
from edgerestore.models.schedule import ramped_lr
from edgerestore.models.weights_io import save_weights
from edgerestore.runtime.noise import NoiseSpec


@dataclass(kw_only=True)
class BlindSpotTraining(RunSettings):
    """Everything that defines a run (recorded in the checkpoint and the model card)."""

    noise: str = "gauss25"
    sigma_mode: str = "known"
    already_noisy: bool = False
    arch: str = "dilated_blindspot"
    backbone: dict[str, Any] = field(default_factory=dict)
    steps: int = 10000
    batch: int = 4
    patch: int = 64
    lr: float = 3e-4


def build(cfg: BlindSpotTraining) -> BlindSpotDenoiser:
    spec = NoiseSpec.parse(cfg.noise)
    if spec.kind not in ("gauss", "poisson"):
        raise InputError(f"blind-spot training supports gauss and poisson noise, not {spec.kind}")
    backbone_cfg = {"arch": cfg.arch, "in_channels": cfg.channels,
                    "out_channels": gaussian_head.out_channels_for(cfg.channels),
                    **cfg.backbone}
    return BlindSpotDenoiser(build_model(backbone_cfg), cfg.channels, spec.kind,
                             cfg.sigma_mode)  # type: ignore[arg-type]


def _noisy_batch(clean: np.ndarray, spec: NoiseSpec, seed: int, step: int,
                 already_noisy: bool) -> tuple[np.ndarray, np.ndarray]:
    """Add per-image noise (levels drawn per image) to an NCHW batch."""
    rng = np.random.default_rng([seed, step, 1])
    if already_noisy:
        return clean, np.full(len(clean), spec.low)
    out, levels = [], []
    for img in clean:
        noisy, level = spec.apply(img, rng)
        out.append(noisy)
        levels.append(level)
    return np.stack(out).astype(np.float32), np.array(levels)


def train(cfg: BlindSpotTraining, resume: bool = False) -> dict[str, Any]:
    """Train (or resume) a run; writes checkpoints, final weights and the model card."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    spec = NoiseSpec.parse(cfg.noise)
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = run_dir / "checkpoint.pt"
    model = build(cfg).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.9, 0.99), eps=1e-8)
    step, elapsed, history = 0, 0.0, []
    if resume:
        state = load_checkpoint(ckpt_path, asdict(cfg), device)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step, elapsed, history = state["step"], state["elapsed"], state["history"]
        log.info("resumed %s at step %d", ckpt_path, step)
    images = load_images(cfg.data, cfg.channels, cfg.limit_images)
    dev_noise = spec if not spec.is_range else NoiseSpec.parse("gauss:25")
    dev = (noisy_set(cfg.dev_images, dev_noise, 0, cfg.channels, cfg.dev_count)
           if cfg.dev_images else None)
    use_amp = cfg.amp and device == "cuda"
    model.train()
    bar = progress(range(step, cfg.steps), desc="train blindspot", unit="step",
                   total=cfg.steps - step)
    t_last, seen_last = time.perf_counter(), 0
    base_elapsed, t_start = elapsed, time.perf_counter()
    running = None
    for step in bar:
        lr = ramped_lr(step, cfg.steps, cfg.lr)
        for group in opt.param_groups:
            group["lr"] = lr
        clean = sample_batch(images, cfg.batch, cfg.patch, cfg.seed, step)
        noisy, levels = _noisy_batch(clean, spec, cfg.seed, step, cfg.already_noisy)
        x = torch.from_numpy(noisy).to(device)
        lv = torch.from_numpy(levels).to(device, torch.float32)
        lv = lv / 255.0 if spec.kind == "gauss" else lv
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
            loss = model.loss(x, lv)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        done = step + 1
        if hasattr(bar, "set_postfix"):
            now = time.perf_counter()
            seen_last += cfg.batch
            if now - t_last > 1.0:
                bar.set_postfix(loss=f"{running:.4f}", img_s=f"{seen_last / (now - t_last):.1f}")
                t_last, seen_last = now, 0
        if done % cfg.checkpoint_every == 0 or done == cfg.steps:
            elapsed = base_elapsed + time.perf_counter() - t_start
            entry = {"step": done, "loss": running, "lr": lr}
            if dev:
                model.eval()
                entry["dev_psnr"] = score(torch_denoiser(model, "posterior", spec.kind, device),
                                          dev, desc="dev", with_ssim=False)["psnr"]
                model.train()
            history.append(entry)
            log.info("step %d loss %.4f%s", done, running,
                     f" dev PSNR {entry['dev_psnr']:.2f} dB" if "dev_psnr" in entry else "")
            save_checkpoint(ckpt_path, {"model": model.state_dict(), "optimizer": opt.state_dict(),
                                        "step": done, "elapsed": elapsed,
                                        "settings": asdict(cfg), "history": history})
    model.eval()
    card = {
        "name": Path(cfg.out).stem,
        "task": "denoise",
        "method": "blind-spot self-supervised denoiser (Honzatko et al. 2020; head of "
                  "Laine et al. 2019)" if cfg.arch == "dilated_blindspot" else
                  "Laine et al. 2019 blind-spot U-Net",
        "command": " ".join(["edgerestore", *sys.argv[1:]]) if sys.argv else "",
        "training": {**asdict(cfg), "images_seen": cfg.steps * cfg.batch,
                     "training_images": len(images), "data_name": Path(cfg.data).name,
                     "clean_targets_used": False},
        "noise": str(spec),
        "sigma": spec.low if spec.kind == "gauss" and not spec.is_range else None,
        "dev_set": (f"{Path(cfg.dev_images).name}, first {cfg.dev_count} images, "
                    f"{dev_noise}, seed 0, posterior mean") if dev else None,
        "hardware": hardware(device),
        "wall_time_s": round(elapsed, 1),
        "history": history,
    }
    if history and "dev_psnr" in history[-1]:
        card["dev_psnr"] = history[-1]["dev_psnr"]
    save_weights(model, model.config(), cfg.out, card)
    log.info("wrote %s (%.0f s of training)", cfg.out, elapsed)
    return card
