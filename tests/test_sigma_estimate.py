"""MAD noise estimation recovers known sigmas on smooth and natural images."""

from __future__ import annotations

import numpy as np
import pytest

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
