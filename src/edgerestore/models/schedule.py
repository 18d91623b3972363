"""Learning-rate schedule of Laine et al. 2019: cosine ramp-up, squared-cosine ramp-down."""

from __future__ import annotations

import math


def ramped_lr_at(fraction: float, base_lr: float, rampup: float = 0.1,
                 rampdown: float = 0.3) -> float:
    """Learning rate at ``fraction`` (0..1) of a run (Laine's ``compute_ramped_lrate``).

    Taking the fraction rather than a step count lets a run whose length is a time
    budget lay the same ramps over its minutes.
    """
    lr = base_lr
    if rampup > 0 and fraction <= rampup:
        lr *= 0.5 - math.cos(fraction / rampup * math.pi) / 2
    start = 1 - rampdown
    if rampdown > 0 and fraction >= start:
        t = min(1.0, (fraction - start) / rampdown)
        lr *= (0.5 + math.cos(t * math.pi) / 2) ** 2
    return lr


def ramped_lr(step: int, total: int, base_lr: float, rampup: float = 0.1,
              rampdown: float = 0.3) -> float:
    """Learning rate at ``step`` of ``total`` steps."""
    return ramped_lr_at(step / total, base_lr, rampup, rampdown)
