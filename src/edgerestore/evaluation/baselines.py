"""Classical restoration baselines, run on the same observations as our solvers.

Deblurring: scikit-image's Wiener-Hunt filter (supervised and unsupervised) and the
``bm3d`` package's BM3D deblurring; inpainting: biharmonic (scikit-image);
super-resolution: cubic-spline interpolation (scipy). They all need the ``eval`` extra,
and assume circular blur, so callers hand them a full-size observation.
(C)BM3D denoising is :func:`edgerestore.models.bm3d_baseline.bm3d_denoiser`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from edgerestore.errors import require
from edgerestore.evaluation.results import Run

#: Mean squared Laplacian of natural images in [0, 1] units (0.02-0.06 on Set3C and
#: CBSD68 images): the signal power seen by scikit-image's Laplacian regulariser, so
#: Wiener-Hunt's balance is the noise-to-signal ratio ``sigma_n^2 / WIENER_LAPLACIAN_POWER``.
WIENER_LAPLACIAN_POWER = 0.03


def wiener_deblur(z: np.ndarray, kernel: np.ndarray, sigma: float) -> Run:
    """scikit-image's Wiener-Hunt filter per channel, balance = noise / Laplacian power."""
    restoration = require("skimage.restoration", package="scikit-image", extra="eval",
                          purpose="the Wiener baseline")
    psf, balance = _odd(kernel), sigma**2 / WIENER_LAPLACIAN_POWER
    start = time.perf_counter()
    x = _per_channel(z, lambda c: restoration.wiener(c, psf, balance, clip=False))
    return Run(x, 1, time.perf_counter() - start)


def unsupervised_wiener_deblur(z: np.ndarray, kernel: np.ndarray, seed: int) -> Run:
    """scikit-image's unsupervised Wiener-Hunt (Gibbs sampler) per channel, seeded.

    ``iterations`` is the largest number of Gibbs samples any channel needed.
    """
    restoration = require("skimage.restoration", package="scikit-image", extra="eval",
                          purpose="the unsupervised Wiener baseline")
    psf, samples = _odd(kernel), []

    def one(channel: np.ndarray) -> np.ndarray:
        estimate, chains = restoration.unsupervised_wiener(channel, psf, clip=False, rng=seed)
        samples.append(len(chains["noise"]))
        return estimate

    start = time.perf_counter()
    x = _per_channel(z, one)
    return Run(x, max(samples), time.perf_counter() - start)


def bm3d_deblur(z: np.ndarray, kernel: np.ndarray, sigma: float) -> Run:
    """``bm3d.bm3d_deblurring`` per channel (the package has no colour deblurring variant).

    Each channel goes in as HxWx1: the package builds a wrongly shaped noise PSD for
    2-D input, and its multichannel path fails on the Wiener stage.
    """
    bm3d = require("bm3d", package="bm3d", extra="eval", purpose="the BM3D baseline")
    psf = _odd(kernel)
    start = time.perf_counter()
    with _numpy_trapz():
        x = _per_channel(z, lambda c: np.asarray(
            bm3d.bm3d_deblurring(c[:, :, None], sigma, psf)).reshape(c.shape))
    return Run(x, 1, time.perf_counter() - start)


def biharmonic_inpaint(y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """scikit-image's biharmonic inpainting of the pixels where ``mask`` is False."""
    restoration = require("skimage.restoration", package="scikit-image", extra="eval",
                          purpose="the biharmonic inpainting baseline")
    return restoration.inpaint_biharmonic(y, ~mask, channel_axis=-1)


def cubic_spline_upscale(y: np.ndarray, scale: int) -> np.ndarray:
    """Cubic-spline interpolation on the decimation grid: high-res pixel ``j`` samples
    low-res coordinate ``j / scale``, since ``y`` kept pixels 0, s, 2s, ... (a plain image
    resize assumes centred pixels and would shift the result by (s - 1) / 2 pixels)."""
    ndimage = require("scipy.ndimage", package="scipy", extra="eval",
                      purpose="the cubic-spline baseline")
    h, w = y.shape[:2]
    rows, cols = np.meshgrid(np.arange(h * scale) / scale, np.arange(w * scale) / scale,
                             indexing="ij")
    return np.stack([ndimage.map_coordinates(y[:, :, c], [rows, cols], order=3,
                                             mode="reflect")
                     for c in range(y.shape[2])], -1)


def _odd(kernel: np.ndarray) -> np.ndarray:
    """Zero-pad an even-sized kernel at the bottom/right, keeping its centre at ``k // 2``.

    For odd sizes every library agrees with our centre; bm3d puts an even kernel's
    centre elsewhere.
    """
    kh, kw = kernel.shape
    return np.pad(kernel, ((0, 1 - kh % 2), (0, 1 - kw % 2)))


def _per_channel(z: np.ndarray, restore: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    return np.stack([restore(z[:, :, c]) for c in range(z.shape[2])], axis=2)


@contextmanager
def _numpy_trapz() -> Iterator[None]:
    """Lend ``np.trapz`` (removed in NumPy 2.4) to bm4d 4.2.5, which BM3D deblurring calls."""
    if hasattr(np, "trapz"):
        yield
        return
    np.trapz = np.trapezoid
    try:
        yield
    finally:
        del np.trapz
