"""Noise-level units: the command line and the Python API speak 0-255, the library [0, 1].

Every command and API function that takes a noise ``sigma`` converts (and range-checks)
it here, once, so nothing below them ever sees a 0-255 number; report and JSON writers
that label a level 0-255 convert back with :func:`to_255`. No other module multiplies
or divides a noise level by 255.
"""

from __future__ import annotations

import math
import numbers

from edgerestore.errors import InputError

#: Largest Gaussian noise std in 0-255 units: above the full intensity range the image is gone.
MAX_SIGMA_255 = 255.0


def to_unit(sigma_255: float) -> float:
    """A noise std in 0-255 units as [0, 1] intensity units (no range check)."""
    return float(sigma_255) / 255.0


def to_255(sigma: float) -> float:
    """A noise std in [0, 1] intensity units as 0-255 units, for what users read."""
    return float(sigma) * 255.0


def noise_sigma(sigma: float | None, *, positive: bool = False) -> float | None:
    """A 0-255 noise std in the solvers' [0, 1] units (None stays None).

    It must be finite and at most :data:`MAX_SIGMA_255`; ``positive`` refuses 0 too (a
    blind-spot denoiser needs some noise to remove, a solver's data term takes 0).
    """
    if sigma is None:
        return None
    span = f"{'(' if positive else '['}0, {MAX_SIGMA_255:g}]"
    real = isinstance(sigma, numbers.Real) and not isinstance(sigma, bool)
    if not (real and math.isfinite(sigma) and (sigma > 0 if positive else sigma >= 0)
            and sigma <= MAX_SIGMA_255):
        raise InputError(f"sigma must be a number in {span} (0-255 units), got {sigma!r:.40}")
    return to_unit(sigma)
