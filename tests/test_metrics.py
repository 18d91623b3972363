"""PSNR/SSIM: the benchmark protocol, scikit-image agreement, hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from edgerestore.errors import InputError
from edgerestore.runtime.metrics import psnr, quantize8, ssim


def test_psnr_hand_computed():
    ref = np.zeros((10, 10, 1))
    est = np.full((10, 10, 1), 10 / 255)
    assert psnr(ref, est) == pytest.approx(20 * np.log10(255 / 10))
    assert psnr(ref, ref) == float("inf")


def test_psnr_quantizes_and_clips_the_estimate_only():
    ref = np.full((8, 8, 3), 100 / 255)
    est = ref + 0.4 / 255  # rounds back onto the reference
    assert psnr(ref, est) == float("inf")
    assert np.isfinite(psnr(ref, est, quantize=False))
    over = np.full((8, 8, 3), 1.5)
    assert psnr(np.ones((8, 8, 3)), over) == float("inf")  # clipped to 1


def test_psnr_matches_scikit_image(rgb, rng):
    noisy = rgb + rng.normal(0, 0.1, rgb.shape)
    ours = psnr(rgb, noisy)
    ref = peak_signal_noise_ratio(rgb.astype(np.float64), quantize8(noisy), data_range=1.0)
    assert ours == pytest.approx(ref, abs=1e-9)


def test_ssim_matches_scikit_image_wang_settings(rgb, rng):
    noisy = rgb + rng.normal(0, 0.1, rgb.shape)
    ref = structural_similarity(rgb.astype(np.float64), quantize8(noisy), data_range=1.0,
                                channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False)
    assert ssim(rgb, noisy) == pytest.approx(ref, abs=1e-12)
    assert ssim(rgb, rgb, quantize=False) == pytest.approx(1.0)


def test_ssim_hand_computed_for_constant_images():
    # Constant images: sigma terms vanish, SSIM = (2 m1 m2 + C1) / (m1^2 + m2^2 + C1).
    c1 = (0.01 * 1.0) ** 2
    a, b = 0.2, 0.6
    expect = (2 * a * b + c1) / (a * a + b * b + c1)
    got = ssim(np.full((32, 32, 1), a), np.full((32, 32, 1), b), quantize=False)
    assert got == pytest.approx(expect, rel=1e-9)


def test_metric_errors():
    with pytest.raises(InputError, match="shape"):
        psnr(np.zeros((4, 4, 3)), np.zeros((4, 5, 3)))
    with pytest.raises(InputError, match="NaN"):
        psnr(np.zeros((4, 4, 3)), np.full((4, 4, 3), np.nan))
