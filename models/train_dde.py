"""Training DDEs: a density on its own, and a generator by KL minimisation with two DDEs.

Generator training (Bigdeli et al., arXiv 2001.02728, Sec. 4). With ``p`` the data
and ``q`` the generator's distribution, both smoothed by the same noise sigma, the
generator minimises ``KL(q_sigma || p_sigma) = E_{x~q_sigma}[log q_sigma(x) - log p_sigma(x)]``.
Two DDEs supply the two log-densities: ``s_p`` is trained on data, ``s_q`` on
generator samples. Per batch: one ``s_p`` step on data, one ``s_q`` step on fresh
generator samples, and every ``gen_every`` batches one generator step on
``mean s_q(g(z) + eta) - s_p(g(z) + eta)`` with both DDEs held fixed; its gradient
flows through the samples into ``g``. ``s_q`` tracks ``q`` as the generator moves,
so the difference of the two scores pushes samples from where the generator puts
too much mass to where the data are. ``sigma_end`` optionally anneals sigma
linearly (coarse to fine).
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from edgerestore.console import log, progress
from edgerestore.errors import InputError
from edgerestore.models.dde import GeneratorMLP, build_density, dde_loss
from edgerestore.models.dde_data import TOY_DENSITIES, digits, image_crops, toy_samples
from edgerestore.models.run_state import (
    RunSettings,
    hardware,
    load_checkpoint,
    resolve_device,
    save_checkpoint,
)
from edgerestore.models.sample_quality import energy_distance
from edgerestore.models.weights_io import save_weights

#: Training set size of a toy density (the held-out set has the same size, another seed).
TOY_TRAIN = 5000
#: Most held-out samples the final energy distance uses (it is quadratic in the count).
QUALITY_SAMPLES = 1000


@dataclass(kw_only=True)
class DdeTraining(RunSettings):
    """Everything that defines a DDE generator run (recorded in checkpoint and card)."""

    channels: int = 1
    latent_dim: int = 16
    gen_width: int = 256
    gen_depth: int = 2
    dde_kind: str = "conv"
    dde_width: int = 32
    sigma: float = 0.3
    sigma_end: float | None = None
    gen_every: int = 2
    steps: int = 3000
    batch: int = 128
    lr: float = 1e-3
    gen_lr: float = 3e-4
    crop: int = 32

    def sigma_at(self, step: int) -> float:
        if self.sigma_end is None:
            return self.sigma
        return self.sigma + (self.sigma_end - self.sigma) * step / max(self.steps - 1, 1)


def load_dataset(name: str, seed: int, crop: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """(train, held out) for ``digits``, a toy density name, or a folder of photos (crops)."""
    if name == "digits":
        return digits(seed=seed)
    if name in TOY_DENSITIES:
        return toy_samples(name, TOY_TRAIN, seed), toy_samples(name, TOY_TRAIN, seed + 1)
    if Path(name).is_dir():
        return image_crops(name, crop, seed=seed)
    raise InputError(f"--data {name!r}: use digits, a folder of images, or one of "
                     f"{', '.join(TOY_DENSITIES)}")


def check_settings(cfg: DdeTraining) -> None:
    if cfg.steps < 1 or cfg.batch < 2:
        raise InputError("--steps must be >= 1 and --batch >= 2")
    if cfg.sigma <= 0 or (cfg.sigma_end is not None and cfg.sigma_end <= 0):
        raise InputError("sigma must be positive")
    if cfg.gen_every < 1:
        raise InputError("--gen-every must be at least 1")
    if cfg.latent_dim < 1:
        raise InputError("--latent-dim must be at least 1")


def _step(opt: torch.optim.Optimizer, loss: Tensor) -> None:
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


@torch.no_grad()
def sample(gen: GeneratorMLP, n: int, seed: int, device: str) -> np.ndarray:
    """``n`` generator samples from a seeded latent (numpy, float32)."""
    z = torch.randn((n, gen.latent_dim), generator=torch.Generator().manual_seed(seed))
    return gen(z.to(device)).float().cpu().numpy()


def train_generator(cfg: DdeTraining, resume: bool = False) -> dict[str, Any]:
    """Train (or resume) the generator and its two DDEs; writes checkpoints, weights and card."""
    check_settings(cfg)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    train_np, held_np = load_dataset(cfg.data, cfg.seed, cfg.crop)
    if cfg.limit_images:
        train_np = train_np[:cfg.limit_images]
    shape = list(train_np.shape[1:])
    image = len(shape) == 3
    if cfg.dde_kind == "conv" and not image:
        raise InputError("--dde-kind conv needs image data; use mlp for toy densities")
    gen = GeneratorMLP(cfg.latent_dim, shape, cfg.gen_width, cfg.gen_depth,
                       squash=image).to(device)
    s_p = build_density(shape, cfg.dde_kind, cfg.dde_width).to(device)
    s_q = build_density(shape, cfg.dde_kind, cfg.dde_width).to(device)
    opt_p = torch.optim.Adam(s_p.parameters(), lr=cfg.lr)
    opt_q = torch.optim.Adam(s_q.parameters(), lr=cfg.lr)
    opt_g = torch.optim.Adam(gen.parameters(), lr=cfg.gen_lr)
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = run_dir / "checkpoint.pt"
    start, elapsed, history = 0, 0.0, []
    if resume:
        state = load_checkpoint(ckpt_path, asdict(cfg), device)
        for module, key in ((gen, "gen"), (s_p, "s_p"), (s_q, "s_q"), (opt_p, "opt_p"),
                            (opt_q, "opt_q"), (opt_g, "opt_g")):
            module.load_state_dict(state[key])
        start, elapsed, history = state["step"], state["elapsed"], state["history"]
        log.info("resumed %s at step %d", ckpt_path, start)
    data = torch.from_numpy(train_np).to(device)
    base_elapsed, t_start = elapsed, time.perf_counter()
    running: dict[str, float] = {}
    for step in progress(range(start, cfg.steps), desc="train dde", unit="step",
                         total=cfg.steps - start):
        # Per-step generator: a resumed run draws exactly the batches of an uninterrupted one.
        rng = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step)
        sigma = cfg.sigma_at(step)
        x = data[torch.randint(len(data), (cfg.batch,), generator=rng).to(device)]
        losses = {"dde_data": _dde_step(s_p, opt_p, x, sigma, rng)}
        z = torch.randn((cfg.batch, cfg.latent_dim), generator=rng).to(device)
        with torch.no_grad():
            fake = gen(z)
        losses["dde_gen"] = _dde_step(s_q, opt_q, fake, sigma, rng)
        if step % cfg.gen_every == 0:
            losses["kl"] = _generator_step(gen, s_p, s_q, opt_g, cfg, sigma, rng, device)
        for key, value in losses.items():
            running[key] = value if key not in running else 0.98 * running[key] + 0.02 * value
        done = step + 1
        if done % cfg.checkpoint_every == 0 or done == cfg.steps:
            elapsed = base_elapsed + time.perf_counter() - t_start
            entry = {"step": done, "sigma": sigma, **running}
            history.append(entry)
            log.info("step %d %s", done, " ".join(f"{k} {v:.4g}" for k, v in running.items()))
            save_checkpoint(ckpt_path, {
                "gen": gen.state_dict(), "s_p": s_p.state_dict(), "s_q": s_q.state_dict(),
                "opt_p": opt_p.state_dict(), "opt_q": opt_q.state_dict(),
                "opt_g": opt_g.state_dict(), "step": done, "elapsed": elapsed,
                "settings": asdict(cfg), "history": history})
    gen.eval()
    held_np = held_np[:QUALITY_SAMPLES]
    quality = {"energy_distance_to_held_out": energy_distance(
                   sample(gen, len(held_np), cfg.seed + 7, device), held_np),
               "energy_distance_train_vs_held_out": energy_distance(
                   train_np[:len(held_np)], held_np),
               "held_out_samples": len(held_np)}
    card = {"name": Path(cfg.out).stem, "task": "generate",
            "method": "generator trained by KL minimisation with two denoising density "
                      "estimators (Bigdeli et al., arXiv 2001.02728)",
            "command": " ".join(["edgerestore", *sys.argv[1:]]) if sys.argv else "",
            "training": {**asdict(cfg), "training_samples": len(train_np),
                         "samples_seen": cfg.steps * cfg.batch},
            "quality": quality, "hardware": hardware(device),
            "wall_time_s": round(elapsed, 1), "history": history}
    save_weights(gen, gen.config(), cfg.out, card)
    log.info("wrote %s (energy distance %.4g to held-out, %.0f s of training)", cfg.out,
             quality["energy_distance_to_held_out"], elapsed)
    return card


def _dde_step(s: nn.Module, opt: torch.optim.Optimizer, x: Tensor, sigma: float,
              rng: torch.Generator) -> float:
    loss = dde_loss(s, x, sigma, torch.randn(x.shape, generator=rng).to(x.device))
    _step(opt, loss)
    return loss.item()


def _generator_step(gen: GeneratorMLP, s_p: nn.Module, s_q: nn.Module,
                    opt: torch.optim.Optimizer, cfg: DdeTraining, sigma: float,
                    rng: torch.Generator, device: str) -> float:
    """One step on ``mean s_q(g(z) + eta) - s_p(g(z) + eta)``; the DDEs stay fixed."""
    s_p.requires_grad_(False)
    s_q.requires_grad_(False)
    z = torch.randn((cfg.batch, cfg.latent_dim), generator=rng).to(device)
    fake = gen(z)
    noisy = fake + sigma * torch.randn(fake.shape, generator=rng).to(device)
    loss = (s_q(noisy) - s_p(noisy)).mean()
    _step(opt, loss)
    s_p.requires_grad_(True)
    s_q.requires_grad_(True)
    return loss.item()


def fit_density(x: np.ndarray, *, sigma: float, steps: int, batch: int = 256,
                lr: float = 1e-3, width: int = 128, kind: str = "mlp",
                activation: str = "softplus", seed: int = 0, device: str = "cpu") -> nn.Module:
    """A DDE of the samples ``x`` alone (no generator); returns ``s`` in eval mode.

    The learning rate decays by cosine to zero so the last steps average out the
    noise of the stochastic loss.
    """
    torch.manual_seed(seed)
    data = torch.from_numpy(np.asarray(x, np.float32)).to(device)
    s = build_density(list(data.shape[1:]), kind, width, activation).to(device)
    opt = torch.optim.Adam(s.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    rng = torch.Generator().manual_seed(seed)
    for _ in progress(range(steps), desc="fit dde", unit="step"):
        xb = data[torch.randint(len(data), (batch,), generator=rng).to(device)]
        _step(opt, dde_loss(s, xb, sigma, torch.randn(xb.shape, generator=rng).to(device)))
        sched.step()
    return s.eval()
