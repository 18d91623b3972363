"""Shared fixtures: small deterministic images, generated in code."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def rgb(rng: np.random.Generator) -> np.ndarray:
    """A 37x53 RGB float32 image with smooth structure and detail."""
    y, x = np.mgrid[0:37, 0:53] / 40.0
    base = np.stack([np.sin(3 * x) * 0.4 + 0.5, np.cos(2 * y) * 0.4 + 0.5, x * y * 0.4], -1)
    return np.clip(base + 0.05 * rng.standard_normal(base.shape), 0, 1).astype(np.float32)
