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

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from edgerestore.console import log
from edgerestore.errors import InputError
from edgerestore.models.dncnn import DnCNN
from edgerestore.models.evaluate import noisy_set, score
from edgerestore.models.patches import ImageSource, folder_names, sample_batch
from edgerestore.models.run_state import RunSettings
from edgerestore.models.torch_denoisers import TorchDenoiser
from edgerestore.models.train_engine import LoopState, Outputs
from edgerestore.models.training_run import TrainingRun
from edgerestore.models.weights_io import load_card, load_weights
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
    steps: int | None = 20000
    batch: int = 16
    patch: int = 40
    lr: float = 1e-3
    init_dae: str | None = None
    init_map: str | None = None
    freeze_dae: bool = False

    @property
    def continues(self) -> str | None:
        """``--init-map`` also continues a trained D (e.g. ``map_eff_rgb`` against a new
        R), so its card's lineage is kept; ``--init-from`` wins when both are given."""
        return self.init_from or self.init_map

    @property
    def extra_outputs(self) -> tuple[str, ...]:
        """The DAE file this run writes besides ``out`` (none when R is frozen)."""
        return () if self.freeze_dae else (self.dae_out,)

    @property
    def sigma_r_unit(self) -> float:
        return self.sigma_r / 255.0

    @property
    def sigma_v_unit(self) -> float:
        return (self.sigma_v if self.sigma_v is not None else self.sigma_r) / 255.0

    @property
    def rho_value(self) -> float:
        return self.rho if self.rho is not None else 2.0 / self.sigma_r_unit**2


def map_loss(d_out: Tensor, v: Tensor, dae: nn.Module, sigma_r: float, rho: float,
             noise: Tensor | None = None) -> Tensor:
    """The D loss; ``dae``'s parameters must already be frozen.

    ``noise`` is the unit-variance perturbation of R's input (drawn here if not given).
    """
    n = (torch.randn_like(d_out) if noise is None else noise) * sigma_r
    prior = F.mse_loss(d_out, dae(d_out + n).detach().float()) / sigma_r**2
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


def init_paths(cfg: MapTraining) -> tuple[str | None, str | None]:
    """(DAE, MAP) warm-start files: ``init_from`` is a MAP file whose card names its DAE."""
    if not cfg.init_from:
        return cfg.init_dae, cfg.init_map
    dae = cfg.init_dae
    if dae is None:
        named = load_card(cfg.init_from).get("dae")
        if not isinstance(named, str):
            raise InputError(f"{cfg.init_from}: its card names no DAE prior; give --init-dae")
        dae = str(Path(cfg.init_from).parent / named)
    return dae, cfg.init_from


def map_batch(images: ImageSource, cfg: MapTraining, step: int,
              items: range) -> tuple[Tensor, ...]:
    """Clean patches and the three unit noises of step ``step`` (per item, seeded)."""
    x = sample_batch(images, items, cfg.patch, cfg.seed, step)
    noises = np.stack([np.random.default_rng([cfg.seed, step, i, 2]).standard_normal(
        (3, *x.shape[1:]), dtype=np.float32) for i in items], axis=1)
    return (torch.from_numpy(x), *(torch.from_numpy(n) for n in noises))


def train_map(cfg: MapTraining, resume: bool = False) -> dict[str, Any]:
    """Train (or resume) R and D together; writes checkpoints, both weights and cards."""
    if cfg.freeze_dae and cfg.init_dae is None and cfg.init_from is None:
        raise InputError("--freeze-dae needs a trained prior (--init-dae)")
    init_dae, init_map = init_paths(cfg)
    with TrainingRun(cfg, "train map") as run:
        dae = DnCNN(cfg.channels, cfg.dae_depth, cfg.dae_width, role="dae")
        den = DnCNN(cfg.channels, cfg.depth, cfg.width, role="map")
        if not resume:
            dae.init_for_training()
            den.init_for_training()
            _warm_start(dae, init_dae, "DAE prior R")
            _warm_start(den, init_map, "MAP denoiser D")
        dae, den = run.place(dae), run.place(den)
        dae_net = dae if cfg.freeze_dae else run.ctx.wrap(dae, run.device)
        den_net = run.ctx.wrap(den, run.device)
        opt_r = run.adam(dae.parameters(), lr=cfg.lr)
        opt_d = run.adam(den.parameters(), lr=cfg.lr)
        images = ImageSource(cfg.data, cfg.channels, cfg.limit_images)
        level = cfg.sigma_v_unit * 255
        dev = (noisy_set(cfg.dev_images, NoiseSpec("gauss", level, level), 0, cfg.channels,
                         cfg.dev_count) if cfg.dev_images and run.ctx.is_main else None)
        sr, rho = cfg.sigma_r_unit, cfg.rho_value
        share = run.ctx.share(cfg.batch)

        def train_step(batch: tuple[Tensor, ...], lr: float) -> dict[str, float]:
            x, n_r, n_v, n_d = (run.to_device(t) for t in batch)
            v = x + n_v * cfg.sigma_v_unit
            if cfg.freeze_dae:
                with torch.no_grad(), run.autocast():
                    loss_r = F.mse_loss(dae(x + n_r * sr).float(), x)
            else:
                dae.requires_grad_(True)
                with run.autocast():
                    loss_r = F.mse_loss(dae_net(x + n_r * sr).float(), x)
                run.optimise(opt_r, loss_r, lr)
            dae.requires_grad_(False)
            with run.autocast():
                loss_d = map_loss(den_net(v).float(), v, dae, sr, rho, n_d)
            run.optimise(opt_d, loss_d, lr)
            return {"dae": loss_r.item(), "map": loss_d.item()}

        def evaluate() -> dict[str, float]:
            if not dev:
                return {}
            den.eval()
            as_denoiser = TorchDenoiser(den, den.config(), run.device, "map")
            psnr = score(as_denoiser, dev, desc="dev", with_ssim=False)["psnr"]
            den.train()
            return {"dev_psnr_map": psnr}

        training = {**asdict(cfg), "training_images": len(images),
                    "data_name": folder_names(cfg.data),
                    "sigma_r_unit": sr, "sigma_v_unit": cfg.sigma_v_unit, "rho": rho}
        # A frozen R is the --init-dae file itself: it is not written again.
        dae_file = Path(init_dae) if cfg.freeze_dae and init_dae else Path(cfg.dae_out)

        def outputs(state: LoopState) -> Outputs:
            out: Outputs = {}
            if not cfg.freeze_dae:
                out[cfg.dae_out] = (dae, {
                    "name": Path(cfg.dae_out).stem, "task": "dae_prior",
                    "method": "DnCNN denoising autoencoder prior R (Bigdeli et al. 2020)",
                    "sigma": cfg.sigma_r, "training": training})
            out[cfg.out] = (den, {
                "name": Path(cfg.out).stem, "task": "map_denoiser",
                "method": "CNN MAP denoiser D trained against the DAE prior "
                          "(Bigdeli et al. 2020)",
                "sigma": cfg.sigma_v_unit * 255, "dae": dae_file.name, "training": training})
            return out

        return run.loop(resume, {"dae": dae, "map": den, "opt_r": opt_r, "opt_d": opt_d},
                        lambda step: map_batch(images, cfg, step, share), train_step, evaluate,
                        outputs)
