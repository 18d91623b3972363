"""MAD noise estimation recovers known sigmas on smooth and natural images; noise_kind
tells white noise from spatially correlated (camera) noise."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import correlated_noise

from edgerestore.errors import InputError
from edgerestore.runtime.noise import add_gaussian_noise
from edgerestore.runtime.samples import load_sample
from edgerestore.runtime.sigma_estimate import (
    KIND_CHROMA_FLOOR,
    KIND_ENERGY_RATIO,
    KIND_MAX_BLOCKS,
    chroma_noise,
    estimate_sigma,
    noise_kind,
)


@pytest.mark.parametrize("sigma", [5, 15, 25, 50])
def test_recovers_sigma_on_a_flat_image(sigma):
    flat = np.full((128, 128, 3), 0.5, np.float32)
    noisy = add_gaussian_noise(flat, sigma, np.random.default_rng(sigma))
    assert estimate_sigma(noisy) * 255 == pytest.approx(sigma, rel=0.05)


@pytest.mark.parametrize("sigma", [15, 25, 50])
def test_close_on_a_natural_image(sigma):
    clean = load_sample("astronaut")
    noisy = add_gaussian_noise(clean, sigma, np.random.default_rng(0))
    assert estimate_sigma(noisy) * 255 == pytest.approx(sigma, rel=0.1)


def test_too_small():
    with pytest.raises(InputError):
        estimate_sigma(np.zeros((3, 3, 1)))


@pytest.mark.parametrize("sigma", [20, 40])
def test_sub_image_stride_reads_correlated_noise(sigma):
    """The plain estimate reads correlated noise far too low; stride 2 and 3 do not."""
    clean = load_sample("astronaut")
    noisy = clean + correlated_noise(clean.shape, sigma, np.random.default_rng(sigma))
    assert estimate_sigma(noisy) * 255 < 0.7 * sigma
    for stride in (2, 3):
        assert estimate_sigma(noisy, stride=stride) * 255 == pytest.approx(sigma, rel=0.15)


def test_stride_on_white_noise_agrees():
    flat = np.full((96, 96, 3), 0.5, np.float32)
    noisy = add_gaussian_noise(flat, 20, np.random.default_rng(3))
    assert estimate_sigma(noisy, stride=3) == pytest.approx(estimate_sigma(noisy), rel=0.05)


@pytest.mark.parametrize("stride", [0, -1, 1.5])
def test_bad_stride(stride):
    with pytest.raises(InputError):
        estimate_sigma(np.zeros((16, 16, 1)), stride=stride)


def test_too_small_for_the_stride():
    with pytest.raises(InputError):
        estimate_sigma(np.zeros((5, 5, 1)), stride=3)


def textured(seed: int, size: int = 192) -> np.ndarray:
    """A generated RGB texture with a natural 1/f amplitude spectrum: detail at every
    scale, so it fills the stride-2 finest band more than the stride-1 one."""
    rng = np.random.default_rng(seed)
    f = np.fft.fftfreq(size)
    radius = np.hypot(*np.meshgrid(f, f))
    field = np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal((size, size)))
                                 / np.maximum(radius, 1 / size)))
    field = (field - field.mean()) / field.std()
    return np.clip(0.5 + 0.15 * field[..., None] * np.array([1.0, 0.9, 0.8]), 0, 1)


def old_rule_says_real(image: np.ndarray) -> bool:
    """The whole-image rule noise_kind used before the chroma rule."""
    return estimate_sigma(image, 2) > 1.3 * estimate_sigma(image, 1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_low_white_noise_on_texture_is_gaussian(seed):
    """The case the old rule got wrong: texture, not noise, filled its stride-2 band."""
    clean = textured(seed)
    noisy = clean + np.random.default_rng(seed).standard_normal(clean.shape) * 5 / 255
    assert old_rule_says_real(noisy)
    assert noise_kind(noisy) == "gaussian"
    clipped = np.round(np.clip(noisy, 0, 1) * 255) / 255
    assert noise_kind(clipped) == "gaussian"


@pytest.mark.parametrize("sigma", [5, 10, 20, 40])
def test_correlated_noise_is_real(sigma):
    clean = textured(sigma)
    noisy = clean + correlated_noise(clean.shape, sigma, np.random.default_rng(sigma))
    ratio, level = chroma_noise(noisy)
    assert ratio > 2.0 > KIND_ENERGY_RATIO and level > KIND_CHROMA_FLOOR
    assert noise_kind(noisy) == "real"


@pytest.mark.parametrize("sigma", [5, 25, 50])
def test_white_noise_on_a_sample_is_gaussian_clipped_or_not(sigma):
    clean = load_sample("chelsea")
    noisy = add_gaussian_noise(clean, sigma, np.random.default_rng(sigma))
    assert noise_kind(noisy) == "gaussian"
    assert noise_kind(np.round(np.clip(noisy, 0, 1) * 255) / 255) == "gaussian"


def test_white_noise_over_saturated_areas_is_gaussian():
    """Clipped blocks (noise flattened at 0 or 1) are left out of the measurement."""
    clean = textured(4)
    clean[:96] = 1.0
    clean[:, :48] = 0.0
    noisy = clean + np.random.default_rng(4).standard_normal(clean.shape) * 10 / 255
    assert noise_kind(np.round(np.clip(noisy, 0, 1) * 255) / 255) == "gaussian"


def test_noise_free_chroma_is_real():
    """No measurable chroma noise (a camera's chroma noise reduction, a JPEG, a clean
    image): not white RGB noise, so the camera-photo model."""
    y, x = np.mgrid[0:128, 0:128] / 40.0
    smooth = np.stack([0.5 + 0.2 * np.sin(x), 0.5 + 0.2 * np.cos(y), 0.4 + 0.0 * x], axis=2)
    luma_noise = np.random.default_rng(5).normal(0, 3 / 255, (128, 128, 1))
    assert chroma_noise(smooth + luma_noise)[1] < KIND_CHROMA_FLOOR
    assert noise_kind(smooth + luma_noise) == "real"
    assert noise_kind(np.full((64, 64, 3), 0.5)) == "real"


def test_grey_and_tiny_images_use_the_whole_image_rule():
    flat = np.full((96, 96, 1), 0.5)
    noisy = flat + np.random.default_rng(6).standard_normal(flat.shape) * 20 / 255
    assert chroma_noise(noisy) is None and noise_kind(noisy) == "gaussian"
    grey_rgb = np.repeat(noisy, 3, axis=2)
    assert chroma_noise(grey_rgb) is None and noise_kind(grey_rgb) == "gaussian"
    tiny = np.full((12, 12, 3), 0.5) + np.random.default_rng(7).normal(0, 0.1, (12, 12, 3))
    assert chroma_noise(tiny) is None and noise_kind(tiny) == "gaussian"


def test_large_image_is_measured_on_strips():
    """Above KIND_MAX_BLOCKS the rule reads evenly spaced strips; the answer holds."""
    rng = np.random.default_rng(8)
    side = int(np.sqrt(KIND_MAX_BLOCKS * 2)) * 16
    base = np.full((side, side, 3), 0.5, np.float32)
    assert noise_kind(base + rng.normal(0, 5 / 255, base.shape).astype(np.float32)) \
        == "gaussian"
    assert noise_kind(base + correlated_noise(base.shape, 10, rng).astype(np.float32)) \
        == "real"
