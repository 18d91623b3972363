"""Learning-rate schedule of Laine et al. 2019: cosine ramp-up, squared-cosine ramp-down."""

from __future__ import annotations

import math


def ramped_lr(step: int, total: int, base_lr: float, rampup: float = 0.1,
              rampdown: float = 0.3) -> float:
    """Learning rate at ``step`` of ``total`` (Laine's ``compute_ramped_lrate``)."""
    lr = base_lr
    if rampup > 0 and step <= total * rampup:
        t = step / (total * rampup)
        lr *= 0.5 - math.cos(t * math.pi) / 2
    start = total * (1 - rampdown)
    if rampdown > 0 and step >= start:
        t = (step - start) / (total * rampdown)
        lr *= (0.5 + math.cos(t * math.pi) / 2) ** 2
    return lr
