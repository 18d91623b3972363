"""Self-supervised training of the blind-spot denoiser on noisy images only.

The loss is Laine et al.'s likelihood of the *noisy* pixel under the predicted prior
convolved with the noise model; no clean target is used. For benchmarks the noise is
synthesised on the fly from clean images; ``already_noisy`` trains directly on real
noisy photos, which is the point of self-supervision.

The loop itself (bf16, channels_last, torchrun data parallelism, budgets, signals,
prefetching) is :mod:`train_engine`'s; runs are resumable and batches depend only on
``(seed, step, item)``, so a run killed with -9 and resumed sees the same data as one
that never stopped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgerestore.console import log
from edgerestore.errors import InputError
from edgerestore.models import gaussian_head
from edgerestore.models.blindspot_denoiser import BlindSpotDenoiser
from edgerestore.models.evaluate import dev_psnr, is_pair_folder, noisy_set, real_pairs
from edgerestore.models.patches import ImageSource, folder_names, sample_batch
from edgerestore.models.pd_blindspot import PDBlindSpotNet
from edgerestore.models.registry import build_model
from edgerestore.models.run_state import RunSettings
from edgerestore.models.state_match import LayerMismatch, load_matching
from edgerestore.models.train_engine import LoopState, Outputs
from edgerestore.models.training_run import TrainingRun
from edgerestore.models.weights_io import load_weights
from edgerestore.runtime.noise import NoiseSpec


@dataclass(kw_only=True)
class BlindSpotTraining(RunSettings):
    """Everything that defines a run (recorded in the checkpoint and the model card)."""

    noise: str = "gauss25"
    sigma_mode: str = "known"
    already_noisy: bool = False
    arch: str = "dilated_blindspot"
    backbone: dict[str, Any] = field(default_factory=dict)
    steps: int | None = 10000
    batch: int = 4
    patch: int = 64
    lr: float = 3e-4
    pd_stride: int | None = None


def build(cfg: BlindSpotTraining) -> BlindSpotDenoiser | PDBlindSpotNet:
    """The network a run trains: Laine's Gaussian-head denoiser, or with ``pd_stride``
    AP-BSN's pixel-shuffle wrapper (for spatially correlated camera noise, L1 loss)."""
    if cfg.pd_stride:
        backbone_cfg = {"arch": cfg.arch, "in_channels": cfg.channels,
                        "out_channels": cfg.channels, **cfg.backbone}
        return PDBlindSpotNet(build_model(backbone_cfg), cfg.channels,
                              train_stride=cfg.pd_stride)
    spec = NoiseSpec.parse(cfg.noise)
    kind = spec.kind
    if kind == "camera" and cfg.sigma_mode != "known":
        # Camera photos with a Gaussian head: the noise is modelled as Gaussian with a
        # level learned or measured on each image (no camera model, no clean data).
        kind = "gauss"
    if kind not in ("gauss", "poisson"):
        raise InputError(f"blind-spot training supports gauss and poisson noise (camera noise "
                         f"with --pd-stride or --sigma-mode global/estimated/measured), "
                         f"not {spec.kind}")
    backbone_cfg = {"arch": cfg.arch, "in_channels": cfg.channels,
                    "out_channels": gaussian_head.out_channels_for(cfg.channels),
                    **cfg.backbone}
    return BlindSpotDenoiser(build_model(backbone_cfg), cfg.channels, kind,
                             cfg.sigma_mode)  # type: ignore[arg-type]


def start_from(model: torch.nn.Module, source: torch.nn.Module) -> None:
    """Load ``source``'s weights: all of the backbone, and the noise-level parts where
    both have them, so a known-sigma model can start a run that learns its own level
    (camera photos); a missing, extra or differently shaped backbone tensor is an error
    (a RuntimeError, which :func:`train` reports as a mismatching ``--init-from``)."""
    try:
        matched = load_matching(model, source.state_dict())
    except LayerMismatch as exc:
        raise RuntimeError("the backbones differ") from exc
    fresh = sorted({k.split(".")[0] for k in matched.fresh})
    if fresh:
        log.info("not in the --init-from model, trained from scratch: %s", ", ".join(fresh))


def noisy_batch(clean: np.ndarray, spec: NoiseSpec, seed: int, step: int, items: range,
                already_noisy: bool) -> tuple[np.ndarray, np.ndarray]:
    """Add per-image noise (levels drawn per item of the global batch) to an NCHW batch."""
    if already_noisy:
        return clean, np.full(len(clean), spec.low)
    out, levels = [], []
    for img, item in zip(clean, items, strict=True):
        rng = np.random.default_rng([seed, step, item, 1])
        if spec.kind == "camera":  # the camera pipeline works on HxWxC images
            noisy, level = spec.apply(img.transpose(1, 2, 0), rng)
            noisy = noisy.transpose(2, 0, 1)
        else:
            noisy, level = spec.apply(img, rng)
        out.append(noisy)
        levels.append(level)
    return np.stack(out).astype(np.float32), np.array(levels)


#: Smallest training patch at which the U-Net's deepest level sees more than borders.
LAINE_MIN_PATCH = 256


def train(cfg: BlindSpotTraining, resume: bool = False) -> dict[str, Any]:
    """Train (or resume) a run; writes checkpoints, final weights and the model card."""
    spec = NoiseSpec.parse(cfg.noise)
    if cfg.arch == "laine_unet" and cfg.patch < LAINE_MIN_PATCH:
        # Measured: trained on 64x64, 35.2 dB on a 64x64 crop but 16.7 dB on the 481x321
        # image; its five poolings leave the deepest features only zero borders to learn.
        log.warning("the U-Net trained on %dx%d patches fails on larger images; Laine et "
                    "al. train on 256x256 (--patch 256)", cfg.patch, cfg.patch)
    run = TrainingRun(cfg, "train blindspot")
    with run:
        model = build(cfg)
        if cfg.init_from and not resume:
            source, _ = load_weights(cfg.init_from)
            try:
                if isinstance(model, PDBlindSpotNet) and isinstance(source, BlindSpotDenoiser):
                    model.init_from_gaussian(source)
                else:
                    start_from(model, source)
            except RuntimeError as exc:
                raise InputError(f"{cfg.init_from}: does not match this architecture "
                                 f"({str(exc).splitlines()[0]})") from exc
            log.info("initialised from %s", cfg.init_from)
        model = run.place(model)
        net = run.ctx.wrap(model, run.device)
        opt = run.adam(model.parameters(), lr=cfg.lr, betas=(0.9, 0.99), eps=1e-8)
        images = ImageSource(cfg.data, cfg.channels, cfg.limit_images)
        dev_noise = spec if not spec.is_range else NoiseSpec.parse(
            "camera:iso=1600" if spec.kind == "camera" else "gauss:25")
        real_dev = bool(cfg.dev_images) and is_pair_folder(cfg.dev_images)
        dev = None
        if cfg.dev_images and run.ctx.is_main:  # real pairs, or clean images + synthetic noise
            dev = (real_pairs(cfg.dev_images, cfg.channels, cfg.dev_count) if real_dev else
                   noisy_set(cfg.dev_images, dev_noise, 0, cfg.channels, cfg.dev_count))
        share = run.ctx.share(cfg.batch)
        scale = 1 / 255.0 if spec.kind == "gauss" else 1.0

        def make_batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
            clean = sample_batch(images, share, cfg.patch, cfg.seed, step)
            noisy, levels = noisy_batch(clean, spec, cfg.seed, step, share, cfg.already_noisy)
            return torch.from_numpy(noisy), torch.from_numpy(levels * scale).float()

        def train_step(batch: tuple[torch.Tensor, torch.Tensor], lr: float) -> dict[str, float]:
            x, lv = run.to_device(batch[0]), batch[1].to(run.device)
            with run.autocast():
                loss = model.nll(net(x), x, lv)
            run.optimise(opt, loss, lr)
            return {"loss": loss.item()}

        def evaluate() -> dict[str, float]:
            if not dev:
                return {}
            return {"dev_psnr": dev_psnr(model, dev, spec.kind, run.device)}

        card = {
            "name": Path(cfg.out).stem,
            "task": "denoise",
            "method": (f"AP-BSN (Lee et al. 2022): pixel-shuffle stride {cfg.pd_stride} for "
                       "training, stride 2 + R3 at inference, around the dilated blind-spot net"
                       if cfg.pd_stride else
                       "blind-spot self-supervised denoiser (Honzatko et al. 2020; head of "
                       "Laine et al. 2019)" if cfg.arch == "dilated_blindspot" else
                       "Laine et al. 2019 blind-spot U-Net"),
            "training": {**asdict(cfg), "training_images": len(images),
                         "data_name": folder_names(cfg.data),
                         "clean_targets_used": False},
            "noise": str(spec),
            "sigma": spec.low if spec.kind == "gauss" and not spec.is_range else None,
            "dev_set": (None if not cfg.dev_images else
                        f"{Path(cfg.dev_images).name}, {cfg.dev_count} real noisy/clean pairs "
                        "spread over the set" if real_dev else
                        f"{Path(cfg.dev_images).name}, first {cfg.dev_count} images, "
                        f"{dev_noise}, seed 0, posterior mean"),
        }

        def outputs(state: LoopState) -> Outputs:
            dev_scores = [h["dev_psnr"] for h in state.history if "dev_psnr" in h]
            return {cfg.out: (model, {**card, **({"dev_psnr": dev_scores[-1]}
                                                 if dev_scores else {})})}

        return run.loop(resume, {"model": model, "optimizer": opt}, make_batch, train_step,
                        evaluate, outputs)
