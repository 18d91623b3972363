"""Plug-and-play restoration: ADMM with a MAP denoiser (Bigdeli et al., VISAPP 2020) and HQS.

Every task is the MAP problem ``min_x ||A x - y||^2 / (2 sigma_n^2) + prior(x)`` in
[0, 1] intensity units, split so that a denoiser stands in for the prior:

* **ADMM** (Bigdeli, Honzatko, Suesstrunk & Dunbar, arXiv 1912.09299): the x-step is
  the data term's proximal operator ``argmin ||A x - y||^2/(2 sigma_n^2) +
  rho/2 ||x - (z - u)||^2``, solved in closed form by each :class:`Problem`; the
  z-step is the denoiser applied to ``x + u``; then ``u += x - z``. (The authors'
  release runs x, u, z in that order; we use the textbook x, z, u order, which has the
  same fixed points.) ``rho`` is fixed, there is no continuation.
* **HQS** (IRCNN / DPIR, Zhang et al.): no dual variable, and the denoiser strength
  decreases geometrically from ``sigma_max`` to the noise level, for denoisers that
  take the noise level as an input.

Penalty and denoiser strength. A Gaussian denoiser at noise std ``s`` is (for a MAP
denoiser exactly, for an MMSE one approximately) the proximal operator
``argmin_z prior(z) + ||z - v||^2 / (2 s^2)``, i.e. the ADMM z-step with
``rho = 1 / s^2``. The paper's MAP denoiser is trained at one fixed ``sigma_R`` with
the loss ``||D - R(D)||^2 / sigma_R^2 + (rho_D / 2) ||D - v||^2``, ``rho_D = 2 /
sigma_R^2``; its stationary point is that proximal operator with ``s = sigma_R``. So
the default penalty is ``rho = 1 / denoiser_sigma^2`` (the authors' code documents
"optimal rho = 1 / sigma_dae^2"), and the denoiser is always called with
``sigma = 1 / sqrt(rho)``. Moving ``rho`` away from that changes how hard the x-step
pulls towards the denoised image while a fixed-strength network keeps denoising at its
training level, so the two steps then optimise slightly different objectives; it is
still a useful knob (the release's deblurring example uses ``1 / (2 sigma^2)``).

Defaults and their sources: ADMM runs 75 iterations for deblurring and
super-resolution (the release's deblurring example), 100 for inpainting (its
inpainting example), 35 for denoising (the release's solver default), stopping early
when the relative change of ``x`` falls below ``tol = 1e-4``. HQS uses DPIR's
``lambda = 0.23``, ``sigma_max = 49/255``, 8 iterations (deblurring, denoising) or 24
(super-resolution, inpainting), the schedule ending at the noise level (DPIR: the
scale / 255 for super-resolution). ``MAP_DENOISER_SIGMA = 11/255`` is the training
noise of the authors' DMSP DAE and of the MAP denoiser examples.

Blur conventions (true convolution, kernel centre ``(kh // 2, kw // 2)``) are those of
:mod:`edgerestore.runtime.blur`. Images are HxWxC float arrays (HxW is read as C = 1).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from edgerestore.errors import InputError
from edgerestore.runtime.blur import (
    apply_otf,
    blur_valid,
    downsample,
    edgetaper,
    psf2otf,
    upsample_zeros,
    valid_margins,
)
from edgerestore.runtime.denoiser_protocol import Denoiser
from edgerestore.runtime.image_io import validate_image_array
from edgerestore.runtime.kernels import gaussian_kernel, validate_kernel
from edgerestore.runtime.sigma_estimate import estimate_sigma

__all__ = [
    "HQS_LAMBDA",
    "HQS_SIGMA_MAX",
    "MAP_DENOISER_SIGMA",
    "SIGMA_N_FLOOR",
    "CircularBlur",
    "Denoising",
    "Inpainting",
    "Problem",
    "Result",
    "SameBlur",
    "SuperResolution",
    "ValidBlur",
    "admm",
    "blur_problem",
    "deblur",
    "default_sr_kernel",
    "denoise",
    "hqs",
    "inpaint",
    "noise_level",
    "upscale",
]

#: Training noise (std, [0, 1] units) of the authors' DAE / MAP denoiser: 11/255.
MAP_DENOISER_SIGMA = 11.0 / 255.0
#: Smallest noise std used in a data term: about 8-bit quantisation noise. DPIR uses
#: the same floor; without one, noise-free data would get an infinite weight.
SIGMA_N_FLOOR = 0.255 / 255.0
#: DPIR's HQS trade-off and starting denoiser strength.
HQS_LAMBDA = 0.23
HQS_SIGMA_MAX = 49.0 / 255.0

#: ``callback(iteration, estimate, info)``; returning ``False`` stops the solver.
Callback = Callable[[int, np.ndarray, dict[str, float]], bool | None]


@dataclass
class Result:
    """A solver's output.

    ``converged`` is True when ADMM met its tolerance or HQS finished its schedule,
    False when the iteration budget ran out or the callback stopped the run.
    ``sigma_n`` is the noise std the data term used (estimated when noise-blind).
    ``history`` holds one dict per iteration (``iteration``, ``change`` = relative
    change of the estimate, ``seconds``, plus solver-specific entries).
    """

    x: np.ndarray
    iterations: int
    converged: bool
    sigma_n: float
    history: list[dict[str, float]] = field(default_factory=list)


# --------------------------------------------------------------------------- problems


class Problem(ABC):
    """A forward model ``y = A x + n`` with a closed-form data proximal step."""

    def __init__(self, sigma_n: float) -> None:
        if not (np.isfinite(sigma_n) and sigma_n > 0):
            raise InputError(f"noise level sigma_n must be positive and finite, got {sigma_n}")
        self.sigma_n = float(sigma_n)

    def check(self, y: np.ndarray) -> np.ndarray:
        """Validate an observation; return it as float64 HxWxC."""
        return _observation(y)

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

    @abstractmethod
    def prox(self, v: np.ndarray, y: np.ndarray, rho: float, current: np.ndarray) -> np.ndarray:
        """``argmin_x ||A x - y||^2 / (2 sigma_n^2) + rho/2 ||x - v||^2``.

        ``current`` is the solver's present estimate; only :class:`ValidBlur` uses it.
        """


class Denoising(Problem):
    """``A = I``: pure Gaussian denoising, so a fixed-strength denoiser can serve any level."""

    def apply(self, x: np.ndarray) -> np.ndarray:
        return x

    def adjoint(self, r: np.ndarray) -> np.ndarray:
        return r

    def prox(self, v: np.ndarray, y: np.ndarray, rho: float, current: np.ndarray) -> np.ndarray:
        alpha = rho * self.sigma_n**2
        return (y + alpha * v) / (1.0 + alpha)


class CircularBlur(Problem):
    """``y = k * x`` with periodic boundaries; the x-step is one FFT division."""

    def __init__(self, kernel: np.ndarray, sigma_n: float) -> None:
        super().__init__(sigma_n)
        self.kernel = validate_kernel(kernel)
        self._otfs: dict[tuple[int, int], np.ndarray] = {}

    def otf(self, shape: tuple[int, ...]) -> np.ndarray:
        """The kernel's OTF on an HxW grid, cached because every iteration needs it."""
        key = (int(shape[0]), int(shape[1]))
        if key not in self._otfs:
            self._otfs[key] = psf2otf(self.kernel, key)
        return self._otfs[key]

    def check(self, y: np.ndarray) -> np.ndarray:
        y = _observation(y)
        validate_kernel(self.kernel, y.shape)
        return y

    @property
    def row_energy(self) -> float:
        return float(np.sum(self.kernel**2))

    def apply(self, x: np.ndarray) -> np.ndarray:
        return apply_otf(x, self.otf(x.shape))

    def adjoint(self, r: np.ndarray) -> np.ndarray:
        return apply_otf(r, np.conj(self.otf(r.shape)))

    def prox(self, v: np.ndarray, y: np.ndarray, rho: float, current: np.ndarray) -> np.ndarray:
        return _fourier_solve(self.otf(v.shape), y, v, rho * self.sigma_n**2)


class ValidBlur(CircularBlur):
    """``y`` is the *valid* part of ``k * x``: ``x`` is ``k - 1`` pixels larger than ``y``.

    Real blur has no periodic boundary: pixels near the border of ``y`` saw scene
    content outside it. Following the authors' release, the estimate lives on the
    full grid, and each x-step fills the unobserved ring of an extended observation
    with the blur of the current estimate, then does the circular FFT solve. At a fixed
    point this is exactly the prox of the valid-only data term, and each step is a
    majorise-minimise step for it, so no periodic ringing is introduced. The starting
    point is the edge-replicated observation, edge-tapered.

    That step alone converges very slowly when ``rho * sigma_n^2`` is small (the ring
    is then held loosely): with a 35x25 DMSP kernel on a 256x256 image, 300 ADMM
    iterations left the interior 6 dB below the circular-blur result. So the trick's
    output is only the starting point of a few preconditioned conjugate-gradient steps
    on the exact normal equations ``(K^T M K + alpha) x = K^T M y + alpha v`` (``M``
    masks the observed pixels), preconditioned by the circular solve
    ``(K^T K + alpha)^-1``, which makes the x-step the exact prox ADMM assumes.
    """

    #: PCG budget per x-step and its stopping point (preconditioned residual norm,
    #: relative to that of the right-hand side).
    cg_iters = 25
    cg_tol = 1e-4

    def grid_shape(self, y: np.ndarray) -> tuple[int, ...]:
        kh, kw = self.kernel.shape
        return (y.shape[0] + kh - 1, y.shape[1] + kw - 1, *y.shape[2:])

    def _pad(self, y: np.ndarray, mode: str) -> np.ndarray:
        (top, bottom), (left, right) = valid_margins(self.kernel.shape)
        return np.pad(y, ((top, bottom), (left, right), (0, 0)), mode=mode)

    def _observed(self, shape: tuple[int, ...]) -> tuple[slice, slice]:
        (top, bottom), (left, right) = valid_margins(self.kernel.shape)
        return slice(top, shape[0] - bottom), slice(left, shape[1] - right)

    def init(self, y: np.ndarray) -> np.ndarray:
        return edgetaper(self._pad(y, "edge"), self.kernel)

    def apply(self, x: np.ndarray) -> np.ndarray:
        return blur_valid(x, self.kernel)

    def adjoint(self, r: np.ndarray) -> np.ndarray:
        padded = self._pad(r, "constant")
        return apply_otf(padded, np.conj(self.otf(padded.shape)))

    def prox(self, v: np.ndarray, y: np.ndarray, rho: float, current: np.ndarray) -> np.ndarray:
        otf, alpha = self.otf(v.shape), rho * self.sigma_n**2
        observed = self._observed(v.shape)
        extended = apply_otf(current, otf)  # guess for the unseen ring
        extended[observed] = y
        x = _fourier_solve(otf, extended, v, alpha)
        circular_inverse = 1.0 / (np.abs(otf) ** 2 + alpha)  # (K^T K + alpha)^-1, diagonal
        return _conjugate_gradient(
            lambda z: self.adjoint(apply_otf(z, otf)[observed]) + alpha * z,
            lambda r: apply_otf(r, circular_inverse),
            self.adjoint(y) + alpha * v, x, self.cg_iters, self.cg_tol)


class SameBlur(ValidBlur):
    """``y`` has the size of the image but its borders saw unknown outside content.

    That is a valid blur of a scene ``k - 1`` pixels larger, so it is solved exactly
    like :class:`ValidBlur` (the padded ring is unobserved) and the output is cropped
    back to the size of ``y``: top/left by ``(k - 1) // 2``, bottom/right by ``k // 2``.
    """

    def output(self, x: np.ndarray) -> np.ndarray:
        return x[self._observed(x.shape)]


class Inpainting(Problem):
    """``y = M x``: only pixels where ``mask`` is True (or 1) were observed.

    ``mask`` is HxW or HxWx1 (same for all channels) or HxWxC (per channel, which
    also covers colour-filter-array demosaicing). The x-step is per pixel.
    """

    def __init__(self, mask: np.ndarray, sigma_n: float) -> None:
        super().__init__(sigma_n)
        self.mask = _check_mask(mask)

    def check(self, y: np.ndarray) -> np.ndarray:
        y = _observation(y)
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


class SuperResolution(CircularBlur):
    """``y = (k * x)`` decimated by ``scale``, keeping pixels ``0, s, 2s, ...``.

    The x-step uses the closed form of Zhao et al. (IEEE TIP 2016): with
    ``alpha = rho sigma_n^2`` and ``b = A^T y + alpha v``, the Woodbury identity turns
    the solve into ``x = (b - K^T S^T (S K K^T S^T + alpha)^{-1} S K b) / alpha``, and
    ``S K K^T S^T`` is diagonal in the low-resolution Fourier domain: the average of
    ``|K|^2`` over the ``scale^2`` aliased frequency blocks.
    """

    def __init__(self, kernel: np.ndarray, scale: int, sigma_n: float) -> None:
        super().__init__(kernel, sigma_n)
        self.scale = positive_int(scale, "scale")

    def grid_shape(self, y: np.ndarray) -> tuple[int, ...]:
        return (y.shape[0] * self.scale, y.shape[1] * self.scale, *y.shape[2:])

    def check(self, y: np.ndarray) -> np.ndarray:
        y = _observation(y)
        validate_kernel(self.kernel, self.grid_shape(y))
        return y

    def init(self, y: np.ndarray) -> np.ndarray:
        return np.repeat(np.repeat(y, self.scale, axis=0), self.scale, axis=1)

    def apply(self, x: np.ndarray) -> np.ndarray:
        return downsample(super().apply(x), self.scale)

    def adjoint(self, r: np.ndarray) -> np.ndarray:
        return super().adjoint(upsample_zeros(r, self.scale))

    def prox(self, v: np.ndarray, y: np.ndarray, rho: float, current: np.ndarray) -> np.ndarray:
        s = self.scale
        alpha = rho * self.sigma_n**2
        otf = self.otf(v.shape).reshape(v.shape[:2] + (1,) * (v.ndim - 2))
        fb = np.fft.fft2(self.adjoint(y) + alpha * v, axes=(0, 1))
        low = _block_mean(otf * fb, s) / (_block_mean(np.abs(otf) ** 2, s) + alpha)
        fx = (fb - np.conj(otf) * np.tile(low, (s, s) + (1,) * (v.ndim - 2))) / alpha
        return np.fft.ifft2(fx, axes=(0, 1)).real


def _block_mean(spectrum: np.ndarray, scale: int) -> np.ndarray:
    """Average the ``scale x scale`` aliased blocks of a high-resolution spectrum."""
    h, w = spectrum.shape[0] // scale, spectrum.shape[1] // scale
    blocks = spectrum.reshape(scale, h, scale, w, *spectrum.shape[2:])
    return blocks.mean(axis=(0, 2))


def _fourier_solve(otf: np.ndarray, y: np.ndarray, v: np.ndarray, alpha: float) -> np.ndarray:
    """``argmin ||k * x - y||^2 + alpha ||x - v||^2`` for circular blur, in one division."""
    h, w = v.shape[:2]
    half = otf[:, : w // 2 + 1].reshape((h, w // 2 + 1) + (1,) * (v.ndim - 2))
    fy = np.fft.rfft2(y, axes=(0, 1))
    fv = np.fft.rfft2(v, axes=(0, 1))
    fx = (np.conj(half) * fy + alpha * fv) / (np.abs(half) ** 2 + alpha)
    return np.fft.irfft2(fx, s=(h, w), axes=(0, 1))


def _conjugate_gradient(normal: Callable[[np.ndarray], np.ndarray],
                        precondition: Callable[[np.ndarray], np.ndarray], rhs: np.ndarray,
                        x: np.ndarray, iters: int, tol: float) -> np.ndarray:
    """Preconditioned CG for ``normal(x) = rhs`` (symmetric positive definite), from ``x``.

    Written out because scipy's ``cg`` would need a flattened LinearOperator and scipy
    itself, which the device runtime does not install.
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


# --------------------------------------------------------------------------- helpers


def _observation(y: np.ndarray, what: str = "observation") -> np.ndarray:
    return validate_image_array(y, what).astype(np.float64)


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


def noise_level(y: np.ndarray, sigma_n: float | None) -> float:
    """The data term's noise std: ``sigma_n``, or estimated from ``y`` when None.

    Noise-blind mode uses the wavelet MAD estimator: blur removes the fine-scale image
    content it relies on, so it reads the noise of a blurred picture well. The result
    is floored at :data:`SIGMA_N_FLOOR`.
    """
    if sigma_n is None:
        sigma_n = estimate_sigma(_observation(y))
    elif not (np.isfinite(sigma_n) and sigma_n >= 0):
        raise InputError(f"noise level sigma_n must be finite and >= 0, got {sigma_n}")
    return max(float(sigma_n), SIGMA_N_FLOOR)


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


def start_estimate(problem: Problem, y: np.ndarray, x0: np.ndarray | None) -> np.ndarray:
    """``x0`` (checked against the solver grid) or the problem's own starting point."""
    if x0 is None:
        return problem.init(y)
    x0 = _observation(x0, "initial estimate x0")
    if x0.shape != problem.grid_shape(y):
        raise InputError(
            f"initial estimate x0 has shape {x0.shape}, the solver grid is "
            f"{problem.grid_shape(y)}"
        )
    return x0


def positive_int(value: int, name: str) -> int:
    """``value`` as an int, or an :class:`InputError` naming ``name`` (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


# --------------------------------------------------------------------------- solvers


def admm(
    y: np.ndarray,
    problem: Problem,
    denoiser: Denoiser,
    *,
    rho: float | None = None,
    denoiser_sigma: float = MAP_DENOISER_SIGMA,
    iters: int = 75,
    tol: float = 1e-4,
    callback: Callback | None = None,
    x0: np.ndarray | None = None,
) -> Result:
    """Plug-and-play ADMM. ``rho`` defaults to ``1 / denoiser_sigma^2`` (module docstring).

    The denoiser is called with ``sigma = 1 / sqrt(rho)``. ``tol <= 0`` disables the
    early stop. ``x0`` (on the solver grid) replaces the problem's starting point.
    """
    y = problem.check(y)
    iters = positive_int(iters, "iters")
    if rho is None:
        if not denoiser_sigma > 0:
            raise InputError(f"denoiser_sigma must be positive, got {denoiser_sigma}")
        rho = 1.0 / denoiser_sigma**2
    if not (np.isfinite(rho) and rho > 0):
        raise InputError(f"ADMM penalty rho must be positive and finite, got {rho}")
    strength = 1.0 / np.sqrt(rho)
    x = start_estimate(problem, y, x0)
    z, u = x.copy(), np.zeros_like(x)
    history: list[dict[str, float]] = []
    converged = False
    for it in range(1, iters + 1):
        started = time.perf_counter()
        previous = x
        x = problem.prox(z - u, y, rho, previous)
        z = call_denoiser(denoiser, x + u, strength)
        u += x - z
        info = {
            "iteration": it,
            "change": relative_change(x, previous),
            "seconds": time.perf_counter() - started,
        }
        history.append(info)
        # The first x-step can reproduce the starting point exactly (inpainting keeps
        # the filled init), so only changes between two ADMM iterates count.
        converged = tol > 0 and it > 1 and info["change"] < tol
        if _stop_requested(callback, it, problem.output(x), info) or converged:
            break
    return Result(_image(problem.output(x)), len(history), converged, problem.sigma_n, history)


def hqs(
    y: np.ndarray,
    problem: Problem,
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
    y = problem.check(y)
    iters = positive_int(iters, "iters")
    if not (lam > 0 and sigma_max > 0 and sigma_min > 0):
        raise InputError("lam, sigma_max and sigma_min must be positive")
    end = max(problem.sigma_n, sigma_min)
    sigmas = np.geomspace(max(sigma_max, end), end, iters)
    x = start_estimate(problem, y, x0)
    history: list[dict[str, float]] = []
    for it, sigma_k in enumerate(sigmas, start=1):
        started = time.perf_counter()
        previous = x
        rho_k = lam / sigma_k**2
        x = call_denoiser(denoiser, problem.prox(x, y, rho_k, x), float(sigma_k))
        info = {
            "iteration": it,
            "change": relative_change(x, previous),
            "seconds": time.perf_counter() - started,
            "sigma": float(sigma_k),
            "rho": float(rho_k),
        }
        history.append(info)
        if _stop_requested(callback, it, problem.output(x), info):
            break
    done = len(history) == iters
    return Result(_image(problem.output(x)), len(history), done, problem.sigma_n, history)


def _stop_requested(callback: Callback | None, it: int, x: np.ndarray, info: dict) -> bool:
    return callback is not None and callback(it, x, info) is False


def _image(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32)


# --------------------------------------------------------------------------- tasks

_BOUNDARIES: dict[str, type[CircularBlur]] = {
    "circular": CircularBlur, "valid": ValidBlur, "same": SameBlur,
}


def blur_problem(kernel: np.ndarray, sigma_n: float, boundary: str) -> CircularBlur:
    """The blur :class:`Problem` for a boundary name: 'circular', 'valid' or 'same'."""
    if boundary not in _BOUNDARIES:
        raise InputError(f"boundary must be one of {sorted(_BOUNDARIES)}, got {boundary!r}")
    return _BOUNDARIES[boundary](kernel, sigma_n)


def _run(
    method: str,
    y: np.ndarray,
    problem: Problem,
    denoiser: Denoiser,
    *,
    iters: int | None,
    default_iters: tuple[int, int],
    rho: float | None,
    denoiser_sigma: float,
    lam: float,
    tol: float,
    callback: Callback | None,
    sigma_min: float = SIGMA_N_FLOOR,
) -> Result:
    """Dispatch a task to :func:`admm` or :func:`hqs`; ``default_iters`` = (ADMM, HQS)."""
    if method == "admm":
        return admm(y, problem, denoiser, rho=rho, denoiser_sigma=denoiser_sigma,
                    iters=default_iters[0] if iters is None else iters, tol=tol,
                    callback=callback)
    if method == "hqs":
        return hqs(y, problem, denoiser, iters=default_iters[1] if iters is None else iters,
                   lam=lam, sigma_min=sigma_min, callback=callback)
    raise InputError(f"method must be 'admm' or 'hqs', got {method!r}")


def deblur(
    y: np.ndarray,
    kernel: np.ndarray,
    denoiser: Denoiser,
    *,
    sigma_n: float | None = None,
    boundary: str = "same",
    method: str = "admm",
    iters: int | None = None,
    rho: float | None = None,
    denoiser_sigma: float = MAP_DENOISER_SIGMA,
    lam: float = HQS_LAMBDA,
    tol: float = 1e-4,
    callback: Callback | None = None,
) -> Result:
    """Non-blind deblurring of ``y`` blurred by ``kernel`` (true convolution).

    ``boundary``: ``'same'`` (default; ``y`` is a photo whose borders saw content
    outside the frame; output has the size of ``y``), ``'valid'`` (``y`` is the valid
    part of the blur; the output is the full scene, ``k - 1`` pixels larger) or
    ``'circular'`` (synthetic periodic blur). ``sigma_n=None`` estimates the noise from
    ``y``. ``iters`` defaults to 75 (ADMM) or 8 (HQS). ``rho``, ``denoiser_sigma`` and
    ``tol`` only affect ADMM, ``lam`` only HQS (see :func:`admm` and :func:`hqs`).
    """
    y = _observation(y)
    problem = blur_problem(kernel, noise_level(y, sigma_n), boundary)
    return _run(method, y, problem, denoiser, iters=iters, default_iters=(75, 8), rho=rho,
                denoiser_sigma=denoiser_sigma, lam=lam, tol=tol, callback=callback)


def inpaint(
    y: np.ndarray,
    mask: np.ndarray,
    denoiser: Denoiser,
    *,
    sigma_n: float = 0.01,
    method: str = "admm",
    iters: int | None = None,
    rho: float | None = None,
    denoiser_sigma: float = MAP_DENOISER_SIGMA,
    lam: float = HQS_LAMBDA,
    tol: float = 1e-4,
    callback: Callback | None = None,
) -> Result:
    """Fill the pixels where ``mask`` is False (0); observed pixels carry noise ``sigma_n``.

    The noise level is not estimated here (holes defeat the wavelet estimator); the
    default 0.01 is the authors' inpainting example. ``iters``: 100 (ADMM) or 24 (HQS);
    the other options as in :func:`deblur`.
    """
    if sigma_n is None:
        raise InputError("inpainting needs sigma_n: holes defeat the noise estimator")
    y = _observation(y)
    problem = Inpainting(mask, noise_level(y, sigma_n))
    return _run(method, y, problem, denoiser, iters=iters, default_iters=(100, 24), rho=rho,
                denoiser_sigma=denoiser_sigma, lam=lam, tol=tol, callback=callback)


def default_sr_kernel(scale: int) -> np.ndarray:
    """Gaussian anti-aliasing kernel with std ``scale / 2`` (7x7 at x2, 13x13 at x4).

    Close to the Gaussian blur of IRCNN's super-resolution setting (std 1.6 at x3), and
    centred on the kept pixel, matching decimation that starts at pixel 0.
    """
    return gaussian_kernel(0.5 * scale)


def upscale(
    y: np.ndarray,
    scale: int,
    denoiser: Denoiser,
    *,
    kernel: np.ndarray | None = None,
    sigma_n: float | None = None,
    method: str = "admm",
    iters: int | None = None,
    rho: float | None = None,
    denoiser_sigma: float = MAP_DENOISER_SIGMA,
    lam: float = HQS_LAMBDA,
    tol: float = 1e-4,
    callback: Callback | None = None,
) -> Result:
    """Super-resolve ``y`` by an integer ``scale``; ``y = (kernel * x)[::scale, ::scale]``.

    ``kernel`` defaults to :func:`default_sr_kernel`. ``iters``: 75 (ADMM) or 24 (HQS,
    whose schedule ends at ``max(sigma_n, scale / 255)`` as in DPIR); ``sigma_n=None``
    estimates the noise from ``y``; the other options as in :func:`deblur`.
    """
    y = _observation(y)
    scale = positive_int(scale, "scale")
    k = default_sr_kernel(scale) if kernel is None else kernel
    problem = SuperResolution(k, scale, noise_level(y, sigma_n))
    return _run(method, y, problem, denoiser, iters=iters, default_iters=(75, 24), rho=rho,
                denoiser_sigma=denoiser_sigma, lam=lam, tol=tol, callback=callback,
                sigma_min=max(SIGMA_N_FLOOR, scale / 255.0))


def denoise(
    y: np.ndarray,
    denoiser: Denoiser,
    sigma_n: float | None = None,
    *,
    method: str = "admm",
    iters: int | None = None,
    rho: float | None = None,
    denoiser_sigma: float = MAP_DENOISER_SIGMA,
    lam: float = HQS_LAMBDA,
    tol: float = 1e-4,
    callback: Callback | None = None,
) -> Result:
    """Denoise at any noise level with a (possibly fixed-strength) denoiser.

    Through ADMM, a denoiser trained at one level removes noise of another: the data
    term carries ``sigma_n`` (estimated when None). ``iters``: 35 (ADMM) or 8 (HQS);
    the other options as in :func:`deblur`.
    """
    y = _observation(y)
    problem = Denoising(noise_level(y, sigma_n))
    return _run(method, y, problem, denoiser, iters=iters, default_iters=(35, 8), rho=rho,
                denoiser_sigma=denoiser_sigma, lam=lam, tol=tol, callback=callback)
