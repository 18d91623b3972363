"""Laine et al. 2019's Gaussian prior head: training loss and Bayesian denoising step.

The blind-spot network outputs, per pixel, a Gaussian prior ``N(mu_x, Sigma_x)``
over the clean value given the neighbourhood. Training maximises the likelihood
of the *noisy* pixel under prior convolved with noise, ``N(y; mu_x, Sigma_x +
Sigma_n)``, which needs no clean data; inference folds the noisy pixel back in
with Bayes' rule (:func:`posterior_mean`). The raw layout, eps and noise floor
are defined once in :mod:`edgerestore.runtime.bayes` (numpy, on-device) and
imported here so the trained head and the runtime cannot disagree.

Everything is computed in float64, as in Laine's code: ``Sigma_x`` is a product
``U U^T`` of network outputs and is often nearly singular, which float32 solves
and log-determinants handle poorly. Results are cast back to the input dtype.

Noise models (``param`` is one value per image: a float, shape [B] or [B,1,1,1],
or any tensor broadcastable to [B,C,H,W]):

* ``"gauss"``: ``param`` is the noise variance sigma^2, ``Sigma_n = sigma^2 I``.
* ``"poisson"``: ``param`` is lambda (photons at full scale) and, following
  Laine's Hasinoff-style approximation, ``Sigma_n = diag(max(mu_x, 1e-3) / lambda)``.
  The 1e-3 floor is Laine's: a zero variance would make the Gaussian degenerate.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor

from edgerestore.errors import InputError
from edgerestore.runtime.bayes import COV_EPS, NOISE_VAR_FLOOR, channels_for_outputs

NoiseModel = Literal["gauss", "poisson"]
#: Laine's floor on the signal level in the Poisson variance ``mu_x / lambda``.
POISSON_SIGNAL_FLOOR = 1e-3


def out_channels_for(channels: int) -> int:
    """Raw head outputs for an image with ``channels`` channels (1 -> 2, 3 -> 9)."""
    if channels not in (1, 3):
        raise InputError(f"the Gaussian head supports 1 or 3 channels, got {channels}")
    return channels + channels * (channels + 1) // 2


def split_prior(raw: Tensor, channels: int) -> tuple[Tensor, Tensor]:
    """Split a raw [B,K,H,W] output into ``mu_x`` [B,C,H,W] and ``Sigma_x`` [B,H,W,C,C].

    ``Sigma_x = U U^T`` with ``U`` upper-triangular, filled row-major from the last
    ``K - C`` outputs (Laine's layout); for gray this is the squared raw value.
    No eps is added here; the consumers add it where they need invertibility.
    """
    if raw.ndim != 4 or raw.shape[1] != out_channels_for(channels):
        raise InputError(
            f"raw head output must be [B,{out_channels_for(channels)},H,W] for "
            f"{channels} channels, got {list(raw.shape)}"
        )
    mean = raw[:, :channels]
    entries = raw[:, channels:].permute(0, 2, 3, 1)
    rows, cols = torch.triu_indices(channels, channels, device=raw.device)
    upper = entries.new_zeros(*entries.shape[:-1], channels, channels)
    upper[..., rows, cols] = entries
    return mean, upper @ upper.transpose(-1, -2)


def prior_mean(raw: Tensor) -> Tensor:
    """The prior mean ``mu_x`` (the denoised image if the noisy pixel is ignored)."""
    return raw[:, : channels_for_outputs(raw.shape[1])]


def noise_variance(mean: Tensor, param: Tensor | float, noise_model: NoiseModel) -> Tensor:
    """Per-pixel diagonal noise variance, broadcastable to ``mean`` [B,C,H,W], float64."""
    param = torch.as_tensor(param, dtype=torch.float64, device=mean.device)
    if param.ndim == 1:
        param = param.view(-1, 1, 1, 1)
    if noise_model == "gauss":
        var = param
    elif noise_model == "poisson":
        var = mean.double().clamp_min(POISSON_SIGNAL_FLOOR) / param
    else:
        raise InputError(f"noise_model must be 'gauss' or 'poisson', got {noise_model!r}")
    return var.clamp_min(NOISE_VAR_FLOOR)


def _prepare(
    raw: Tensor, noisy: Tensor, param: Tensor | float, noise_model: NoiseModel
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """float64 ``(mu_x, Sigma_x, Sigma_n, y)``; matrices [B,H,W,C,C], vectors [B,H,W,C]."""
    channels = noisy.shape[1]
    mean, sigma_x = split_prior(raw.double(), channels)
    var_n = noise_variance(mean, param, noise_model).expand_as(mean)
    eye = torch.eye(channels, dtype=torch.float64, device=raw.device)
    sigma_n = var_n.permute(0, 2, 3, 1)[..., None] * eye
    as_vector = (0, 2, 3, 1)
    return mean.permute(as_vector), sigma_x, sigma_n, noisy.double().permute(as_vector)


def nll_loss(
    raw: Tensor,
    noisy: Tensor,
    param: Tensor | float,
    noise_model: NoiseModel = "gauss",
    reduction: Literal["mean", "none"] = "mean",
) -> Tensor:
    """``-log N(y; mu_x, Sigma_x + Sigma_n)`` per pixel, including the ``2 pi`` constant.

    ``reduction="none"`` returns the [B,H,W] map. Unlike Laine's code (which drops
    the constant and, for gray, doubles the loss) this is the exact negative
    log-likelihood, so gray and RGB losses are on the same scale; the gradients
    are the same up to that factor. Sigma_y is positive definite because the
    noise variance is floored, so a Cholesky factorisation is safe.
    """
    mean, sigma_x, sigma_n, y = _prepare(raw, noisy, param, noise_model)
    chol = torch.linalg.cholesky(sigma_x + sigma_n)
    white = torch.linalg.solve_triangular(chol, (y - mean)[..., None], upper=False)[..., 0]
    log_det = 2.0 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)
    nll = 0.5 * (white.square().sum(-1) + log_det + y.shape[-1] * math.log(2.0 * math.pi))
    nll = nll.to(raw.dtype)
    return nll.mean() if reduction == "mean" else nll


def posterior_mean(
    raw: Tensor, noisy: Tensor, param: Tensor | float, noise_model: NoiseModel = "gauss"
) -> Tensor:
    """Posterior mean of the clean image [B,C,H,W]: Laine's denoised output.

    Gain form ``mu_x + Sigma_x (Sigma_x + Sigma_n)^-1 (y - mu_x)`` with
    ``Sigma_x + eps I``; algebraically equal to the information form
    ``(Sigma_x^-1 + Sigma_n^-1)^-1 (Sigma_x^-1 mu_x + Sigma_n^-1 y)``.
    """
    mean, sigma_x, sigma_n, y = _prepare(raw, noisy, param, noise_model)
    eye = torch.eye(y.shape[-1], dtype=torch.float64, device=raw.device)
    sigma_x = sigma_x + COV_EPS * eye
    gain_rhs = torch.linalg.solve(sigma_x + sigma_n, (y - mean)[..., None])
    out = mean + (sigma_x @ gain_rhs)[..., 0]
    return out.permute(0, 3, 1, 2).to(raw.dtype)
