"""Where the sigma 5-50 colour model beats the sigma-25 default (sets SIGMA25_BAND).

``edgerestore denoise`` without ``--model`` uses ``blindspot_gauss25_rgb`` on colour
images unless the (given or estimated) noise level is outside
:data:`edgerestore.runtime.packaged.SIGMA25_BAND`, where ``blindspot_gauss5_50_rgb``
takes over. This measures both packaged ONNX fp32 files on the five bundled colour
samples (256x256 centre crops, Gaussian noise, seed 0, sigma estimated by MAD as the
CLI does) and prints the band where the sigma-25 model is ahead; update the constant
from it after retraining either model.

Usage::

    nice -n 19 python benchmarks/default_sigma_switch.py \
        [--json benchmarks/results/default_sigma_switch.json]
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np

from edgerestore.api import load_model
from edgerestore.runtime.atomic import atomic_write
from edgerestore.runtime.metrics import psnr
from edgerestore.runtime.packaged import RANGE_MODEL, SIGMA25_BAND
from edgerestore.runtime.samples import COLOR_SAMPLES, load_sample

DEFAULT = "blindspot_gauss25_rgb"
SIGMAS = (5, 10, 12, 15, 20, 25, 30, 35, 40, 45, 50)


def crops(side: int = 256) -> list[np.ndarray]:
    out = []
    for name in COLOR_SAMPLES:
        img = load_sample(name)
        top, left = (img.shape[0] - side) // 2, (img.shape[1] - side) // 2
        out.append(img[top : top + side, left : left + side])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sigmas", type=int, nargs="+", default=list(SIGMAS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results"
                        / "default_sigma_switch.json")
    args = parser.parse_args()
    models = {n: load_model(n, backend="onnxruntime", precision="fp32", threads=args.threads)
              for n in (DEFAULT, RANGE_MODEL)}
    images = crops()
    rows = []
    for sigma in args.sigmas:
        rng = np.random.default_rng(0)
        scores: dict[str, list[float]] = {n: [] for n in models}
        for clean in images:
            noisy = (clean + rng.normal(0, sigma / 255, clean.shape)).astype(np.float32)
            for name, model in models.items():
                scores[name].append(psnr(clean, model.runner.denoise(noisy, None)))
        row = {"sigma": sigma, **{n: round(float(np.mean(v)), 3) for n, v in scores.items()}}
        row["range_minus_default_db"] = round(row[RANGE_MODEL] - row[DEFAULT], 3)
        rows.append(row)
        print(f"sigma {sigma:>3}: {DEFAULT} {row[DEFAULT]:.2f}  {RANGE_MODEL} "
              f"{row[RANGE_MODEL]:.2f}  ({row['range_minus_default_db']:+.2f} dB)", flush=True)
    ahead = [r["sigma"] for r in rows if r["range_minus_default_db"] < 0]
    result = {"command": "python " + shlex.join(sys.argv),
              "images": f"{len(images)} bundled colour samples, 256x256 centre crops",
              "sigma_used": "estimated (MAD), as edgerestore denoise without --sigma",
              "files": "packaged ONNX fp32", "rows": rows,
              "default_ahead_at": ahead, "band_in_code": list(SIGMA25_BAND)}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(args.json, (json.dumps(result, indent=2) + "\n").encode())
    print(f"{DEFAULT} is ahead at sigma {ahead}; SIGMA25_BAND in the code: {SIGMA25_BAND}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
