"""Restoration tasks: deblur, inpaint, upscale and denoise one image with a denoiser prior.

Each task builds its forward model, fills in the paper defaults of
:mod:`edgerestore.runtime.presets` and runs ADMM or HQS (:mod:`edgerestore.runtime.solvers`);
DMSP deblurring is :func:`edgerestore.runtime.dmsp.dmsp_deblur`. Noise levels are in
[0, 1] units; ``sigma_n=None`` estimates the noise from the image where that works.
"""

from __future__ import annotations

import numpy as np

from edgerestore.errors import InputError
from edgerestore.runtime.denoiser_protocol import Denoiser
from edgerestore.runtime.forward import (
    Denoising,
    ForwardModel,
    Inpainting,
    observation,
    positive_int,
)
from edgerestore.runtime.forward_blur import SuperResolution, blur_model
from edgerestore.runtime.kernels import gaussian_kernel
from edgerestore.runtime.presets import (
    ADMM_TOL,
    HQS_LAMBDA,
    INPAINT_SIGMA_N,
    ITERATIONS,
    MAP_DENOISER_SIGMA,
    SIGMA_N_FLOOR,
)
from edgerestore.runtime.sigma_estimate import estimate_sigma
from edgerestore.runtime.solvers import Callback, Result, admm, hqs

__all__ = ["deblur", "default_sr_kernel", "denoise", "inpaint", "noise_level", "upscale"]


def noise_level(y: np.ndarray, sigma_n: float | None) -> float:
    """The data term's noise std: ``sigma_n``, or estimated from ``y`` when None.

    Noise-blind mode uses the wavelet MAD estimator: blur removes the fine-scale image
    content it relies on, so it reads the noise of a blurred picture well. The result
    is floored at :data:`~edgerestore.runtime.presets.SIGMA_N_FLOOR`.
    """
    if sigma_n is None:
        sigma_n = estimate_sigma(observation(y))
    elif not (np.isfinite(sigma_n) and sigma_n >= 0):
        raise InputError(f"noise level sigma_n must be finite and >= 0, got {sigma_n}")
    return max(float(sigma_n), SIGMA_N_FLOOR)


def solve(
    task: str,
    method: str,
    y: np.ndarray,
    model: ForwardModel,
    denoiser: Denoiser,
    *,
    iters: int | None,
    rho: float | None,
    denoiser_sigma: float,
    lam: float,
    tol: float,
    callback: Callback | None,
    sigma_min: float = SIGMA_N_FLOOR,
) -> Result:
    """Run ``method`` ('admm' or 'hqs') on ``model``, ``iters`` defaulting to the task's."""
    defaults = ITERATIONS[task]
    if method == "admm":
        return admm(y, model, denoiser, rho=rho, denoiser_sigma=denoiser_sigma,
                    iters=defaults.admm if iters is None else iters, tol=tol,
                    callback=callback)
    if method == "hqs":
        return hqs(y, model, denoiser, iters=defaults.hqs if iters is None else iters,
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
    tol: float = ADMM_TOL,
    callback: Callback | None = None,
) -> Result:
    """Non-blind deblurring of ``y`` blurred by ``kernel`` (true convolution).

    ``boundary``: ``'same'`` (default; ``y`` is a photo whose borders saw content
    outside the frame; output has the size of ``y``), ``'valid'`` (``y`` is the valid
    part of the blur; the output is the full scene, ``k - 1`` pixels larger) or
    ``'circular'`` (synthetic periodic blur). ``sigma_n=None`` estimates the noise from
    ``y``. ``iters`` defaults to 75 (ADMM) or 8 (HQS). ``rho``, ``denoiser_sigma`` and
    ``tol`` only affect ADMM, ``lam`` only HQS (see the solvers).
    """
    y = observation(y)
    model = blur_model(kernel, noise_level(y, sigma_n), boundary)
    return solve("deblur", method, y, model, denoiser, iters=iters, rho=rho,
                 denoiser_sigma=denoiser_sigma, lam=lam, tol=tol, callback=callback)


def inpaint(
    y: np.ndarray,
    mask: np.ndarray,
    denoiser: Denoiser,
    *,
    sigma_n: float = INPAINT_SIGMA_N,
    method: str = "admm",
    iters: int | None = None,
    rho: float | None = None,
    denoiser_sigma: float = MAP_DENOISER_SIGMA,
    lam: float = HQS_LAMBDA,
    tol: float = ADMM_TOL,
    callback: Callback | None = None,
) -> Result:
    """Fill the pixels where ``mask`` is False (0); observed pixels carry noise ``sigma_n``.

    The noise level is not estimated here (holes defeat the wavelet estimator); the
    default 0.01 is the authors' inpainting example. ``iters``: 100 (ADMM) or 24 (HQS);
    the other options as in :func:`deblur`.
    """
    if sigma_n is None:
        raise InputError("inpainting needs sigma_n: holes defeat the noise estimator")
    y = observation(y)
    model = Inpainting(mask, noise_level(y, sigma_n))
    return solve("inpaint", method, y, model, denoiser, iters=iters, rho=rho,
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
    tol: float = ADMM_TOL,
    callback: Callback | None = None,
) -> Result:
    """Super-resolve ``y`` by an integer ``scale``; ``y = (kernel * x)[::scale, ::scale]``.

    ``kernel`` defaults to :func:`default_sr_kernel`. ``iters``: 75 (ADMM) or 24 (HQS,
    whose schedule ends at ``max(sigma_n, scale / 255)`` as in DPIR); ``sigma_n=None``
    estimates the noise from ``y``; the other options as in :func:`deblur`.
    """
    y = observation(y)
    scale = positive_int(scale, "scale")
    k = default_sr_kernel(scale) if kernel is None else kernel
    model = SuperResolution(k, scale, noise_level(y, sigma_n))
    return solve("upscale", method, y, model, denoiser, iters=iters, rho=rho,
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
    tol: float = ADMM_TOL,
    callback: Callback | None = None,
) -> Result:
    """Denoise at any noise level with a (possibly fixed-strength) denoiser.

    Through ADMM, a denoiser trained at one level removes noise of another: the data
    term carries ``sigma_n`` (estimated when None). ``iters``: 35 (ADMM) or 8 (HQS);
    the other options as in :func:`deblur`.
    """
    y = observation(y)
    model = Denoising(noise_level(y, sigma_n))
    return solve("denoise", method, y, model, denoiser, iters=iters, rho=rho,
                 denoiser_sigma=denoiser_sigma, lam=lam, tol=tol, callback=callback)
