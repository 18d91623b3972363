"""Blur and sampling operators for HxW or HxWxC float arrays, in numpy FFTs.

Convention, shared by every function here and by :mod:`edgerestore.runtime.forward_blur`:

* A blur is a true convolution with the kernel ``k`` (a point-spread function:
  the picture of how one bright point looks after blurring), not a correlation.
  A kernel meant for correlation (MATLAB ``imfilter``'s default, the DMSP code's
  ``filter_image``) must be flipped, ``k[::-1, ::-1]``.
* The kernel's centre is element ``(kh // 2, kw // 2)``, as in MATLAB's ``psf2otf``.
  For odd sizes that is the middle; for even sizes it is the lower/right of the two
  middle elements. A kernel that is a single 1 at its centre therefore blurs nothing.
* A ``valid`` blur keeps the pixels whose whole kernel footprint lies inside the
  image; it loses ``(kh - 1) // 2`` rows at the top and ``kh // 2`` at the bottom
  (likewise for columns), so it is exactly the matching crop of the circular blur.
"""

from __future__ import annotations

import numpy as np

from edgerestore.errors import InputError


def valid_margins(kernel_shape: tuple[int, ...]) -> tuple[tuple[int, int], tuple[int, int]]:
    """``((top, bottom), (left, right))`` pixels a valid blur drops from each side."""
    kh, kw = kernel_shape[:2]
    return ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2)


def psf2otf(kernel: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Optical transfer function: the FFT of ``kernel`` zero-padded to ``shape[:2]``.

    The kernel's centre is rolled to element (0, 0) first, so multiplying an image's
    FFT by the result blurs it without shifting it.
    """
    k = np.asarray(kernel, dtype=np.float64)
    h, w = shape[:2]
    kh, kw = k.shape
    if kh > h or kw > w:
        raise InputError(f"kernel {kh}x{kw} is larger than the image {h}x{w}")
    padded = np.zeros((h, w))
    padded[:kh, :kw] = k
    padded = np.roll(padded, (-(kh // 2), -(kw // 2)), axis=(0, 1))
    return np.fft.fft2(padded)


def apply_otf(x: np.ndarray, otf: np.ndarray) -> np.ndarray:
    """Multiply a real ``x``'s 2-D spectrum by ``otf`` (HxW, Hermitian), over all channels.

    Solvers that blur the same grid many times compute the OTF once and call this.
    """
    x = np.asarray(x, dtype=np.float64)
    h, w = x.shape[:2]
    half = otf[:, : w // 2 + 1].reshape((h, w // 2 + 1) + (1,) * (x.ndim - 2))
    return np.fft.irfft2(np.fft.rfft2(x, axes=(0, 1)) * half, s=(h, w), axes=(0, 1))


def blur_circular(x: np.ndarray, kernel: np.ndarray, *, adjoint: bool = False) -> np.ndarray:
    """Circular convolution of ``x`` with ``kernel`` (or its adjoint, the correlation).

    The adjoint is what gradient-based solvers need for ``K^T r``.
    """
    otf = psf2otf(kernel, np.shape(x))
    return apply_otf(x, np.conj(otf) if adjoint else otf)


def blur_valid(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolution keeping only fully supported pixels: output smaller by ``k - 1``."""
    x = np.asarray(x, dtype=np.float64)
    (top, bottom), (left, right) = valid_margins(np.shape(kernel))
    h, w = x.shape[:2]
    return blur_circular(x, kernel)[top : h - bottom, left : w - right]


def _taper_profile(projection: np.ndarray, n: int) -> np.ndarray:
    """1 at both ends of an ``n``-long axis, falling to 0 a kernel width inside.

    It is the (periodic) autocorrelation of the kernel's projection on that axis,
    computed on ``n - 1`` samples and closed with its first value, as MATLAB does.
    """
    z = np.fft.ifft(np.abs(np.fft.fft(projection, n - 1)) ** 2).real
    z = np.append(z, z[0])
    return z / z.max()


def edgetaper(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Blend ``image`` into its own circular blur near the borders (MATLAB ``edgetaper``).

    An FFT deconvolution treats the image as periodic, so the jump between opposite
    borders rings through the whole result. Replacing each border by the circular blur
    of the image makes the wrap-around consistent with the blur model; the weight is
    the kernel's autocorrelation, so the blend spans exactly the kernel's reach.
    """
    x = np.asarray(image, dtype=np.float64)
    k = np.asarray(kernel, dtype=np.float64)
    h, w = x.shape[:2]
    if h < 2 or w < 2:
        raise InputError(f"image {h}x{w} is too small to edge-taper")
    alpha = np.outer(1.0 - _taper_profile(k.sum(axis=1), h), 1.0 - _taper_profile(k.sum(axis=0), w))
    alpha = alpha.reshape((h, w) + (1,) * (x.ndim - 2))
    return alpha * x + (1.0 - alpha) * blur_circular(x, k)


def downsample(x: np.ndarray, scale: int) -> np.ndarray:
    """Keep every ``scale``-th pixel in both directions, starting at pixel (0, 0)."""
    return np.asarray(x)[::scale, ::scale].copy()


def upsample_zeros(x: np.ndarray, scale: int) -> np.ndarray:
    """Adjoint of :func:`downsample`: put ``x`` on every ``scale``-th pixel, zeros elsewhere."""
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros((x.shape[0] * scale, x.shape[1] * scale, *x.shape[2:]))
    out[::scale, ::scale] = x
    return out
