"""Run a network over an image of any size in overlapping tiles, without seams.

Why tiles: TFLite files have one fixed input shape (dynamic shapes fail or silently
give wrong output in LiteRT), and even a dynamic-shape ONNX model needs bounded
memory on a phone: one 24-megapixel pass of a 64-channel net holds gigabytes of
activations. So every image goes through tiles of at most ``tile`` pixels.

Why no seams: a conv net's output pixel depends on a ``receptive_field``-wide
window, and a tile's zero padding corrupts the outputs within half that window of
its edge. Each tile therefore gets a *halo* of context (``receptive_field // 2``)
that is discarded on sides facing another tile, and the kept parts of neighbouring
tiles overlap by ``blend`` more pixels where they are cross-faded linearly. With an
exact backend the kept pixels equal the untiled output (the blend then changes
nothing); with a quantised one, per-tile quantisation differences fade out
instead of stepping. Image borders are real borders in both the tiled and untiled
run, so nothing is discarded there.

Images smaller than a fixed tile are reflect-padded up to it (and cropped back).

Why ``align``: a network that is not shift-invariant by one pixel, AP-BSN (its
pixel-shuffle splits the image by row and column parity, its R3 masks repeat with a
period), gives a tile the same computation as the whole image only when the tile
starts at a multiple of that period. Tile origins are then multiples of ``align``
(the step is rounded down to one); the last tile, instead of ending flush with the
image from an unaligned origin, starts at the aligned origin below that and runs to
the image end (up to ``align - 1`` pixels longer than ``tile``), which a
dynamic-shape model takes. A fixed-shape model cannot, so there the last tile stays
flush (its R3 masks and pixel-shuffle phase then differ from the whole image's: an
equally valid estimate, cross-faded into its neighbour).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from edgerestore.errors import InputError

#: Extra overlap (pixels) over which neighbouring tiles are cross-faded.
DEFAULT_BLEND = 16
#: Largest tile side for dynamic-shape models: bounds activation memory per call (a
#: 24-megapixel denoise in 512x512 tiles peaked at 0.59 GB in ONNX Runtime, see
#: :mod:`edgerestore.runtime.backends`). The one definition the runtime's tilers share.
DEFAULT_MAX_TILE = 512

TileFn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class TilePlan:
    """Where the tiles of an ``height x width`` image go."""

    height: int
    width: int
    tile_h: int
    tile_w: int
    halo: int
    blend: int
    align: int = 1
    fixed: bool = False

    def starts(self, length: int, tile: int) -> list[int]:
        """Tile origins along one axis: evenly stepped by a multiple of ``align``; the
        last flush with the end (fixed tiles, or ``align`` 1) or aligned below it."""
        if length <= tile:
            return [0]
        step = tile - 2 * self.halo - self.blend
        step -= step % self.align
        if step < 1:
            raise InputError(f"tile {tile} is too small for a halo of {self.halo} pixels "
                             f"and a blend of {self.blend}"
                             + (f" at origins that are multiples of {self.align}"
                                if self.align > 1 else ""))
        starts = list(range(0, length - tile, step))
        end = length - tile
        last = end if self.fixed else end - end % self.align
        if last != starts[-1]:
            starts.append(last)
        return starts

    def spans(self, length: int, tile: int) -> list[tuple[int, int]]:
        """(origin, size) of the tiles along one axis: ``tile``, the last to the end."""
        starts = self.starts(length, tile)
        return [(start, tile) for start in starts[:-1]] + [(starts[-1], length - starts[-1])]

    def tiles(self) -> Iterator[tuple[int, int, int, int]]:
        """(top, left, height, width) of every tile."""
        for top, h in self.spans(self.height, self.tile_h):
            for left, w in self.spans(self.width, self.tile_w):
                yield top, left, h, w

    @property
    def count(self) -> int:
        return (len(self.starts(self.height, self.tile_h))
                * len(self.starts(self.width, self.tile_w)))


def _ramp(length: int, start_inner: bool, end_inner: bool, halo: int, blend: int
          ) -> np.ndarray:
    """1-D weights of a tile: 0 on a discarded halo, a linear ramp, then 1."""
    w = np.ones(length, np.float32)
    ramp = (np.arange(1, blend + 1, dtype=np.float32) / (blend + 1)) if blend else None
    if start_inner:
        w[:halo] = 0.0
        if ramp is not None:
            w[halo:halo + blend] = ramp
    if end_inner:
        w[length - halo:] = 0.0
        if ramp is not None:
            w[length - halo - blend:length - halo] = ramp[::-1]
    return w


def run_tiled(image: np.ndarray, fn: TileFn, *, tile: tuple[int, int], halo: int,
              blend: int = DEFAULT_BLEND, fixed: bool = False, align: int = 1,
              on_tile: Callable[[], None] | None = None) -> np.ndarray:
    """``fn`` applied to ``image`` (HxWxC float32) tile by tile; returns HxWxC_out.

    ``fixed``: every call to ``fn`` must get exactly ``tile`` (a fixed-shape model);
    small images are reflect-padded to it. Otherwise edge tiles may be smaller and an
    image that fits in one tile is processed whole. ``align``: tile origins are
    multiples of it (see the module docstring).
    """
    if image.ndim != 3:
        raise InputError(f"expected an HxWxC image, got shape {image.shape}")
    height, width = image.shape[:2]
    th, tw = tile
    pad_h, pad_w = max(th - height, 0) if fixed else 0, max(tw - width, 0) if fixed else 0
    if pad_h or pad_w:
        mode = "reflect" if (pad_h < height and pad_w < width) else "symmetric"
        padded = np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode=mode)
        return run_tiled(padded, fn, tile=tile, halo=halo, blend=blend, fixed=True,
                         align=align, on_tile=on_tile)[:height, :width]
    plan = TilePlan(height, width, min(th, height), min(tw, width), halo, blend, align, fixed)
    if plan.count == 1:
        out = np.asarray(fn(image), np.float32)
        if on_tile:
            on_tile()
        return out
    out: np.ndarray | None = None
    weight = np.zeros((height, width, 1), np.float32)
    for top, left, th, tw in plan.tiles():
        piece = fn(np.ascontiguousarray(image[top:top + th, left:left + tw]))
        if out is None:
            out = np.zeros((height, width, piece.shape[2]), np.float32)
        wy = _ramp(th, top > 0, top + th < height, halo, blend)
        wx = _ramp(tw, left > 0, left + tw < width, halo, blend)
        w = (wy[:, None] * wx[None, :])[:, :, None]
        out[top:top + th, left:left + tw] += w * piece
        weight[top:top + th, left:left + tw] += w
        if on_tile:
            on_tile()
    assert out is not None
    out /= np.maximum(weight, 1e-12)
    return out
