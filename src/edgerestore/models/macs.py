"""Multiply-accumulate and parameter counts for any module, by tracing one forward pass.

Counts come from forward hooks, so they reflect what the forward pass really
runs: Laine's network puts four rotations on the batch axis and is charged for
all four, which is exactly the cost a device pays for it.

Leaf layers counted: ``nn.Conv2d`` (incl. subclasses), ``nn.Linear``, and any
module with a ``count_macs(output) -> (real, dense)`` method (e.g.
:class:`~edgerestore.models.blindspot.CenterlessConv2d`, whose real count skips
the structurally zero centre tap). Bias adds, activations, pooling and
resampling are not multiplies and are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class Counts:
    """Cost of one forward pass on a 1 x C x H x W input."""

    macs: int  # multiplies actually needed (structural zeros skipped)
    dense_macs: int  # the same with every kernel dense (centreless 3x3 counted as 9 taps)
    params: int
    height: int
    width: int

    @property
    def macs_per_pixel(self) -> float:
        return self.macs / (self.height * self.width)

    @property
    def dense_macs_per_pixel(self) -> float:
        return self.dense_macs / (self.height * self.width)


def _layer_macs(module: nn.Module, output: Tensor) -> tuple[int, int] | None:
    if callable(getattr(module, "count_macs", None)):
        return module.count_macs(output)
    if isinstance(module, nn.Conv2d):
        k_h, k_w = module.kernel_size
        macs = output.numel() * (module.in_channels // module.groups) * k_h * k_w
        return macs, macs
    if isinstance(module, nn.Linear):
        macs = output.numel() * module.in_features
        return macs, macs
    return None


def count(model: nn.Module, channels: int, height: int, width: int) -> Counts:
    """MACs and parameters of ``model`` on one ``channels x height x width`` image."""
    totals = [0, 0]

    def hook(module: nn.Module, _inputs: tuple, output: Tensor) -> None:
        macs = _layer_macs(module, output)
        if macs is not None:
            totals[0] += macs[0]
            totals[1] += macs[1]

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    first = next(model.parameters())
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, channels, height, width, dtype=first.dtype, device=first.device))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    params = sum(p.numel() for p in model.parameters())
    return Counts(totals[0], totals[1], params, height, width)


def format_table(rows: list[tuple[str, Counts]]) -> str:
    """Side-by-side table; the last column is MACs/pixel relative to the first row."""
    size = f"GMAC@{rows[0][1].height}x{rows[0][1].width}" if rows else "GMAC"
    header = (f"{'model':<36}{'MACs/px':>12}{'dense MACs/px':>15}{size:>15}{'params':>12}"
              f"{'vs first':>10}")
    lines = [header, "-" * len(header)]
    base = rows[0][1].macs_per_pixel if rows else 1.0
    for name, c in rows:
        lines.append(
            f"{name:<36}{c.macs_per_pixel:>12,.0f}{c.dense_macs_per_pixel:>15,.0f}"
            f"{c.macs / 1e9:>15.2f}{c.params:>12,}{c.macs_per_pixel / base:>9.2f}x"
        )
    return "\n".join(lines)
