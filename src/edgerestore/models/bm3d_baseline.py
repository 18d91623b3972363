"""CBM3D / BM3D (the ``bm3d`` package) as a side-by-side denoising baseline.

BM3D is told the true noise level, which is the standard (and generous) protocol.
It takes tens of seconds per image on a small CPU, so results can be cached by the
exact bytes of the noisy input: a cached result is only reused for a bit-identical
noisy image at the same sigma, so the comparison stays exact (same noise, same
protocol) while repeated evaluations skip the recomputation. The cached entry keeps
the seconds measured when it was computed.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edgerestore.errors import require

if TYPE_CHECKING:  # only the type: models.evaluate imports torch, BM3D needs none
    from edgerestore.models.evaluate import Denoise


def bm3d_denoiser(cache_dir: Path | None = None,
                  timings: list[float] | None = None) -> Denoise:
    """CBM3D for RGB, BM3D for grey; ``level`` is sigma in 0-255 units.

    With ``cache_dir``, outputs are stored as ``<sha256>.npy``; ``timings`` (if
    given) receives, in call order, the compute seconds of each call, cached or not.
    """
    bm3d = require("bm3d", package="bm3d", extra="eval", purpose="the BM3D baseline")

    def compute(noisy: np.ndarray, sigma: float) -> np.ndarray:
        if noisy.shape[2] == 3:
            return np.asarray(bm3d.bm3d_rgb(noisy, sigma), dtype=np.float32)
        return np.asarray(bm3d.bm3d(noisy[:, :, 0], sigma), dtype=np.float32)[:, :, None]

    def run(noisy: np.ndarray, level: float) -> np.ndarray:
        sigma = level / 255.0
        key = hashlib.sha256(np.ascontiguousarray(noisy, np.float32).tobytes()
                             + repr(float(level)).encode()).hexdigest()
        if cache_dir is not None and (cache_dir / f"{key}.npy").exists():
            meta = json.loads((cache_dir / f"{key}.json").read_text())
            if timings is not None:
                timings.append(meta["seconds"])
            return np.load(cache_dir / f"{key}.npy")
        start = time.perf_counter()
        out = compute(noisy, sigma)
        seconds = time.perf_counter() - start
        if timings is not None:
            timings.append(seconds)
        if cache_dir is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)
            np.save(cache_dir / f"{key}.npy", out)
            (cache_dir / f"{key}.json").write_text(json.dumps({"seconds": seconds,
                                                               "sigma": level}))
        return out

    return run
