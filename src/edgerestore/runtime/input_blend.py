"""Blend a real-noise denoiser's output back towards its input, by the measured noise level.

Why: AP-BSN removes spatially correlated noise by looking at pixel-shuffled sub-images,
which costs fine detail (aliasing at stride 2). On a heavily noisy phone photo that
trade pays; on a photo with little noise (a DSLR at base ISO, a bright phone shot) the
detail lost outweighs the noise removed and the output is *worse* than the input.
The remedy is to keep part of the input, the more the less noise there is:
``noisy + w (denoised - noisy)`` with ``w`` read off a table of (noise level, weight)
pairs by linear interpolation, the level being the image's stride-2 MAD estimate
(0-255; :func:`~edgerestore.runtime.sigma_estimate.estimate_sigma` with
:data:`~edgerestore.runtime.sigma_estimate.CORRELATED_NOISE_STRIDE`), which reads
camera noise nearly right. The table is a fact of the network (the model class states
it, the export card carries it), measured on real noisy photos; it is applied once to
the whole image, after tiling, so every tile gets the same weight.
"""

from __future__ import annotations

import itertools

import numpy as np

from edgerestore.errors import InputError
from edgerestore.runtime.sigma_estimate import CORRELATED_NOISE_STRIDE, estimate_sigma

Table = tuple[tuple[float, float], ...]


def check_table(table: object) -> Table:
    """``table`` as (level, weight) pairs with levels ascending in [0, 255] and weights in
    [0, 1]; an InputError naming what is wrong otherwise (cards are user files)."""
    try:
        pairs = tuple((float(lv), float(w)) for lv, w in table)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise InputError(f"input blend must be a list of [level, weight] pairs, got "
                         f"{table!r:.60}") from None
    levels = [p[0] for p in pairs]
    if (not pairs or any(not 0.0 <= v <= 255.0 for v in levels)
            or any(not 0.0 <= p[1] <= 1.0 for p in pairs)
            or any(b <= a for a, b in itertools.pairwise(levels))):
        raise InputError(f"input blend needs ascending levels in [0, 255] and weights in "
                         f"[0, 1], got {table!r:.60}")
    return pairs


def blend_weight(level: float, table: Table) -> float:
    """The weight of the denoised image at noise ``level`` (0-255): linear between the
    table's points, its end values beyond them."""
    levels, weights = zip(*table, strict=True)
    return float(np.interp(level, levels, weights))


def blend_with_input(noisy: np.ndarray, denoised: np.ndarray, table: Table) -> np.ndarray:
    """``noisy + w (denoised - noisy)``, ``w`` from the noise level measured on ``noisy``."""
    level = estimate_sigma(noisy, CORRELATED_NOISE_STRIDE) * 255.0
    weight = blend_weight(level, table)
    if weight >= 1.0:
        return denoised
    return (noisy + weight * (denoised - noisy)).astype(denoised.dtype, copy=False)
