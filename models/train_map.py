"""Joint training of the DAE prior R and the MAP denoiser D (Bigdeli et al., VISAPP 2020).

Per batch of clean patches, as in the authors' code, one R step then one D step,
each with its own Adam:

* R (denoising autoencoder): ``MSE(R(x + n), x)``, ``n ~ N(0, sigma_R^2)``. Its
  residual ``x - R(x)`` is proportional to the gradient of the negative log of the
  Gaussian-smoothed image prior (Alain & Bengio), which is what makes it a prior.
* D (MAP denoiser) on noisy ``v = x + N(0, sigma_v^2)``:
  ``MSE(D(v), R(D(v) + n)) / sigma_R^2 + (rho / 2) MSE(v, D(v))``, ``rho = 2 / sigma_R^2``
  by default. R's output is a constant of this loss (stop-gradient, as in the
  authors' release): the D gradient is then ``2 (D - R(D + n)) / sigma_R^2 + rho (D - v)``,
  i.e. the DAE's estimate of the prior gradient plus the data term, so at the optimum
  D(v) is a stationary point of the MAP objective (see :mod:`map_check`). Letting the
  gradient flow through R's input instead adds R's Jacobian to that gradient and trains
  D towards a different, much weaker denoiser (our first CPU run did exactly that).

Warm starts: ``init_dae`` / ``init_map`` load weights of the same shape (D may start
from R, which is already a good denoiser at sigma_R), and ``freeze_dae`` trains D alone
against a fixed, already trained R (how the efficient MAP variant is made).
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from edgerestore.console import log, progress
from edgerestore.errors import InputError
from edgerestore.models.dncnn import DnCNN
from edgerestore.models.evaluate import noisy_set, score
from edgerestore.models.patches import load_images, sample_batch
from edgerestore.models.run_state import (
    RunSettings,
    hardware,
    load_checkpoint,
    resolve_device,
    save_checkpoint,
)
from edgerestore.models.schedule import ramped_lr
from edgerestore.models.torch_denoisers import TorchDenoiser
from edgerestore.models.weights_io import load_weights, save_weights
from edgerestore.runtime.noise import NoiseSpec


@dataclass(kw_only=True)
class MapTraining(RunSettings):
    """Everything that defines a MAP-denoiser run (recorded in checkpoint and cards)."""

    dae_out: str
    sigma_r: float = 11.0
    sigma_v: float | None = None
    rho: float | None = None
    dae_depth: int = 17
    dae_width: int = 64
    depth: int = 17
    width: int = 64
    steps: int = 20000
    batch: int = 16
    patch: int = 40
    lr: float = 1e-3
    init_dae: str | None = None
    init_map: str | None = None
    freeze_dae: bool = False

    @property
    def sigma_r_unit(self) -> float:
        return self.sigma_r / 255.0

    @property
    def sigma_v_unit(self) -> float:
        return (self.sigma_v if self.sigma_v is not None else self.sigma_r) / 255.0

    @property
    def rho_value(self) -> float:
        return self.rho if self.rho is not None else 2.0 / self.sigma_r_unit**2


def map_loss(d_out: Tensor, v: Tensor, dae: DnCNN, sigma_r: float, rho: float,
             gen: torch.Generator | None = None) -> Tensor:
    """The D loss; ``dae``'s parameters must already be frozen."""
    n = torch.randn(d_out.shape, generator=gen, device=d_out.device) * sigma_r
    prior = F.mse_loss(d_out, dae(d_out + n).detach()) / sigma_r**2
    return prior + 0.5 * rho * F.mse_loss(v, d_out)


def _warm_start(net: DnCNN, path: str | None, what: str) -> None:
    """Copy weights of a same-shaped DnCNN file into ``net`` (any role)."""
    if path is None:
        return
    source, _ = load_weights(path)
    try:
        net.load_state_dict(source.state_dict())
    except RuntimeError as exc:
        raise InputError(f"{path}: cannot initialise {what} from it ({exc})") from exc
    log.info("%s initialised from %s", what, path)


def train_map(cfg: MapTraining, resume: bool = False) -> dict[str, Any]:
    """Train (or resume) R and D together; writes checkpoints, both weights and cards."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = run_dir / "checkpoint.pt"
    dae = DnCNN(cfg.channels, cfg.dae_depth, cfg.dae_width, role="dae").to(device)
    den = DnCNN(cfg.channels, cfg.depth, cfg.width, role="map").to(device)
    if cfg.freeze_dae and cfg.init_dae is None:
        raise InputError("--freeze-dae needs a trained prior (--init-dae)")
    _warm_start(dae, cfg.init_dae, "DAE prior R")
    _warm_start(den, cfg.init_map, "MAP denoiser D")
    opt_r = torch.optim.Adam(dae.parameters(), lr=cfg.lr)
    opt_d = torch.optim.Adam(den.parameters(), lr=cfg.lr)
    start, elapsed, history = 0, 0.0, []
    if resume:
        state = load_checkpoint(ckpt_path, asdict(cfg), device)
        dae.load_state_dict(state["dae"])
        den.load_state_dict(state["map"])
        opt_r.load_state_dict(state["opt_r"])
        opt_d.load_state_dict(state["opt_d"])
        start, elapsed, history = state["step"], state["elapsed"], state["history"]
        log.info("resumed %s at step %d", ckpt_path, start)
    images = load_images(cfg.data, cfg.channels, cfg.limit_images)
    dev = (noisy_set(cfg.dev_images, NoiseSpec("gauss", cfg.sigma_v_unit * 255,
                                                cfg.sigma_v_unit * 255),
                     0, cfg.channels, cfg.dev_count) if cfg.dev_images else None)
    use_amp = cfg.amp and device == "cuda"
    sr, rho = cfg.sigma_r_unit, cfg.rho_value
    base_elapsed, t_start = elapsed, time.perf_counter()
    running_r = running_d = None
    for step in progress(range(start, cfg.steps), desc="train map", unit="step",
                         total=cfg.steps - start):
        lr = ramped_lr(step, cfg.steps, cfg.lr)
        for opt in (opt_r, opt_d):
            for group in opt.param_groups:
                group["lr"] = lr
        gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step)
        x = torch.from_numpy(sample_batch(images, cfg.batch, cfg.patch, cfg.seed, step))
        noise_r = torch.randn(x.shape, generator=gen) * sr
        v = x + torch.randn(x.shape, generator=gen) * cfg.sigma_v_unit
        x, noise_r, v = x.to(device), noise_r.to(device), v.to(device)
        if cfg.freeze_dae:
            with torch.no_grad():
                loss_r = F.mse_loss(dae(x + noise_r).float(), x)
        else:
            dae.requires_grad_(True)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
                loss_r = F.mse_loss(dae(x + noise_r).float(), x)
            opt_r.zero_grad(set_to_none=True)
            loss_r.backward()
            opt_r.step()
        dae.requires_grad_(False)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
            loss_d = map_loss(den(v).float(), v, dae, sr, rho, gen)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        running_r = loss_r.item() if running_r is None else 0.98 * running_r + 0.02 * loss_r.item()
        running_d = loss_d.item() if running_d is None else 0.98 * running_d + 0.02 * loss_d.item()
        done = step + 1
        if done % cfg.checkpoint_every == 0 or done == cfg.steps:
            elapsed = base_elapsed + time.perf_counter() - t_start
            entry = {"step": done, "loss_dae": running_r, "loss_map": running_d, "lr": lr}
            if dev:
                den.eval()
                as_denoiser = TorchDenoiser(den, den.config(), device, "map")
                entry["dev_psnr_map"] = score(as_denoiser, dev, desc="dev",
                                              with_ssim=False)["psnr"]
                den.train()
            history.append(entry)
            log.info("step %d dae %.3g map %.3g%s", done, running_r, running_d,
                     f" dev PSNR {entry['dev_psnr_map']:.2f} dB" if dev else "")
            save_checkpoint(ckpt_path, {"dae": dae.state_dict(), "map": den.state_dict(),
                                        "opt_r": opt_r.state_dict(), "opt_d": opt_d.state_dict(),
                                        "step": done, "elapsed": elapsed,
                                        "settings": asdict(cfg), "history": history})
    dae.eval()
    den.eval()
    common = {
        "command": " ".join(["edgerestore", *sys.argv[1:]]) if sys.argv else "",
        "training": {**asdict(cfg), "images_seen": cfg.steps * cfg.batch,
                     "training_images": len(images), "data_name": Path(cfg.data).name,
                     "sigma_r_unit": sr, "sigma_v_unit": cfg.sigma_v_unit, "rho": rho},
        "hardware": hardware(device), "wall_time_s": round(elapsed, 1), "history": history,
    }
    # A frozen R is the --init-dae file itself: it is not written again.
    dae_file = Path(cfg.init_dae) if cfg.freeze_dae else Path(cfg.dae_out)
    if not cfg.freeze_dae:
        save_weights(dae, dae.config(), cfg.dae_out,
                     {"name": Path(cfg.dae_out).stem, "task": "dae_prior",
                      "method": "DnCNN denoising autoencoder prior R (Bigdeli et al. 2020)",
                      "sigma": cfg.sigma_r, **common})
    save_weights(den, den.config(), cfg.out,
                 {"name": Path(cfg.out).stem, "task": "map_denoiser",
                  "method": "CNN MAP denoiser D trained against the DAE prior "
                            "(Bigdeli et al. 2020)",
                  "sigma": cfg.sigma_v_unit * 255, "dae": dae_file.name, **common})
    log.info("wrote %s (prior %s, %.0f s of training)", cfg.out, dae_file, elapsed)
    return common
