"""Bayesian denoising step of Laine et al. 2019 in numpy, for the on-device runtime.

A blind-spot network never sees the pixel it predicts, so its raw output is a
Gaussian *prior* ``N(mu_x, Sigma_x)`` over the clean pixel given its neighbours.
The noisy pixel ``y = x + n`` with ``n ~ N(0, Sigma_n)`` is then folded in with
Bayes' rule; the posterior mean is the denoised value. That last step is cheap,
per-pixel math, so it runs here in numpy instead of inside the exported network.

Raw output layout, shared with :mod:`edgerestore.models.gaussian_head` (which
imports the constants below so the two cannot drift apart):

* ``C`` channel means, then ``C(C+1)/2`` entries of an upper-triangular ``U``
  in row-major order (``np.triu_indices``), and ``Sigma_x = U U^T``. This is the
  order Laine's released code uses (its paper writes ``A^T A``; with ``A = U^T``
  it is the same matrix), so their trained heads map one to one.
* RGB: 3 + 6 = 9 values; grayscale: 1 + 1 = 2 values, variance ``a^2`` (Laine's
  code squares the raw value rather than applying softplus).

The posterior mean is computed in the gain form
``mu_x + Sigma_x (Sigma_x + Sigma_n)^-1 (y - mu_x)``, which equals Laine's
``(Sigma_x^-1 + Sigma_n^-1)^-1 (Sigma_x^-1 mu_x + Sigma_n^-1 y)`` but needs one
solve instead of three inverses and stays finite when ``Sigma_x`` is singular.
"""

from __future__ import annotations

import numpy as np

from edgerestore.errors import InputError

#: A blind-spot model's output modes: the posterior mean with the known noise level,
#: with an estimated level, or the prior mean alone.
OUTPUT_MODES = ("posterior", "estimated", "prior")

#: Added to the diagonal of Sigma_x before use (Laine's ``Ieps``).
COV_EPS = 1e-6
#: Lower bound on the noise variance (Laine clamps the noise std at 1e-3).
NOISE_VAR_FLOOR = 1e-6
#: Raw output count -> image channels.
CHANNELS_FOR_OUTPUTS = {2: 1, 9: 3}


def channels_for_outputs(outputs: int) -> int:
    """Image channels whose Gaussian prior takes ``outputs`` raw values (2 -> 1, 9 -> 3)."""
    if outputs not in CHANNELS_FOR_OUTPUTS:
        raise InputError(
            f"a Gaussian prior head has 2 (gray) or 9 (RGB) outputs, got {outputs}"
        )
    return CHANNELS_FOR_OUTPUTS[outputs]


def prior_mean(raw: np.ndarray) -> np.ndarray:
    """The prior mean ``mu_x`` (HxWxC) from a raw HxWxK head output."""
    raw = np.asarray(raw)
    return raw[..., : channels_for_outputs(raw.shape[-1])]


def prior_covariance(raw: np.ndarray) -> np.ndarray:
    """``Sigma_x = U U^T`` (HxWxCxC) from a raw HxWxK head output, without the eps."""
    raw = np.asarray(raw, dtype=np.float64)
    c = channels_for_outputs(raw.shape[-1])
    upper = np.zeros((*raw.shape[:-1], c, c))
    rows, cols = np.triu_indices(c)
    upper[..., rows, cols] = raw[..., c:]
    return upper @ np.swapaxes(upper, -1, -2)


def posterior_mean(
    raw: np.ndarray, noisy: np.ndarray, noise_var: float | np.ndarray
) -> np.ndarray:
    """Per-pixel posterior mean of the clean image (HxWxC, float64).

    ``noise_var`` is the Gaussian noise variance in the image's units: a float, or
    an array broadcastable to HxWxC (per-pixel variances, e.g. ``mu_x / lambda``
    for Laine's Poisson approximation). It is floored at :data:`NOISE_VAR_FLOOR`.
    """
    raw = np.asarray(raw, dtype=np.float64)
    noisy = np.asarray(noisy, dtype=np.float64)
    mean = prior_mean(raw)
    if noisy.shape != mean.shape:
        raise InputError(f"noisy image {noisy.shape} does not match the prior {mean.shape}")
    c = mean.shape[-1]
    var_n = np.maximum(np.broadcast_to(np.asarray(noise_var, np.float64), mean.shape),
                       NOISE_VAR_FLOOR)
    sigma_x = prior_covariance(raw) + COV_EPS * np.eye(c)
    sigma_y = sigma_x + var_n[..., None] * np.eye(c)
    gain_rhs = np.linalg.solve(sigma_y, (noisy - mean)[..., None])
    return mean + (sigma_x @ gain_rhs)[..., 0]
