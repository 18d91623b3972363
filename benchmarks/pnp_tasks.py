"""Plug-and-play beyond deblurring: inpainting and super-resolution with the MAP denoiser.

The same ADMM loop and the same MAP denoiser as the deblurring tables, on the other
tasks the paper reports, each next to a classical baseline on the same observation:

* inpainting, random masks (50% and 80% of the pixels missing) and a block mask (six
  32x32 holes), observed pixels with Gaussian noise of std 0.01 (the authors'
  inpainting example); baseline: biharmonic inpainting (scikit-image);
* super-resolution x2 and x4: ``y = (k * x)[::s, ::s]`` with the runtime's default
  Gaussian kernel (std s/2), no added noise; baseline: cubic-spline interpolation on
  the decimation grid (scipy).

Masks and noise are seeded per image, so reruns score the same observations.

    python benchmarks/pnp_tasks.py --data-root ../shared/data [--images Set3C] \
        [--denoiser src/edgerestore/models/weights/map_rgb.safetensors] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from edgerestore.evaluation.baselines import biharmonic_inpaint, cubic_spline_upscale
from edgerestore.loading import load_denoiser
from edgerestore.runtime.blur import blur_circular, downsample
from edgerestore.runtime.image_io import read_image
from edgerestore.runtime.metrics import psnr, ssim
from edgerestore.runtime.presets import INPAINT_SIGMA_N
from edgerestore.runtime.solvers import Result
from edgerestore.runtime.tasks import default_sr_kernel, inpaint, upscale

HERE = Path(__file__).resolve().parent
INPAINT_NOISE = INPAINT_SIGMA_N


def random_mask(shape: tuple[int, int], missing: float, rng: np.random.Generator) -> np.ndarray:
    return rng.random(shape) >= missing


def block_mask(shape: tuple[int, int], rng: np.random.Generator, holes: int = 6,
               size: int = 32) -> np.ndarray:
    mask = np.ones(shape, bool)
    for _ in range(holes):
        top, left = rng.integers(0, shape[0] - size), rng.integers(0, shape[1] - size)
        mask[top:top + size, left:left + size] = False
    return mask


def timed(solve: Callable[[], tuple[np.ndarray, int]]) -> tuple[np.ndarray, int, float]:
    """(estimate, iterations, seconds) of one solver call."""
    start = time.perf_counter()
    x, iterations = solve()
    return np.asarray(x), iterations, time.perf_counter() - start


def cases(clean: np.ndarray, seed: int):
    """(task, {method: solver}) for one image; a solver takes the loaded denoiser and
    returns (estimate, iterations), one iteration for the one-shot baselines."""
    h, w = clean.shape[:2]
    rng = np.random.default_rng(seed)
    for name, mask in (("inpaint 50% random", random_mask((h, w), 0.5, rng)),
                       ("inpaint 80% random", random_mask((h, w), 0.8, rng)),
                       ("inpaint 6 blocks 32x32", block_mask((h, w), rng))):
        y = np.where(mask[:, :, None], clean + rng.normal(0, INPAINT_NOISE, clean.shape), 0.0)
        yield name, {
            "admm": lambda den, y=y, mask=mask: _solved(inpaint(
                y, mask, den.denoise, sigma_n=INPAINT_NOISE, denoiser_sigma=den.sigma)),
            "biharmonic": lambda den, y=y, mask=mask: (biharmonic_inpaint(y, mask), 1)}
    for scale in (2, 4):
        crop = clean[: h - h % scale, : w - w % scale]
        y = downsample(blur_circular(crop, default_sr_kernel(scale)), scale)
        yield f"super-resolution x{scale}", {
            "admm": lambda den, y=y, scale=scale: _solved(upscale(
                y, scale, den.denoise, sigma_n=0.0, denoiser_sigma=den.sigma)),
            "cubic spline": lambda den, y=y, scale=scale: (cubic_spline_upscale(y, scale), 1)}


def _solved(result: Result) -> tuple[np.ndarray, int]:
    return result.x, result.iterations


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-root", type=Path, required=True)
    ap.add_argument("--images", default="Set3C", help="folder under <data-root>/eval")
    ap.add_argument("--denoiser", type=Path, default=HERE.parent / "src" / "edgerestore" / "models"
                    / "weights" / "map_rgb.safetensors")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=HERE / "results" / "pnp_tasks_set3c.json")
    args = ap.parse_args()
    den = load_denoiser(args.denoiser, "cpu", args.threads)
    folder = args.data_root / "eval" / args.images
    rows = []
    for index, path in enumerate(sorted(folder.glob("*.png"))):
        clean = read_image(path)[0]
        for task, methods in cases(clean, args.seed + index):
            for method, solve in methods.items():
                x, iterations, seconds = timed(lambda solve=solve: solve(den))
                reference = clean[: x.shape[0], : x.shape[1]]  # SR crops to the scale
                rows.append({"image": path.name, "task": task, "method": method,
                             "psnr": psnr(reference, x), "ssim": ssim(reference, x),
                             "iterations": iterations, "seconds": round(seconds, 2)})
                print(json.dumps(rows[-1]), flush=True)
    summary: dict[str, dict[str, dict[str, float]]] = {}
    for row in rows:
        same = [r for r in rows if (r["task"], r["method"]) == (row["task"], row["method"])]
        summary.setdefault(row["task"], {})[row["method"]] = {
            key: float(np.mean([r[key] for r in same])) for key in ("psnr", "ssim", "seconds")}
    result = {"command": shlex.join(["python", *sys.argv]), "denoiser": str(args.denoiser),
              "images": args.images, "seed": args.seed, "inpaint_noise": INPAINT_NOISE,
              "summary": summary, "per_image": rows}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    for task, methods in summary.items():
        print(task, {m: round(v["psnr"], 2) for m, v in methods.items()})
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
