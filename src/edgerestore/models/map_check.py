"""Numerical check of the paper's claim that D(v) minimises the MAP objective.

With the DAE residual as the prior's gradient (Alain & Bengio:
``x - R(x) ~ sigma_R^2 grad -log p_sigma(x)``), the objective D was trained on is

    J(x) = mean(|x - R(x + n)|^2) / sigma_R^2 + (rho / 2) mean(|x - v|^2)

and its gradient *estimated through R* (R's Jacobian ignored, as in DMSP) is

    g(x) = 2 (x - R(x)) / sigma_R^2 + rho (x - v)      (per pixel, up to 1/N).

If D solves the MAP problem, then at x = D(v) the objective is lower than at the
obvious alternatives (the noisy input v, the DAE output R(v)) and g is near zero
compared with its size at v. This module measures those numbers so a model card can
state them instead of asserting them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn


def _objective(x: Tensor, v: Tensor, dae: nn.Module, sigma_r: float, rho: float,
               draws: int, seed: int) -> float:
    gen = torch.Generator().manual_seed(seed)
    prior = 0.0
    for _ in range(draws):
        n = torch.randn(x.shape, generator=gen) * sigma_r
        prior += float(((x - dae(x + n)) ** 2).mean()) / sigma_r**2
    return prior / draws + 0.5 * rho * float(((x - v) ** 2).mean())


def _grad_norm(x: Tensor, v: Tensor, dae: nn.Module, sigma_r: float, rho: float) -> float:
    g = 2.0 * (x - dae(x)) / sigma_r**2 + rho * (x - v)
    return float(g.norm() / np.sqrt(g.numel()))


@torch.no_grad()
def check_map(den: nn.Module, dae: nn.Module, clean: list[np.ndarray], sigma_v: float,
              sigma_r: float, rho: float, seed: int = 0, draws: int = 4) -> dict[str, Any]:
    """Objective and estimated-gradient RMS at D(v), v and R(v), averaged over images.

    ``clean`` are float HxWxC images, ``sigma_v``/``sigma_r`` in [0, 1] units.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for img in clean:
        x = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1), np.float32))[None]
        v = x + torch.from_numpy(rng.normal(0, sigma_v, x.shape).astype(np.float32))
        points = {"D(v)": den(v), "v": v, "R(v)": dae(v)}
        rows.append({
            name: {"objective": _objective(p, v, dae, sigma_r, rho, draws, seed),
                   "grad_rms": _grad_norm(p, v, dae, sigma_r, rho)}
            for name, p in points.items()})
    mean = {name: {k: float(np.mean([r[name][k] for r in rows])) for k in ("objective",
                                                                           "grad_rms")}
            for name in rows[0]}
    return {
        "points": mean,
        "objective_lowest_at_D": all(r["D(v)"]["objective"] < min(r["v"]["objective"],
                                                                  r["R(v)"]["objective"])
                                     for r in rows),
        "grad_ratio_D_over_v": mean["D(v)"]["grad_rms"] / mean["v"]["grad_rms"],
        "images": len(rows), "sigma_v": sigma_v, "sigma_r": sigma_r, "rho": rho,
    }
