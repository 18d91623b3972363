"""Deep Mean-Shift Priors (Bigdeli, Jin, Favaro & Zwicker, NIPS 2017), the baseline.

DMSP minimises the Bayes risk of the estimate under a Gaussian-smoothed image prior
by stochastic gradient descent with momentum. A denoising autoencoder ``dae``
trained at noise ``sigma_dae`` gives the prior gradient through its mean-shift
vector ``dae(v) - v = sigma_dae^2 grad log p_s(v)`` (``p_s``: the prior smoothed by
the training noise). With fresh ``eta ~ N(0, sigma_dae^2)`` each iteration,
``(x - dae(x + eta)) / sigma_dae^2`` is an unbiased sample of the gradient of the
utility's prior term ``-E_eta[log p_s(x + eta)]``. The data gradient is
``A^T (A x - y) / sigma_n^2``.

As in the authors' releases (MATLAB and TensorFlow ``DMSPDeblur``), the two
gradients are combined with weights that sum to one,
``w = (1/sigma_n^2) / (1/sigma_n^2 + 1/sigma_dae^2)``, i.e. the full gradient is
divided by the total precision; that makes the step length ``alpha = 0.1`` and the
momentum ``mu = 0.9`` independent of the noise level and of the intensity scale
(so their [0, 255] defaults carry over to our [0, 1] units unchanged). After each
step the estimate is clipped to [0, 1]; 300 iterations is the MATLAB default.

Noise-blind mode replaces ``1/sigma_n^2`` every iteration by the releases' estimate
``lambda = n / (||A x - y||^2 + n * 2 sigma_dae^2 * ||k||^2)`` (``n`` observed
values, ``||k||^2`` the mean squared row norm of ``A``): the inverse of the mean
squared residual, inflated by the residual that the prior's smoothing noise causes
through the blur (the factor 2 is the releases'). ``Result.sigma_n`` reports
``1 / sqrt(lambda)`` of the last iteration, which therefore exceeds the true noise
level (in quadrature, by ``sigma_dae * ||k|| * sqrt(2)``). The starting point is the
forward model's (for blur: the edge-replicated, edge-tapered observation; the releases
only replicate the edges). The loop itself is :func:`edgerestore.runtime.solvers.iterate`,
shared with ADMM and HQS.
"""

from __future__ import annotations

import numpy as np

from edgerestore.errors import InputError
from edgerestore.runtime.denoiser_protocol import Denoiser
from edgerestore.runtime.forward import ForwardModel, positive_int
from edgerestore.runtime.forward_blur import blur_model
from edgerestore.runtime.presets import DMSP_ALPHA, DMSP_ITERS, DMSP_MU, MAP_DENOISER_SIGMA
from edgerestore.runtime.solvers import Callback, Result, call_denoiser, iterate, start_estimate
from edgerestore.runtime.tasks import noise_level

__all__ = ["dmsp", "dmsp_deblur"]


def dmsp(
    y: np.ndarray,
    model: ForwardModel,
    dae: Denoiser,
    *,
    sigma_dae: float = MAP_DENOISER_SIGMA,
    noise_blind: bool = False,
    iters: int = DMSP_ITERS,
    mu: float = DMSP_MU,
    alpha: float = DMSP_ALPHA,
    seed: int = 0,
    callback: Callback | None = None,
    x0: np.ndarray | None = None,
) -> Result:
    """Run DMSP on any :class:`~edgerestore.runtime.forward.ForwardModel`.

    ``noise_blind`` ignores ``model.sigma_n`` and estimates the data precision each
    iteration. ``seed`` fixes the DAE input noise, so runs are reproducible. ``converged``
    is True when all ``iters`` iterations ran (there is no tolerance: the iterates are
    stochastic). ``sigma_dae`` defaults to the authors' DAE training level, 11/255.
    """
    y = model.check(y)
    iters = positive_int(iters, "iters")
    if not (sigma_dae > 0 and alpha > 0 and 0 <= mu < 1):
        raise InputError("DMSP needs sigma_dae > 0, alpha > 0 and 0 <= mu < 1")
    rng = np.random.default_rng(seed)
    n_obs = model.observed_size(y)
    prior_precision = 1.0 / sigma_dae**2
    data_precision = 1.0 / model.sigma_n**2
    x = start_estimate(model, y, x0)
    velocity = np.zeros_like(x)

    def step(_it: int, x: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        nonlocal data_precision, velocity
        eta = rng.normal(0.0, sigma_dae, size=x.shape)
        prior_grad = x - call_denoiser(dae, x + eta, sigma_dae)
        residual = model.apply(x) - y
        squared_error = float(np.sum(residual**2))
        if noise_blind:
            smoothing = n_obs * 2.0 * sigma_dae**2 * model.row_energy
            data_precision = n_obs / (squared_error + smoothing)
        weight = data_precision / (data_precision + prior_precision)
        grad = weight * model.adjoint(residual) + (1.0 - weight) * prior_grad
        velocity = mu * velocity - alpha * grad
        x = np.clip(x + velocity, 0.0, 1.0)
        return x, {"residual_rms": float(np.sqrt(squared_error / n_obs)),
                   "sigma_n": float(1.0 / np.sqrt(data_precision))}

    run = iterate(model, x, step, iters, callback)
    return run.result(model, len(run.history) == iters, float(1.0 / np.sqrt(data_precision)))


def dmsp_deblur(
    y: np.ndarray,
    kernel: np.ndarray,
    dae: Denoiser,
    *,
    sigma_n: float | None = None,
    boundary: str = "same",
    sigma_dae: float = MAP_DENOISER_SIGMA,
    iters: int = DMSP_ITERS,
    mu: float = DMSP_MU,
    alpha: float = DMSP_ALPHA,
    seed: int = 0,
    callback: Callback | None = None,
) -> Result:
    """DMSP deblurring; ``sigma_n=None`` is the authors' noise-blind mode.

    ``boundary`` has the meaning of :func:`edgerestore.runtime.tasks.deblur`; the
    authors' code works on the valid part of the blur, as ``'valid'`` and ``'same'`` do.
    """
    # Noise-blind, the model's sigma_n (the wavelet estimate) is only a placeholder.
    model = blur_model(kernel, noise_level(y, sigma_n), boundary)
    return dmsp(y, model, dae, sigma_dae=sigma_dae, noise_blind=sigma_n is None, iters=iters,
                mu=mu, alpha=alpha, seed=seed, callback=callback)
