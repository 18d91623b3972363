"""Forward models ``y = A x + n``: what a restoration task observes, and its data term.

A forward model knows its operator ``A`` (:meth:`~ForwardModel.apply`), the adjoint
``A^T`` (:meth:`~ForwardModel.adjoint`) and the proximal operator of its data term
``||A x - y||^2 / (2 sigma_n^2)`` (:meth:`~ForwardModel.prox`), which is all a
splitting solver needs (the idea of DeepInverse's ``physics``). The base class solves
that prox iteratively, by conjugate gradients on the normal equations, so a new model
only has to provide ``apply`` and ``adjoint`` to work with every solver; the models
here override it with their closed forms. Blur and super-resolution models are in
:mod:`edgerestore.runtime.forward_blur`.

Images are HxWxC float arrays (HxW is read as C = 1) in [0, 1] intensity units.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np

from edgerestore.errors import InputError
from edgerestore.runtime.blur import apply_otf
from edgerestore.runtime.image_io import check_unit_range, validate_image_array

__all__ = ["Denoising", "ForwardModel", "Inpainting", "conjugate_gradient", "observation",
           "positive_int"]


class ForwardModel(ABC):
    """A linear forward model ``y = A x + n`` with Gaussian noise of std ``sigma_n``.

    Subclasses implement :meth:`apply` and :meth:`adjoint`; they override :meth:`prox`
    when the data step has a closed form, and the hooks (:meth:`check`,
    :meth:`grid_shape`, :meth:`init`, :meth:`output`) when the estimate lives on a
    different grid from the observation.
    """

    #: Budget and stopping point (residual norm relative to the right-hand side's) of
    #: the conjugate-gradient prox.
    cg_iters = 100
    cg_tol = 1e-6

    def __init__(self, sigma_n: float) -> None:
        if not (np.isfinite(sigma_n) and sigma_n > 0):
            raise InputError(f"noise level sigma_n must be positive and finite, got {sigma_n}")
        self.sigma_n = float(sigma_n)

    def check(self, y: np.ndarray) -> np.ndarray:
        """Validate an observation; return it as float64 HxWxC."""
        return observation(y)

    def grid_shape(self, y: np.ndarray) -> tuple[int, ...]:
        """Shape of the estimate the solver iterates on."""
        return y.shape

    def init(self, y: np.ndarray) -> np.ndarray:
        """Starting estimate on the solver grid."""
        return y.copy()

    def output(self, x: np.ndarray) -> np.ndarray:
        """What the user gets from a solver-grid estimate."""
        return x

    @property
    def row_energy(self) -> float:
        """Mean squared row norm of ``A``: ``E||A eta||^2 = n_obs * row_energy * s^2``."""
        return 1.0

    def observed_size(self, y: np.ndarray) -> int:
        """Number of observed values in ``y`` (the data term's sample count)."""
        return y.size

    @abstractmethod
    def apply(self, x: np.ndarray) -> np.ndarray:
        """``A x``."""

    @abstractmethod
    def adjoint(self, r: np.ndarray) -> np.ndarray:
        """``A^T r``."""

    def prox(self, v: np.ndarray, y: np.ndarray, rho: float, current: np.ndarray) -> np.ndarray:
        """``argmin_x ||A x - y||^2 / (2 sigma_n^2) + rho/2 ||x - v||^2``.

        Solved here by conjugate gradients on ``(A^T A + alpha) x = A^T y + alpha v``
        (``alpha = rho sigma_n^2``), warm-started at ``current``, the solver's present
        estimate; subclasses replace it with a closed form when there is one.
        """
        alpha = rho * self.sigma_n**2
        return conjugate_gradient(lambda z: self.adjoint(self.apply(z)) + alpha * z,
                                  lambda r: r, self.adjoint(y) + alpha * v, current,
                                  self.cg_iters, self.cg_tol)


class Denoising(ForwardModel):
    """``A = I``: pure Gaussian denoising, so a fixed-strength denoiser can serve any level."""

    def apply(self, x: np.ndarray) -> np.ndarray:
        return x

    def adjoint(self, r: np.ndarray) -> np.ndarray:
        return r

    def prox(self, v: np.ndarray, y: np.ndarray, rho: float, current: np.ndarray) -> np.ndarray:
        alpha = rho * self.sigma_n**2
        return (y + alpha * v) / (1.0 + alpha)


class Inpainting(ForwardModel):
    """``y = M x``: only pixels where ``mask`` is True (or 1) were observed.

    ``mask`` is HxW or HxWx1 (same for all channels) or HxWxC (per channel, which
    also covers colour-filter-array demosaicing). The x-step is per pixel.
    """

    def __init__(self, mask: np.ndarray, sigma_n: float) -> None:
        super().__init__(sigma_n)
        self.mask = _check_mask(mask)

    def check(self, y: np.ndarray) -> np.ndarray:
        y = observation(y)
        mh, mw, mc = self.mask.shape
        if (mh, mw) != y.shape[:2] or mc not in (1, y.shape[2]):
            raise InputError(f"mask shape {self.mask.shape} does not match the image {y.shape}")
        return y * self.mask

    def init(self, y: np.ndarray) -> np.ndarray:
        return _fill_missing(y, self.mask)

    def observed_size(self, y: np.ndarray) -> int:
        return int(np.broadcast_to(self.mask, y.shape).sum())

    def apply(self, x: np.ndarray) -> np.ndarray:
        return x * self.mask

    def adjoint(self, r: np.ndarray) -> np.ndarray:
        return r * self.mask

    def prox(self, v: np.ndarray, y: np.ndarray, rho: float, current: np.ndarray) -> np.ndarray:
        alpha = rho * self.sigma_n**2
        return (y * self.mask + alpha * v) / (self.mask + alpha)


def conjugate_gradient(normal: Callable[[np.ndarray], np.ndarray],
                       precondition: Callable[[np.ndarray], np.ndarray], rhs: np.ndarray,
                       x: np.ndarray, iters: int, tol: float) -> np.ndarray:
    """Preconditioned CG for ``normal(x) = rhs`` (symmetric positive definite), from ``x``.

    Written out because scipy's ``cg`` would need a flattened LinearOperator and scipy
    itself, which the device runtime does not install. It stops when the preconditioned
    residual norm falls below ``tol`` times that of ``rhs``.
    """
    r = rhs - normal(x)
    z = precondition(r)
    p = z.copy()
    rz = float(np.vdot(r, z))
    stop = tol**2 * float(np.vdot(rhs, precondition(rhs)))
    for _ in range(iters):
        if rz <= stop:
            break
        q = normal(p)
        step = rz / float(np.vdot(p, q))
        x = x + step * p
        r = r - step * q
        z = precondition(r)
        rz, previous = float(np.vdot(r, z)), rz
        p = z + (rz / previous) * p
    return x


def observation(y: np.ndarray, what: str = "observation") -> np.ndarray:
    """``y`` validated as an image array in [0, 1] units, as float64 HxWxC.

    This is where a caller's image enters every solver, so the intensity range is
    checked here (a 0-255 array would be restored as garbage) and not on the denoiser
    calls inside the loop, whose iterates legitimately leave [0, 1].
    """
    y = validate_image_array(y, what)
    check_unit_range(y, what)
    return y.astype(np.float64)


def positive_int(value: int, name: str) -> int:
    """``value`` as an int, or an :class:`InputError` naming ``name`` (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_mask(mask: np.ndarray) -> np.ndarray:
    m = np.asarray(mask)
    if m.ndim == 2:
        m = m[:, :, None]
    if m.ndim != 3:
        raise InputError(f"mask must be HxW or HxWxC, got shape {m.shape}")
    if m.dtype != bool:
        if not (np.issubdtype(m.dtype, np.integer) or np.issubdtype(m.dtype, np.floating)):
            raise InputError(f"mask must be boolean or 0/1 numbers, got dtype {m.dtype}")
        if not np.all(np.isin(m, (0, 1))):
            raise InputError("mask values must be 0 or 1 (1 / True = observed pixel)")
    m = m.astype(np.float64)
    if not m.any():
        raise InputError("mask marks no pixel as observed")
    return m


def _fill_missing(y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Fill unobserved pixels by normalised convolution at doubling Gaussian widths.

    Each hole takes the distance-weighted mean of the nearest observed pixels: a
    smooth, numpy-only stand-in for the median inpainting the authors start from.
    """
    observed = np.broadcast_to(mask, y.shape) > 0
    out = np.where(observed, y, 0.0)
    todo = ~observed
    h, w = y.shape[:2]
    freq2 = np.fft.fftfreq(h)[:, None] ** 2 + np.fft.fftfreq(w)[None, :] ** 2
    width = 1.0
    while todo.any() and width < 2 * max(h, w):
        gauss = np.exp(-2.0 * (np.pi * width) ** 2 * freq2)  # transfer function, std = width
        num = apply_otf(np.where(observed, y, 0.0), gauss)
        den = apply_otf(observed.astype(np.float64), gauss)
        ready = todo & (den > 1e-3)
        out[ready] = num[ready] / den[ready]
        todo &= ~ready
        width *= 2.0
    out[todo] = y[observed].mean()
    return out
