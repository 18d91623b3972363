"""Noise-level estimation without a model: the robust MAD estimator of Donoho & Johnstone.

The finest diagonal Haar wavelet band of a natural image is almost pure noise, so
``median(|HH|) / 0.6745`` estimates the Gaussian sigma. It is used when a model has
no noise estimator of its own and the user gives no sigma; it overestimates a little
on heavily textured images, which the tests document.
"""

from __future__ import annotations

import numpy as np

from edgerestore.errors import InputError

_MAD_TO_SIGMA = 0.6744897501960817  # Phi^-1(3/4)


def estimate_sigma(image: np.ndarray) -> float:
    """Gaussian noise sigma of a float [0, 1] HxWxC image, in [0, 1] units (channel median)."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 2:
        image = image[:, :, None]
    h, w = image.shape[:2]
    if h < 4 or w < 4:
        raise InputError(f"image too small to estimate noise ({h}x{w})")
    h, w = h - h % 2, w - w % 2
    x = image[:h, :w]
    hh = (x[0::2, 0::2] - x[0::2, 1::2] - x[1::2, 0::2] + x[1::2, 1::2]) / 2.0
    per_channel = np.median(np.abs(hh), axis=(0, 1)) / _MAD_TO_SIGMA
    return float(np.median(per_channel))
