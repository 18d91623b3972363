"""Parity: does an exported file compute what the PyTorch model computes, on real images?

Each image gets noise drawn the benchmark way (training noise, one generator seeded
0 over the images in order, unclipped) and up to 2x2 non-overlapping tiles of the
file's tile size are cut from its centre, so fixed-size TFLite files, dynamic ONNX
files and PyTorch all see exactly the same inputs (and small tiles stay quick).
Per file the report gives

* ``max_abs_diff`` and ``psnr_vs_torch``: the file's output against PyTorch's (the
  raw prior parameters for a raw graph), MSE pooled over all tiles, peak 1;
* ``denoise_psnr`` vs ``denoise_psnr_torch``: 8-bit PSNR of the denoised tiles against
  the clean image, mean over images, and their difference (a raw graph is denoised
  with the numpy Bayesian step of the runtime, as a device would);
* ``seconds``: the file's total inference time over the tiles (CPU, this machine).

Exported files run through the runtime's session opener
(:func:`edgerestore.runtime.backends.open_session`, default options), exactly as
``edgerestore denoise`` runs them.

Targets (reported, not enforced): fp32 >= 60 dB vs PyTorch, fp16 >= 45 dB, int8
losing at most 0.1 dB of denoising PSNR.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgerestore.export.calibration import level_value
from edgerestore.export.graph import GraphSpec
from edgerestore.runtime import bayes
from edgerestore.runtime.backends import SessionOptions, open_session
from edgerestore.runtime.metrics import psnr
from edgerestore.runtime.noise import NoiseSpec

Runner = Callable[[dict[str, np.ndarray]], np.ndarray]
#: Tiles per image side: at most a 2x2 block from the image centre is compared.
MAX_TILES_PER_SIDE = 2


def torch_runner(spec: GraphSpec) -> Runner:
    def run(feeds: dict[str, np.ndarray]) -> np.ndarray:
        with torch.no_grad():
            return spec.module(*(torch.from_numpy(feeds[n]) for n in spec.input_names)).numpy()

    return run


def runner_for(path: Path, options: SessionOptions | None = None) -> Runner:
    """An exported file opened the way a user's restore opens it: the runtime's
    :func:`~edgerestore.runtime.backends.open_session` with the default
    :class:`~edgerestore.runtime.backends.SessionOptions` (backend by suffix, card
    checked against the graph), so parity measures what users run."""
    return open_session(path, options or SessionOptions()).run


class Tiles:
    """The noisy tiles of a set of images at one tile size, with PyTorch's outputs."""

    def __init__(self, spec: GraphSpec, noise: NoiseSpec,
                 images: list[tuple[str, np.ndarray]], tile: tuple[int, int]) -> None:
        self.spec, self.noise, self.tile = spec, noise, tile
        rng = np.random.default_rng(0)
        th, tw = tile
        # (image index, clean region, [(top, left, feeds)], level)
        self.items: list[tuple[str, np.ndarray, list[tuple[int, int, dict]], float]] = []
        for name, clean in images:
            noisy, level = noise.apply(clean, rng)
            rows = min(clean.shape[0] // th, MAX_TILES_PER_SIDE)
            cols = min(clean.shape[1] // tw, MAX_TILES_PER_SIDE)
            if not rows or not cols:
                continue
            y0 = (clean.shape[0] - rows * th) // 2
            x0 = (clean.shape[1] - cols * tw) // 2
            region = noisy[y0 : y0 + rows * th, x0 : x0 + cols * tw]
            pieces = [(r * th, c * tw, self._feeds(region[r * th:(r + 1) * th,
                                                          c * tw:(c + 1) * tw], level))
                      for r in range(rows) for c in range(cols)]
            self.items.append((name, clean[y0 : y0 + rows * th, x0 : x0 + cols * tw],
                               pieces, level))
        self.reference = self._outputs(torch_runner(spec))[0]

    def _feeds(self, tile: np.ndarray, level: float) -> dict[str, np.ndarray]:
        image = tile[None] if self.spec.layout == "NHWC" else tile.transpose(2, 0, 1)[None]
        feeds = {self.spec.input_names[0]: np.ascontiguousarray(image, dtype=np.float32)}
        if self.spec.level_input:
            feeds[self.spec.level_input] = np.array([level_value(self.noise, level)],
                                                    np.float32)
        return feeds

    def _outputs(self, run: Runner) -> tuple[list[list[np.ndarray]], float]:
        start = time.perf_counter()
        outs = [[np.asarray(run(feeds), np.float32) for _, _, feeds in pieces]
                for _, _, pieces, _ in self.items]
        return outs, time.perf_counter() - start

    def _hwc(self, out: np.ndarray) -> np.ndarray:
        return out[0] if self.spec.layout == "NHWC" else out[0].transpose(1, 2, 0)

    def _denoised(self, index: int, outs: list[np.ndarray]) -> np.ndarray:
        """Reassemble an image's denoised tiles (Bayesian step for a raw graph)."""
        _, clean, pieces, level = self.items[index]
        th, tw = self.tile
        result = np.zeros(clean.shape, np.float64)
        for (top, left, feeds), out in zip(pieces, outs, strict=True):
            est = self._hwc(out)
            if self.spec.task == "denoise_raw_prior":
                noisy = self._hwc(feeds[self.spec.input_names[0]])
                var = (level_value(self.noise, level) ** 2 if self.noise.kind == "gauss"
                       else np.maximum(bayes.prior_mean(est), 1e-3) / level)
                est = bayes.posterior_mean(est, noisy, var)
            result[top : top + th, left : left + tw] = est
        return result

    def compare(self, run: Runner) -> dict[str, Any]:
        """The parity numbers of one runner against PyTorch (see the module docstring)."""
        outs, seconds = self._outputs(run)
        flat_ref = np.concatenate([o.ravel() for img in self.reference for o in img])
        flat = np.concatenate([o.ravel() for img in outs for o in img])
        diff = flat.astype(np.float64) - flat_ref
        mse = float(np.mean(diff**2))
        ours = [psnr(self.items[i][1], self._denoised(i, outs[i]))
                for i in range(len(self.items))]
        theirs = [psnr(self.items[i][1], self._denoised(i, self.reference[i]))
                  for i in range(len(self.items))]
        return {
            "images": len(self.items),
            "tiles": sum(len(p) for _, _, p, _ in self.items),
            "max_abs_diff": float(np.max(np.abs(diff))),
            "psnr_vs_torch": float("inf") if mse == 0 else float(10 * np.log10(1 / mse)),
            "denoise_psnr": float(np.mean(ours)),
            "denoise_psnr_torch": float(np.mean(theirs)),
            "denoise_psnr_delta": float(np.mean(ours) - np.mean(theirs)),
            "seconds": round(seconds, 3),
        }
