"""Image-quality metrics with the benchmark protocol of ``../shared/data/README.md``.

PSNR is computed on the *output clipped to [0, 1] and quantized to 8 bits* (that
is what a saved PNG contains and what published tables measure), against the
reference, with no border crop. SSIM is scikit-image's implementation with the
settings of Wang et al. 2004 (Gaussian window, sigma 1.5, population covariance),
which is what the MATLAB reference code computes.
"""

from __future__ import annotations

import numpy as np

from edgerestore.errors import InputError, require


def quantize8(image: np.ndarray) -> np.ndarray:
    """Clip to [0, 1] and round to the 8-bit grid, staying in float64 [0, 1]."""
    return np.round(np.clip(np.asarray(image, dtype=np.float64), 0.0, 1.0) * 255.0) / 255.0


def _pair(reference: np.ndarray, estimate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ref = np.asarray(reference, dtype=np.float64)
    est = np.asarray(estimate, dtype=np.float64)
    if ref.shape != est.shape:
        raise InputError(f"shape mismatch: reference {ref.shape} vs estimate {est.shape}")
    if not (np.all(np.isfinite(ref)) and np.all(np.isfinite(est))):
        raise InputError("images contain NaN or infinite values")
    return ref, est


def psnr(reference: np.ndarray, estimate: np.ndarray, *, quantize: bool = True) -> float:
    """PSNR in dB for images in [0, 1]; ``estimate`` is 8-bit quantized unless told not to.

    Identical images give ``inf``.
    """
    ref, est = _pair(reference, estimate)
    if quantize:
        est = quantize8(est)
    mse = float(np.mean((ref - est) ** 2))
    return float("inf") if mse == 0.0 else 10.0 * np.log10(1.0 / mse)


def ssim(reference: np.ndarray, estimate: np.ndarray, *, quantize: bool = True) -> float:
    """Mean SSIM (Wang et al. 2004 settings), colour images averaged over channels."""
    ref, est = _pair(reference, estimate)
    if quantize:
        est = quantize8(est)
    metrics = require("skimage.metrics", package="scikit-image", extra="eval",
                      purpose="SSIM")
    if ref.ndim == 3 and ref.shape[2] == 1:
        ref, est = ref[:, :, 0], est[:, :, 0]
    return float(metrics.structural_similarity(
        ref, est, data_range=1.0, gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False, channel_axis=-1 if ref.ndim == 3 else None,
    ))
