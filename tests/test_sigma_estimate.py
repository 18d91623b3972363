"""MAD noise estimation recovers known sigmas on smooth and natural images."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import correlated_noise

from edgerestore.errors import InputError
from edgerestore.runtime.noise import add_gaussian_noise
from edgerestore.runtime.samples import load_sample
from edgerestore.runtime.sigma_estimate import estimate_sigma


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
