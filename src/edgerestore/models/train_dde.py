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
linearly over ``steps`` (coarse to fine).

The run itself (precision, channels_last for the conv DDE, torchrun data
parallelism, budgets and learning-rate ramps, signals, resume, ``--init-from`` and
the card's lineage) is the shared engine's (:class:`TrainingRun`). The generator's
learning rate follows the same ramps, scaled by ``gen_lr / lr``. Each step's
randomness (data indices, DDE noises, latents) is drawn for the whole global batch
from the seed and the step alone and each rank takes its slice, so resumed and
data-parallel runs train on exactly the batches of one uninterrupted process.

Under torchrun the gradients are averaged over the ranks by hand (:func:`_optimise`)
rather than by DDP: the DDE loss sees ``s`` only through its input gradient, so the
output bias never gets a gradient and DDP's reducer would wait for it forever, and DDP
does not support the double backward the loss needs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn

from edgerestore.console import log, progress
from edgerestore.errors import InputError
from edgerestore.models.dde import GeneratorMLP, build_density, dde_loss
from edgerestore.models.dde_data import TOY_DENSITIES, digits, image_crops, toy_samples
from edgerestore.models.run_state import RunSettings
from edgerestore.models.sample_quality import energy_distance
from edgerestore.models.train_engine import Distributed, LoopState, Outputs, to_memory_format
from edgerestore.models.training_run import TrainingRun
from edgerestore.models.weights_io import load_weights

#: Training set size of a toy density (the held-out set has the same size, another seed).
TOY_TRAIN = 5000
#: Most held-out samples the energy distance uses (it is quadratic in the count).
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
    steps: int | None = 3000
    batch: int = 128
    lr: float = 1e-3
    gen_lr: float = 3e-4
    crop: int = 32

    def sigma_at(self, step: int) -> float:
        if self.sigma_end is None or self.steps is None:
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
    if (cfg.steps is not None and cfg.steps < 1) or cfg.batch < 2:
        raise InputError("--steps must be >= 1 and --batch >= 2")
    if cfg.sigma <= 0 or (cfg.sigma_end is not None and cfg.sigma_end <= 0):
        raise InputError("sigma must be positive")
    if cfg.sigma_end is not None and cfg.steps is None:
        raise InputError("--sigma-end anneals over --steps/--images: give one of them")
    if cfg.gen_every < 1:
        raise InputError("--gen-every must be at least 1")
    if cfg.latent_dim < 1:
        raise InputError("--latent-dim must be at least 1")
    if cfg.gen_lr <= 0:
        raise InputError("--gen-lr must be positive")


def _step(opt: torch.optim.Optimizer, loss: Tensor) -> None:
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


@torch.no_grad()
def sample(gen: GeneratorMLP, n: int, seed: int, device: str) -> np.ndarray:
    """``n`` generator samples from a seeded latent (numpy, float32)."""
    z = torch.randn((n, gen.latent_dim), generator=torch.Generator().manual_seed(seed))
    return gen(z.to(device)).float().cpu().numpy()


def dde_batch(data: np.ndarray, cfg: DdeTraining, step: int, items: range) -> dict[str, Any]:
    """This rank's ``items`` of step ``step``'s global batch: data, noises, latents, sigma.

    Everything is drawn for the whole global batch from ``(seed, step)`` (cheaper than a
    generator per item, and the same on every rank), then sliced.
    """
    rng = np.random.default_rng([cfg.seed, step])
    n, shape, share = cfg.batch, data.shape[1:], slice(items.start, items.stop)

    def normal(*dims: int) -> Tensor:
        return torch.from_numpy(rng.standard_normal((n, *dims), dtype=np.float32)[share])

    batch: dict[str, Any] = {"x": torch.from_numpy(data[rng.integers(len(data), size=n)[share]]),
                             "noise_p": normal(*shape), "z_q": normal(cfg.latent_dim),
                             "noise_q": normal(*shape), "sigma": cfg.sigma_at(step)}
    if step % cfg.gen_every == 0:
        batch.update(z_g=normal(cfg.latent_dim), eta_g=normal(*shape))
    return batch


def _init_generator(gen: GeneratorMLP, path: str) -> None:
    """Start the generator from a generator file of the same shape (the DDEs start anew)."""
    source, _ = load_weights(path)
    try:
        gen.load_state_dict(source.state_dict())
    except RuntimeError as exc:
        raise InputError(f"{path}: cannot initialise the generator from it ({exc})") from exc
    log.info("generator initialised from %s", path)


def train_generator(cfg: DdeTraining, resume: bool = False) -> dict[str, Any]:
    """Train (or resume) the generator and its two DDEs; writes checkpoints, weights and card."""
    check_settings(cfg)
    train_np, held_np = load_dataset(cfg.data, cfg.seed, cfg.crop)
    if cfg.limit_images:
        train_np = train_np[:cfg.limit_images]
    held_np = held_np[:QUALITY_SAMPLES]
    shape = list(train_np.shape[1:])
    image = len(shape) == 3
    if cfg.dde_kind == "conv" and not image:
        raise InputError("--dde-kind conv needs image data; use mlp for toy densities")
    with TrainingRun(cfg, "train dde") as run:
        gen = GeneratorMLP(cfg.latent_dim, shape, cfg.gen_width, cfg.gen_depth, squash=image)
        s_p = build_density(shape, cfg.dde_kind, cfg.dde_width)
        s_q = build_density(shape, cfg.dde_kind, cfg.dde_width)
        if cfg.init_from and not resume:
            _init_generator(gen, cfg.init_from)
        gen, s_p, s_q = run.place(gen), run.place(s_p), run.place(s_q)
        opt_p = run.adam(s_p.parameters(), lr=cfg.lr)
        opt_q = run.adam(s_q.parameters(), lr=cfg.lr)
        opt_g = run.adam(gen.parameters(), lr=cfg.gen_lr)
        share = run.ctx.share(cfg.batch)

        def train_step(batch: dict[str, Any], lr: float) -> dict[str, float]:
            b = {k: run.to_device(v) if isinstance(v, Tensor) else v for k, v in batch.items()}
            with run.autocast():
                loss_p = dde_loss(s_p, b["x"], b["sigma"], b["noise_p"])
            _optimise(run.ctx, opt_p, loss_p, lr)
            with torch.no_grad(), run.autocast():
                fake = to_memory_format(gen(b["z_q"]).float(), cfg.channels_last)
            with run.autocast():
                loss_q = dde_loss(s_q, fake, b["sigma"], b["noise_q"])
            _optimise(run.ctx, opt_q, loss_q, lr)
            losses = {"dde_data": loss_p.item(), "dde_gen": loss_q.item()}
            if "z_g" in b:
                losses["kl"] = _generator_step(run, gen, s_p, s_q, opt_g, b,
                                               lr * cfg.gen_lr / cfg.lr)
            return losses

        def evaluate() -> dict[str, float]:
            fakes = sample(gen, len(held_np), cfg.seed + 7, run.device)
            return {"energy_distance_to_held_out": energy_distance(fakes, held_np)}

        # What a perfect generator would score: training data against the held-out set.
        reference = energy_distance(train_np[:len(held_np)], held_np) if run.ctx.is_main else None

        def outputs(state: LoopState) -> Outputs:
            latest = state.history[-1] if state.history else {}
            quality = {"energy_distance_to_held_out": latest.get("energy_distance_to_held_out"),
                       "energy_distance_train_vs_held_out": reference,
                       "held_out_samples": len(held_np)}
            return {cfg.out: (gen, {
                "name": Path(cfg.out).stem, "task": "generate",
                "method": "generator trained by KL minimisation with two denoising density "
                          "estimators (Bigdeli et al., arXiv 2001.02728)",
                "training": {**asdict(cfg), "training_samples": len(train_np),
                             "samples_seen": state.step * cfg.batch},
                "quality": quality})}

        card = run.loop(resume, {"gen": gen, "s_p": s_p, "s_q": s_q, "opt_p": opt_p,
                                 "opt_q": opt_q, "opt_g": opt_g},
                        lambda step: dde_batch(train_np, cfg, step, share), train_step,
                        evaluate, outputs)
    if card.get("quality", {}).get("energy_distance_to_held_out") is not None:
        log.info("energy distance %.4g to held-out (training data: %.4g)",
                 card["quality"]["energy_distance_to_held_out"],
                 card["quality"]["energy_distance_train_vs_held_out"])
    return card


def _optimise(ctx: Distributed, opt: torch.optim.Optimizer, loss: Tensor, lr: float) -> None:
    """One step of ``opt`` on ``loss`` at ``lr``, its gradients averaged over the ranks.

    Only parameters that got a gradient take part (the same ones on every rank), so a
    parameter the loss does not reach is left alone exactly as in a single process.
    """
    for group in opt.param_groups:
        group["lr"] = lr
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if ctx.world_size > 1:
        grads = [p.grad for g in opt.param_groups for p in g["params"] if p.grad is not None]
        flat = torch.cat([g.flatten() for g in grads])
        dist.all_reduce(flat)
        flat /= ctx.world_size
        for grad, part in zip(grads, flat.split([g.numel() for g in grads]), strict=True):
            grad.copy_(part.view_as(grad))
    opt.step()


def _generator_step(run: TrainingRun, gen: nn.Module, s_p: nn.Module, s_q: nn.Module,
                    opt: torch.optim.Optimizer, b: dict[str, Any], lr: float) -> float:
    """One step on ``mean s_q(g(z) + eta) - s_p(g(z) + eta)``; the DDEs stay fixed."""
    s_p.requires_grad_(False)
    s_q.requires_grad_(False)
    try:
        with run.autocast():
            fake = to_memory_format(gen(b["z_g"]).float(), run.cfg.channels_last)
            noisy = fake + b["sigma"] * b["eta_g"]
            loss = (s_q(noisy).float() - s_p(noisy).float()).mean()
        _optimise(run.ctx, opt, loss, lr)
    finally:
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
