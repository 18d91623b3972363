"""Noise-level estimation without a model: the robust MAD estimator of Donoho & Johnstone.

The finest diagonal Haar wavelet band of a natural image is almost pure noise, so
``median(|HH|) / 0.6745`` estimates the Gaussian sigma. It is used when a model has
no noise estimator of its own and the user gives no sigma; it overestimates a little
on heavily textured images, which the tests document.

Camera noise is not white: demosaicing and JPEG spread each pixel's noise over its
neighbours (autocorrelation ~0.5 at lag 1, ~0.1 at lag 2, ~0.02 at lag 3 for the
simulated camera), and the HH band, a difference of adjacent pixels, cancels most of
it: the plain estimate reads about half the true std. With ``stride`` s the band is
taken on the s x s sub-images ``image[a::s, b::s]`` instead, whose adjacent pixels are
s apart and whose noise is nearly independent again; the HH coefficients of all s^2
sub-images are pooled, so even a 64x64 training patch gives ~900 per channel. The
price is more image detail in the band (the sub-image is coarser), a slight
overestimate on texture. :data:`CORRELATED_NOISE_STRIDE` is the stride the
camera-noise denoiser is trained and run with: on 192x192 crops of 4 CBSD68 images
through the simulated camera (ISO 800-3200, with and without JPEG 90), stride 2 read
the true std to within 8% (the remaining lag-2 correlation and the texture cancel
roughly), stride 3 read it 11-18% high (texture).
"""

from __future__ import annotations

import numpy as np

from edgerestore.errors import InputError

_MAD_TO_SIGMA = 0.6744897501960817  # Phi^-1(3/4)

#: Sub-image stride for spatially correlated (camera) noise; see the module docstring.
CORRELATED_NOISE_STRIDE = 2


def level_stride(sigma_mode: str | None) -> int:
    """The stride a blind-spot model's noise level is measured with: a ``measured``-level
    (camera-noise) model was trained with :data:`CORRELATED_NOISE_STRIDE`, every other
    model expects the plain estimate. One place, so training, export cards and the
    runtime cannot disagree."""
    return CORRELATED_NOISE_STRIDE if sigma_mode == "measured" else 1


def estimate_sigma(image: np.ndarray, stride: int = 1) -> float:
    """Gaussian noise sigma of a float [0, 1] HxWxC image, in [0, 1] units (channel median).

    ``stride`` > 1 measures on the stride-s sub-images, for spatially correlated noise.
    """
    if not isinstance(stride, int | np.integer) or stride < 1:
        raise InputError(f"stride must be a positive integer, got {stride!r}")
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 2:
        image = image[:, :, None]
    h, w = image.shape[:2]
    if h < 4 * stride or w < 4 * stride:
        raise InputError(f"image too small to estimate noise ({h}x{w})")
    bands = []
    for a in range(stride):
        for b in range(stride):
            x = image[a::stride, b::stride]
            sh, sw = x.shape[0] - x.shape[0] % 2, x.shape[1] - x.shape[1] % 2
            x = x[:sh, :sw]
            hh = (x[0::2, 0::2] - x[0::2, 1::2] - x[1::2, 0::2] + x[1::2, 1::2]) / 2.0
            bands.append(hh.reshape(-1, image.shape[2]))
    per_channel = np.median(np.abs(np.concatenate(bands)), axis=0) / _MAD_TO_SIGMA
    return float(np.median(per_channel))


#: ``noise_kind`` calls noise spatially correlated (a camera's) when the stride-2 level
#: exceeds the plain one by this factor. Measured (``python benchmarks/real_noise.py
#: --choices``, result file ``benchmarks/results/real_noise_choices.json``): SIDD phone
#: blocks read 1.25-2.0 (median 1.57), white Gaussian noise on CBSD68 at most 1.23 from
#: sigma 25 up, 1.37 at 15, but up to 1.7 at sigma 5, where image texture, not noise,
#: fills the finest band.
REAL_NOISE_RATIO = 1.3


def noise_kind(image: np.ndarray) -> str:
    """``"real"`` (spatially correlated camera noise) or ``"gaussian"`` (white noise).

    Why this works: demosaicing, denoising and sharpening in a camera spread each
    pixel's noise over its neighbours, and the finest diagonal wavelet band (a
    difference of adjacent pixels) cancels most of it, so the plain MAD estimate reads
    far less noise than the stride-2 sub-images do; for white noise both read the same.
    An image whose finest band is empty (MAD 0: a JPEG's quantisation, a camera's own
    noise reduction) is a processed photo, so ``"real"`` as well.
    """
    plain = estimate_sigma(image, 1)
    if plain <= 0.0:
        return "real"
    return "real" if estimate_sigma(image, CORRELATED_NOISE_STRIDE) > REAL_NOISE_RATIO * plain \
        else "gaussian"
