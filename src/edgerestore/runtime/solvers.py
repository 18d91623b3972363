"""Plug-and-play solvers: ADMM with a MAP denoiser (Bigdeli et al., VISAPP 2020) and HQS.

Every task is the MAP problem ``min_x ||A x - y||^2 / (2 sigma_n^2) + prior(x)`` in
[0, 1] intensity units, split so that a denoiser stands in for the prior; the forward
model (:mod:`edgerestore.runtime.forward`) supplies the data step, the denoiser the
prior step, and :func:`iterate` the loop both solvers (and DMSP) share: timing, the
per-iteration history, the callback and the early stop.

* **ADMM** (Bigdeli, Honzatko, Suesstrunk & Dunbar, arXiv 1912.09299): the x-step is
  the data term's proximal operator ``argmin ||A x - y||^2/(2 sigma_n^2) +
  rho/2 ||x - (z - u)||^2``; the z-step is the denoiser applied to ``x + u``; then
  ``u += x - z``. (The authors' release runs x, u, z in that order; we use the
  textbook x, z, u order, which has the same fixed points.) ``rho`` is fixed, there
  is no continuation.
* **HQS** (IRCNN / DPIR, Zhang et al.): no dual variable, and the denoiser strength
  decreases geometrically from ``sigma_max`` to the noise level, for denoisers that
  take the noise level as an input.

Penalty and denoiser strength. A Gaussian denoiser at noise std ``s`` is (for a MAP
denoiser exactly, for an MMSE one approximately) the proximal operator
``argmin_z prior(z) + ||z - v||^2 / (2 s^2)``, i.e. the ADMM z-step with
``rho = 1 / s^2``. The paper's MAP denoiser is trained at one fixed ``sigma_R`` with
the loss ``||D - R(D)||^2 / sigma_R^2 + (rho_D / 2) ||D - v||^2``, ``rho_D = 2 /
sigma_R^2``; its stationary point is that proximal operator with ``s = sigma_R``. So
the default penalty is ``rho = 1 / denoiser_sigma^2`` and the denoiser is always
called with ``sigma = 1 / sqrt(rho)``. Moving ``rho`` away from that changes how hard
the x-step pulls towards the denoised image while a fixed-strength network keeps
denoising at its training level, so the two steps then optimise slightly different
objectives; it is still a useful knob (the release's deblurring example uses
``1 / (2 sigma^2)``). The default settings are in :mod:`edgerestore.runtime.presets`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from edgerestore.errors import InputError
from edgerestore.runtime.denoiser_protocol import Denoiser
from edgerestore.runtime.forward import ForwardModel, observation, positive_int
from edgerestore.runtime.presets import (
    ADMM_TOL,
    HQS_LAMBDA,
    HQS_SIGMA_MAX,
    MAP_DENOISER_SIGMA,
    SIGMA_N_FLOOR,
    default_rho,
)

__all__ = ["Callback", "Result", "admm", "call_denoiser", "hqs", "iterate"]

#: ``callback(iteration, estimate, info)``; returning ``False`` stops the solver.
Callback = Callable[[int, np.ndarray, dict[str, float]], bool | None]
#: One solver iteration: ``step(iteration, x) -> (new x, extra history entries)``.
Step = Callable[[int, np.ndarray], tuple[np.ndarray, dict[str, float]]]


@dataclass
class Result:
    """A solver's output.

    ``converged`` is True when ADMM met its tolerance or HQS / DMSP finished their
    schedule, False when the iteration budget ran out or the callback stopped the run.
    ``sigma_n`` is the noise std the data term used (estimated when noise-blind).
    ``history`` holds one dict per iteration (``iteration``, ``change`` = relative
    change of the estimate, ``seconds``, plus solver-specific entries).
    """

    x: np.ndarray
    iterations: int
    converged: bool
    sigma_n: float
    history: list[dict[str, float]] = field(default_factory=list)


@dataclass
class Iterates:
    """What :func:`iterate` hands back to its solver."""

    x: np.ndarray
    history: list[dict[str, float]]
    met_tol: bool

    def result(self, model: ForwardModel, converged: bool, sigma_n: float) -> Result:
        """The user-facing :class:`Result`: the estimate on the output grid, in float32."""
        return Result(model.output(self.x).astype(np.float32), len(self.history), converged,
                      sigma_n, self.history)


def iterate(model: ForwardModel, x: np.ndarray, step: Step, iters: int,
            callback: Callback | None, tol: float = 0.0) -> Iterates:
    """The loop every solver shares: run ``step`` up to ``iters`` times from ``x``.

    Each iteration is timed and recorded (``iteration``, ``change``, ``seconds``, then
    the step's own entries); the callback sees the estimate on the output grid and may
    stop the run by returning False. With ``tol > 0`` the loop also stops once the
    relative change falls below it; the first iteration never counts, since a first
    data step can reproduce the starting point exactly (inpainting keeps its fill).
    """
    history: list[dict[str, float]] = []
    met_tol = False
    for it in range(1, iters + 1):
        started = time.perf_counter()
        previous = x
        x, extra = step(it, x)
        info = {"iteration": it, "change": relative_change(x, previous),
                "seconds": time.perf_counter() - started, **extra}
        history.append(info)
        met_tol = tol > 0 and it > 1 and info["change"] < tol
        stop = callback is not None and callback(it, model.output(x), info) is False
        if stop or met_tol:
            break
    return Iterates(x, history, met_tol)


def admm(
    y: np.ndarray,
    model: ForwardModel,
    denoiser: Denoiser,
    *,
    rho: float | None = None,
    denoiser_sigma: float = MAP_DENOISER_SIGMA,
    iters: int = 75,
    tol: float = ADMM_TOL,
    callback: Callback | None = None,
    x0: np.ndarray | None = None,
) -> Result:
    """Plug-and-play ADMM. ``rho`` defaults to ``1 / denoiser_sigma^2`` (module docstring).

    The denoiser is called with ``sigma = 1 / sqrt(rho)``. ``tol <= 0`` disables the
    early stop. ``x0`` (on the solver grid) replaces the model's starting point.
    """
    y = model.check(y)
    iters = positive_int(iters, "iters")
    if rho is None:
        if not denoiser_sigma > 0:
            raise InputError(f"denoiser_sigma must be positive, got {denoiser_sigma}")
        rho = default_rho(denoiser_sigma)
    if not (np.isfinite(rho) and rho > 0):
        raise InputError(f"ADMM penalty rho must be positive and finite, got {rho}")
    strength = 1.0 / np.sqrt(rho)
    x = start_estimate(model, y, x0)
    z, u = x.copy(), np.zeros_like(x)

    def step(_it: int, x: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        nonlocal z
        x = model.prox(z - u, y, rho, x)
        z = call_denoiser(denoiser, x + u, strength)
        u[...] += x - z
        return x, {}

    run = iterate(model, x, step, iters, callback, tol)
    return run.result(model, run.met_tol, model.sigma_n)


def hqs(
    y: np.ndarray,
    model: ForwardModel,
    denoiser: Denoiser,
    *,
    iters: int = 8,
    lam: float = HQS_LAMBDA,
    sigma_max: float = HQS_SIGMA_MAX,
    sigma_min: float = SIGMA_N_FLOOR,
    callback: Callback | None = None,
    x0: np.ndarray | None = None,
) -> Result:
    """Half-quadratic splitting with DPIR's decreasing denoiser schedule.

    ``sigma_k`` runs geometrically from ``sigma_max`` to ``max(sigma_n, sigma_min)``;
    iteration k solves the data step with ``rho_k = lam / sigma_k^2`` (DPIR's
    ``lam sigma_n^2 / sigma_k^2`` for the un-normalised data term) and denoises at
    ``sigma_k``. The result is the last denoiser output, as in DPIR.
    """
    y = model.check(y)
    iters = positive_int(iters, "iters")
    if not (lam > 0 and sigma_max > 0 and sigma_min > 0):
        raise InputError("lam, sigma_max and sigma_min must be positive")
    end = max(model.sigma_n, sigma_min)
    sigmas = np.geomspace(max(sigma_max, end), end, iters)

    def step(it: int, x: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        sigma_k = float(sigmas[it - 1])
        rho_k = lam / sigma_k**2
        x = call_denoiser(denoiser, model.prox(x, y, rho_k, x), sigma_k)
        return x, {"sigma": sigma_k, "rho": float(rho_k)}

    run = iterate(model, start_estimate(model, y, x0), step, iters, callback)
    return run.result(model, len(run.history) == iters, model.sigma_n)


def call_denoiser(denoiser: Denoiser, v: np.ndarray, sigma: float) -> np.ndarray:
    """Run a denoiser on a float64 iterate and check what comes back."""
    out = np.asarray(denoiser(v.astype(np.float32), sigma))
    if out.shape != v.shape:
        raise InputError(f"denoiser returned shape {out.shape} for an input of shape {v.shape}")
    if not np.all(np.isfinite(out)):
        raise InputError("denoiser returned NaN or infinite values")
    return out.astype(np.float64)


def relative_change(x: np.ndarray, previous: np.ndarray) -> float:
    """``||x - previous|| / ||previous||``, the early-stopping measure."""
    return float(np.linalg.norm(x - previous) / max(np.linalg.norm(previous), 1e-12))


def start_estimate(model: ForwardModel, y: np.ndarray, x0: np.ndarray | None) -> np.ndarray:
    """``x0`` (checked against the solver grid) or the model's own starting point."""
    if x0 is None:
        return model.init(y)
    x0 = observation(x0, "initial estimate x0")
    if x0.shape != model.grid_shape(y):
        raise InputError(
            f"initial estimate x0 has shape {x0.shape}, the solver grid is "
            f"{model.grid_shape(y)}"
        )
    return x0
