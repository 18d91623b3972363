"""Distillation: a small plain CNN learns to give a blind-spot teacher's output.

No clean image enters anywhere: the teacher learned from noisy images only, and the
student (:class:`~edgerestore.models.student.PlainStudent`) learns from the teacher's
output on noisy images, drawn as the teacher's were (the same synthetic noise model and
level range on clean-image folders, part of them clipped and rounded to 8 bits as a
camera writes them; or real noisy photos as they are).

Why the teacher's outputs are computed once and kept (``RUN_DIR/targets/``), not on the
fly: the teacher costs 10-100 times the student per pixel (AP-BSN with R3 passes more
still), so computing it per step would spend most of a run on the teacher; computed once
per training image (one noise draw each), every later step reuses them under random
crops and the eight flips/rotations, and a resumed run does not pay for them again.
The trade (measured in ``docs/students.md``): each image has one noise realisation.

The teacher may be a self-ensemble (``teacher_ensemble=8``: mean over the eight
flips/rotations), which removes part of its own error, and AP-BSN teachers run with
``teacher_r3`` R3 passes and their input blend: the student replaces PD, R3 and the
blend at inference.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file, save_file

from edgerestore.console import progress
from edgerestore.errors import InputError, ModelFileError
from edgerestore.models.blindspot_denoiser import BlindSpotDenoiser
from edgerestore.models.evaluate import (
    dev_psnr,
    is_pair_folder,
    noisy_set,
    real_pairs,
    score,
)
from edgerestore.models.image_network import DenoisingNetwork
from edgerestore.models.patches import convert_channels, folder_list, folder_names
from edgerestore.models.pd_blindspot import PDBlindSpotNet
from edgerestore.models.run_state import RunSettings
from edgerestore.models.student import PlainStudent
from edgerestore.models.train_engine import LoopState, Outputs, autocast
from edgerestore.models.training_run import TrainingRun
from edgerestore.models.weights_io import load_card, load_weights, sha256
from edgerestore.runtime.atomic import atomic_write
from edgerestore.runtime.image_files import list_images
from edgerestore.runtime.image_io import read_image
from edgerestore.runtime.metrics import quantize8
from edgerestore.runtime.noise import NoiseSpec
from edgerestore.runtime.tiling import run_tiled

#: Teacher tiles: large enough that the training images here are one tile each, small
#: enough that a 12 MP photo in a user's folder does not need gigabytes of activations.
TEACHER_TILE = 768
#: Images whose targets are written together to one file of the target cache.
CHUNK = 16


@dataclass(kw_only=True)
class DistillTraining(RunSettings):
    """Everything that defines a distillation run (checkpoint and model card)."""

    teacher: str
    student: dict[str, Any] = field(default_factory=dict)
    noise: str | None = None
    already_noisy: bool = False
    clipped_fraction: float = 0.25
    teacher_r3: int | None = None
    teacher_ensemble: int = 1
    teacher_precision: str = "fp32"
    steps: int | None = 10000
    batch: int = 16
    patch: int = 96
    lr: float = 1e-3


def load_teacher(path: str, device: str) -> tuple[DenoisingNetwork, dict[str, Any]]:
    """The teacher network and its card; AP-BSN with its R3 passes as asked."""
    model, _ = load_weights(path, device)
    if not isinstance(model, DenoisingNetwork) or isinstance(model, PlainStudent):
        raise ModelFileError(f"{path}: a teacher must be a denoiser other than a student")
    return model, load_card(path)


def teacher_noise(cfg: DistillTraining, card: dict[str, Any]) -> NoiseSpec | None:
    """The synthetic noise the student's inputs get (None: the photos are already noisy)."""
    if cfg.already_noisy:
        return None
    text = cfg.noise or card.get("noise")
    if not isinstance(text, str):
        raise InputError(f"{cfg.teacher}: its card records no training noise; give --noise")
    return NoiseSpec.parse(text)


def teacher_function(model: DenoisingNetwork, cfg: DistillTraining, device: str
                     ) -> Callable[[np.ndarray, float], np.ndarray]:
    """HxWxC noisy image (+ its level, 0-255) -> the teacher's estimate, tiled, ensembled."""
    if isinstance(model, PDBlindSpotNet) and cfg.teacher_r3 is not None:
        model.set_r3_steps(cfg.teacher_r3)
    turns = [(k, flip) for flip in (False, True) for k in range(4)][:cfg.teacher_ensemble]

    def one(tile: np.ndarray, level: float) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(tile.transpose(2, 0, 1)))[None].to(device)
        lv = torch.tensor([level / 255.0], device=device)
        total = torch.zeros_like(x)
        for k, flip in turns:
            t = torch.rot90(x.flip(-1) if flip else x, k, (-2, -1))
            with autocast(device, cfg.teacher_precision):
                y = model.denoise(t, lv if isinstance(model, BlindSpotDenoiser) else None)
            y = torch.rot90(y.float(), -k, (-2, -1))
            total += y.flip(-1) if flip else y
        return (total / len(turns))[0].permute(1, 2, 0).cpu().numpy()

    halo = (model.receptive_field or TEACHER_TILE) // 2

    def run(image: np.ndarray, level: float) -> np.ndarray:
        return run_tiled(image, lambda t: one(t, level), tile=(TEACHER_TILE, TEACHER_TILE),
                         halo=min(halo, TEACHER_TILE // 4), align=model.tile_align)

    return run


def noisy_input(clean: np.ndarray, spec: NoiseSpec | None, cfg: DistillTraining, index: int
                ) -> tuple[np.ndarray, float]:
    """Image ``index``'s student input and its noise level (0-255; 0 for real noise)."""
    if spec is None:
        return clean, 0.0
    rng = np.random.default_rng([cfg.seed, index, 7])
    noisy, level = spec.apply(clean, rng)
    if rng.random() < cfg.clipped_fraction:  # as a camera writes it
        noisy = quantize8(noisy)
    return noisy.astype(np.float32), float(level)


def target_key(cfg: DistillTraining, teacher_sha256: str, spec: NoiseSpec | None,
               files: list[Path]) -> str:
    """What a chunk of cached targets was computed from: the teacher file, how it ran,
    the noise and the chunk's images. A chunk whose key differs is computed again, so
    changing ``--teacher-r3`` or the data never trains on stale targets."""
    return json.dumps({"teacher_sha256": teacher_sha256, "r3": cfg.teacher_r3,
                       "ensemble": cfg.teacher_ensemble, "precision": cfg.teacher_precision,
                       "noise": None if spec is None else str(spec),
                       "clipped_fraction": cfg.clipped_fraction, "seed": cfg.seed,
                       "channels": cfg.channels, "files": [str(f.resolve()) for f in files]},
                      sort_keys=True)


def build_targets(cfg: DistillTraining, files: list[Path], teacher: DenoisingNetwork,
                  teacher_sha256: str, spec: NoiseSpec | None, folder: Path, device: str
                  ) -> list[tuple[np.ndarray, np.ndarray]]:
    """(noisy, teacher output) per training image, float16 HxWxC, cached by chunk."""
    run = None  # built when a chunk is missing: a resumed run never needs the teacher
    folder.mkdir(parents=True, exist_ok=True)
    pairs: list[tuple[np.ndarray, np.ndarray]] = []
    for start in progress(range(0, len(files), CHUNK), desc="teacher targets", unit="chunk"):
        indices = range(start, min(start + CHUNK, len(files)))
        path = folder / f"{start // CHUNK:05d}.safetensors"
        key = target_key(cfg, teacher_sha256, spec, [files[i] for i in indices])
        if _chunk_key(path) != key:
            run = run or teacher_function(teacher.eval(), cfg, device)
            arrays = {}
            for i in indices:
                clean = convert_channels(read_image(files[i])[0], cfg.channels, str(files[i]))
                noisy, level = noisy_input(clean, spec, cfg, i)
                # contiguous: safetensors writes an array's buffer as if it were C-ordered
                arrays[f"noisy_{i}"] = np.ascontiguousarray(noisy, np.float16)
                arrays[f"target_{i}"] = np.ascontiguousarray(run(noisy, level), np.float16)
            atomic_write(path, lambda tmp, a=arrays, k=key: save_file(a, str(tmp), {"key": k}))
        saved = load_file(str(path))
        pairs.extend((saved[f"noisy_{i}"], saved[f"target_{i}"]) for i in indices)
    return pairs


def _chunk_key(path: Path) -> str | None:
    """The key a cached chunk was written with (None: no chunk, or not a readable one)."""
    try:
        with safe_open(str(path), framework="numpy") as fh:
            return (fh.metadata() or {}).get("key")
    except (OSError, SafetensorError):
        return None


def sample_pairs(pairs: list[tuple[np.ndarray, np.ndarray]], weights: np.ndarray,
                 items: range, patch: int, seed: int, step: int
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of random ``patch`` crops (images drawn by pixel count), flipped/rotated."""
    xs, ys = [], []
    for item in items:
        rng = np.random.default_rng([seed, step, item, 3])
        noisy, target = pairs[int(rng.choice(len(pairs), p=weights))]
        h, w = noisy.shape[:2]
        p = min(patch, h, w)
        top, left = int(rng.integers(0, h - p + 1)), int(rng.integers(0, w - p + 1))
        k, flip = int(rng.integers(4)), bool(rng.integers(2))
        pair = []
        for a in (noisy, target):
            crop = np.rot90(a[top:top + p, left:left + p], k)
            pair.append(np.ascontiguousarray((crop[:, ::-1] if flip else crop).transpose(2, 0, 1)))
        xs.append(pair[0])
        ys.append(pair[1])
    return (torch.from_numpy(np.stack(xs).astype(np.float32)),
            torch.from_numpy(np.stack(ys).astype(np.float32)))


def dev_items(cfg: DistillTraining, spec: NoiseSpec | None
              ) -> list[tuple[str, np.ndarray, np.ndarray, float]] | None:
    """The dev set: real noisy/clean pairs, or clean images with the teacher's noise
    (a range's midpoint level 25) drawn with seed 0."""
    if not cfg.dev_images:
        return None
    if is_pair_folder(cfg.dev_images):
        return real_pairs(cfg.dev_images, cfg.channels, cfg.dev_count)
    if spec is None:
        raise InputError(f"{cfg.dev_images}: real-noise distillation needs a dev folder with "
                         "noisy/ and clean/ pairs")
    level = spec if not spec.is_range else NoiseSpec.parse("gauss:25")
    return noisy_set(cfg.dev_images, level, 0, cfg.channels, cfg.dev_count)


def teacher_dev_psnr(cfg: DistillTraining, teacher: DenoisingNetwork, dev: list, device: str,
                     run_dir: Path) -> float:
    """The teacher's dev PSNR, the student's target line (computed once per run folder)."""
    path = run_dir / "teacher_dev.json"
    if path.exists():
        return float(json.loads(path.read_text())["psnr"])
    value = score(teacher_function(teacher.eval(), cfg, device), dev, desc="teacher dev",
                  with_ssim=False)["psnr"]
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps({"psnr": value})))
    return value


def train_distill(cfg: DistillTraining, resume: bool = False) -> dict[str, Any]:
    """Train (or resume) a student; writes checkpoints, weights and the model card."""
    if cfg.teacher_ensemble not in (1, 2, 4, 8):
        raise InputError("--teacher-ensemble must be 1, 2, 4 or 8")
    run = TrainingRun(cfg, "train distill")
    with run:
        teacher, teacher_card = load_teacher(cfg.teacher, run.device)
        spec = teacher_noise(cfg, teacher_card)
        files = [f for folder in folder_list(cfg.data) for f in list_images(folder)]
        files = files[:cfg.limit_images]
        if not files:
            raise InputError(f"no training images in {folder_names(cfg.data)}")
        student = PlainStudent(channels=cfg.channels, noise_model=teacher.noise_model,
                               **cfg.student)
        if teacher.in_channels != cfg.channels:
            raise InputError(f"{cfg.teacher} has {teacher.in_channels} channel(s); give "
                             f"--channels {teacher.in_channels}")
        if cfg.init_from and not resume:
            source, _ = load_weights(cfg.init_from)
            if not isinstance(source, PlainStudent) or source.config() != student.config():
                raise InputError(f"{cfg.init_from}: not a student of this shape")
            student.load_state_dict(source.state_dict())
        elif not resume:
            student.init_for_training()
        dev = dev_items(cfg, spec) if run.ctx.is_main else None
        teacher_sha256 = sha256(cfg.teacher)
        pairs = build_targets(cfg, files, teacher, teacher_sha256, spec, run.run_dir / "targets",
                              run.device)
        teacher_dev = (teacher_dev_psnr(cfg, teacher, dev, run.device, run.run_dir)
                       if dev else None)
        del teacher
        sizes = np.array([a.shape[0] * a.shape[1] for a, _ in pairs], np.float64)
        weights = sizes / sizes.sum()
        model = run.place(student)
        net = run.ctx.wrap(model, run.device)
        opt = run.adam(model.parameters(), lr=cfg.lr, betas=(0.9, 0.99), eps=1e-8)
        share = run.ctx.share(cfg.batch)

        def make_batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
            return sample_pairs(pairs, weights, share, cfg.patch, cfg.seed, step)

        def train_step(batch: tuple[torch.Tensor, torch.Tensor], lr: float) -> dict[str, float]:
            x, y = run.to_device(batch[0]), run.to_device(batch[1])
            with run.autocast():
                out = net(x)
            loss = torch.mean((out.float() - y) ** 2)
            run.optimise(opt, loss, lr)
            return {"loss": loss.item()}

        def evaluate() -> dict[str, float]:
            if not dev:
                return {}
            return {"dev_psnr": dev_psnr(model, dev, spec and spec.kind, run.device)}

        card = {
            "name": Path(cfg.out).stem,
            "task": "denoise",
            "method": "plain CNN student distilled from a self-supervised blind-spot teacher",
            "teacher": {"name": teacher_card.get("name", Path(cfg.teacher).stem),
                        "file": Path(cfg.teacher).name, "sha256": teacher_sha256,
                        "r3": cfg.teacher_r3, "ensemble": cfg.teacher_ensemble,
                        "precision": cfg.teacher_precision, "dev_psnr": teacher_dev,
                        "total": teacher_card.get("total")},
            "training": {**asdict(cfg), "training_images": len(files),
                         "data_name": folder_names(cfg.data), "clean_targets_used": False},
            "noise": teacher_card.get("noise") if spec is None else str(spec),
            "sigma": spec.low if spec is not None and spec.kind == "gauss"
            and not spec.is_range else None,
            "dev_set": None if not cfg.dev_images else f"{Path(cfg.dev_images).name}, "
                                                      f"{cfg.dev_count} images",
        }

        def outputs(state: LoopState) -> Outputs:
            scores = [h["dev_psnr"] for h in state.history if "dev_psnr" in h]
            return {cfg.out: (model, {**card, **({"dev_psnr": scores[-1]} if scores else {})})}

        return run.loop(resume, {"model": model, "optimizer": opt}, make_batch, train_step,
                        evaluate, outputs)
