"""Argument types that check ranges while the command line is parsed.

A value out of range (``--threads -1``, ``--seed -1``, ``--sigma 1e30``, ``--batch 0``,
``--lr nan``) is refused by argparse itself, with a one-line usage error and exit
code 2, before any file is read or any model is loaded; nothing downstream then
meets a ZeroDivisionError, an overflow or a NaN it did not expect.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from edgerestore.units import MAX_SIGMA_255

#: numpy's seeds are unsigned 32- to 128-bit; 2**32 - 1 keeps every backend happy.
MAX_SEED = 2**32 - 1


def int_range(low: int, high: int | None = None) -> Callable[[str], int]:
    """An ``int`` argument type accepting ``low <= value <= high`` (``high=None``: no cap)."""
    span = f"{low}..{high}" if high is not None else f">= {low}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {span}, got {value}")
        return value

    parse.__name__ = "int"
    return parse


def float_range(low: float, high: float, *, low_open: bool = False) -> Callable[[str], float]:
    """A finite ``float`` type in ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    span = f"{'(' if low_open else '['}{low:g}, {high:g}]"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        below = value <= low if low_open else value < low
        if not math.isfinite(value) or below or value > high:
            raise argparse.ArgumentTypeError(f"must be a number in {span}, got {text}")
        return value

    parse.__name__ = "float"
    return parse


#: ``--threads``: at least one, at most a sane machine.
threads = int_range(1, 1024)
#: ``--seed``: the range every numpy generator accepts.
seed = int_range(0, MAX_SEED)
#: ``--sigma`` in 0-255 units, zero allowed (a noise-free observation).
sigma_255 = float_range(0.0, MAX_SIGMA_255)
#: ``--sigma`` of a blind-spot denoiser, which needs some noise to remove.
positive_sigma_255 = float_range(0.0, MAX_SIGMA_255, low_open=True)
