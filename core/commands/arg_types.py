"""argparse value types that reject out-of-range numbers with a one-line usage error.

Validated at parse time, so ``--batch 0`` or ``--lr nan`` fails before any work
(and before a training writes a model card for weights it never trained).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def int_in(low: int, high: int | None = None) -> Callable[[str], int]:
    """An integer in ``[low, high]``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low or (high is not None and value > high):
            span = f"between {low} and {high}" if high is not None else f">= {low}"
            raise argparse.ArgumentTypeError(f"{value} is out of range (must be {span})")
        return value
    parse.__name__ = "integer"
    return parse


def float_in(low: float, high: float | None = None, *, low_open: bool = False
             ) -> Callable[[str], float]:
    """A finite float in ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        too_low = value <= low if low_open else value < low
        if not math.isfinite(value) or too_low or (high is not None and value > high):
            span = (f"{'>' if low_open else '>='} {low}"
                    + (f" and <= {high}" if high is not None else ""))
            raise argparse.ArgumentTypeError(f"{text} is out of range (must be finite, {span})")
        return value
    parse.__name__ = "number"
    return parse
