"""Noise-level units: the command line speaks 0-255, the library [0, 1].

Every command that takes ``--sigma`` converts it here, once, so nothing below the CLI
ever sees a 0-255 number.
"""

from __future__ import annotations

import math

from edgerestore.errors import InputError


def noise_sigma(sigma: float | None) -> float | None:
    """A 0-255 command-line noise std in the solvers' [0, 1] units (None stays None)."""
    if sigma is None:
        return None
    if not (math.isfinite(sigma) and sigma >= 0):
        raise InputError(f"--sigma must be a finite value >= 0 (0-255 units), got {sigma}")
    return sigma / 255.0
