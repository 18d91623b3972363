"""Sample quality of a generator: the energy distance to held-out data.

``D^2 = 2 E|X - Y| - E|X - X'| - E|Y - Y'|`` (Szekely & Rizzo) is zero exactly when
the two distributions agree, needs no kernel bandwidth and no feature network (an
FID-style Inception score means nothing on 8x8 digits), and its within-set terms
are computed without the zero diagonal, so it is unbiased for equal-size sets.
"""

from __future__ import annotations

import numpy as np

from edgerestore.errors import InputError


def _mean_distance(a: np.ndarray, b: np.ndarray, same: bool) -> float:
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    dist = np.sqrt(np.maximum(sq, 0.0))
    if same:
        n = len(a)
        return float((dist.sum() - np.trace(dist)) / (n * (n - 1)))
    return float(dist.mean())


def energy_distance(samples: np.ndarray, reference: np.ndarray) -> float:
    """Energy distance ``D^2`` between two sample sets (flattened per sample)."""
    x = np.asarray(samples, np.float64).reshape(len(samples), -1)
    y = np.asarray(reference, np.float64).reshape(len(reference), -1)
    if x.shape[1] != y.shape[1] or len(x) < 2 or len(y) < 2:
        raise InputError(f"energy distance needs two sets of >= 2 samples of the same size, "
                         f"got {x.shape} and {y.shape}")
    return 2 * _mean_distance(x, y, False) - _mean_distance(x, x, True) - \
        _mean_distance(y, y, True)
