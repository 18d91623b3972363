"""Noise models: statistics over many samples, seeding, no clipping, spec parsing."""

from __future__ import annotations

import numpy as np
import pytest

from edgerestore.errors import InputError
from edgerestore.runtime.noise import (
    NoiseSpec,
    add_gaussian_noise,
    add_impulse_noise,
    add_poisson_gaussian_noise,
    add_poisson_noise,
)

FLAT = np.full((200, 200, 3), 0.5, np.float32)


def test_gaussian_mean_and_variance_in_both_units():
    rng = np.random.default_rng(0)
    n = add_gaussian_noise(FLAT, 25, rng) - FLAT
    assert abs(n.mean()) < 1e-3
    assert n.std() == pytest.approx(25 / 255, rel=0.01)
    n = add_gaussian_noise(FLAT, 0.1, rng, units="unit") - FLAT
    assert n.std() == pytest.approx(0.1, rel=0.01)


def test_noise_is_not_clipped_unless_asked():
    rng = np.random.default_rng(0)
    noisy = add_gaussian_noise(FLAT, 50, rng)
    assert noisy.min() < 0 and noisy.max() > 1
    clipped = add_gaussian_noise(FLAT, 50, rng, clip=True)
    assert clipped.min() == 0 and clipped.max() == 1


def test_same_seed_same_noise_and_dtype_kept():
    a = add_gaussian_noise(FLAT, 25, np.random.default_rng(7))
    b = add_gaussian_noise(FLAT, 25, np.random.default_rng(7))
    c = add_gaussian_noise(FLAT, 25, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c) and a.dtype == np.float32


@pytest.mark.parametrize("level", [0.2, 0.8])
def test_poisson_mean_equals_signal_and_variance_signal_over_lambda(level):
    lam = 30.0
    x = np.full((300, 300, 1), level, np.float32)
    y = add_poisson_noise(x, lam, np.random.default_rng(1))
    assert y.mean() == pytest.approx(level, rel=0.01)
    assert y.var() == pytest.approx(level / lam, rel=0.03)
    assert np.allclose(y * lam, np.round(y * lam), atol=1e-4)  # integer photon counts


def test_poisson_gaussian_variance_adds_up():
    x = np.full((300, 300, 1), 0.5, np.float32)
    y = add_poisson_gaussian_noise(x, 20.0, 10.0, np.random.default_rng(2))
    assert y.var() == pytest.approx(0.5 / 20 + (10 / 255) ** 2, rel=0.03)


def test_impulse_replaces_alpha_of_pixels_with_uniform_colours():
    rng = np.random.default_rng(3)
    x = np.full((300, 300, 3), -1.0, np.float32)  # impossible value marks untouched pixels
    y = add_impulse_noise(x, 0.3, rng)
    hit = (y != -1.0).all(-1)
    assert ((y != -1.0).any(-1) == hit).all()  # whole pixels are replaced
    assert hit.mean() == pytest.approx(0.3, abs=0.01)
    vals = y[hit]
    assert vals.min() >= 0 and vals.max() < 1
    assert vals.mean() == pytest.approx(0.5, abs=0.01)
    assert vals.var() == pytest.approx(1 / 12, rel=0.03)


def test_bad_inputs_are_input_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(InputError):
        add_gaussian_noise(FLAT, -1, rng)
    with pytest.raises(InputError):
        add_poisson_noise(FLAT - 1, 30, rng)
    with pytest.raises(InputError):
        add_impulse_noise(FLAT, 1.5, rng)
    nan = FLAT.copy()
    nan[0, 0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        add_gaussian_noise(nan, 25, rng)
    with pytest.raises(InputError, match="float"):
        add_gaussian_noise(np.zeros((4, 4), np.uint8), 25, rng)


@pytest.mark.parametrize("text,kind,low,high", [
    ("gauss:25", "gauss", 25, 25), ("gauss25", "gauss", 25, 25),
    ("gauss5_50", "gauss", 5, 50), ("gauss:5-50", "gauss", 5, 50),
    ("poisson30", "poisson", 30, 30), ("poisson5_50", "poisson", 5, 50),
    ("impulse:0.5", "impulse", 0.5, 0.5), ("pg:30,10", "pg", 30, 30),
])
def test_spec_parsing(text, kind, low, high):
    spec = NoiseSpec.parse(text)
    assert (spec.kind, spec.low, spec.high) == (kind, low, high)
    assert NoiseSpec.parse(str(spec)) == spec


@pytest.mark.parametrize("text", ["gauss", "laplace:3", "gauss:50-5", "poisson:0",
                                  "impulse:2", "pg:30", "gauss:abc"])
def test_spec_errors(text):
    with pytest.raises(InputError):
        NoiseSpec.parse(text)


def test_range_draws_one_level_per_image_uniformly():
    spec = NoiseSpec.parse("gauss5_50")
    rng = np.random.default_rng(4)
    levels = np.array([spec.draw_level(rng) for _ in range(4000)])
    assert levels.min() >= 5 and levels.max() <= 50
    assert levels.mean() == pytest.approx(27.5, abs=0.5)
    noisy, level = spec.apply(FLAT, rng)
    assert (noisy - FLAT).std() == pytest.approx(level / 255, rel=0.02)
