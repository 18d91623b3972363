"""``edgerestore demo``: the main job on bundled inputs, as far as the project has got.

Today it prepares the demo inputs (scikit-image's public-domain samples), adds
seeded Gaussian noise at the benchmark protocol and scores the noisy images; each
later stage (denoising, export, on-device restoration, benchmark) adds its step here.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from edgerestore.console import log, progress


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the main job on bundled sample images",
                       description=__doc__)
    p.add_argument("--out", type=Path, default=Path("demo_out"), help="output folder")
    p.add_argument("--sigma", type=float, default=25.0, help="noise level (0-255 units)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgerestore.runtime.image_io import write_image
    from edgerestore.runtime.metrics import psnr, ssim
    from edgerestore.runtime.noise import add_gaussian_noise
    from edgerestore.runtime.samples import COLOR_SAMPLES, load_sample

    start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    rows = []
    for name in progress(COLOR_SAMPLES, desc="prepare inputs", unit="img"):
        clean = load_sample(name)
        noisy = add_gaussian_noise(clean, args.sigma, rng)
        write_image(args.out / f"{name}_clean.png", clean)
        write_image(args.out / f"{name}_noisy.png", noisy)
        rows.append({"image": name, "noisy_psnr": round(psnr(clean, noisy), 3),
                     "noisy_ssim": round(ssim(clean, noisy), 4)})
    report = {"sigma": args.sigma, "seed": args.seed, "images": rows,
              "seconds": round(time.perf_counter() - start, 2)}
    (args.out / "report.json").write_text(json.dumps(report, indent=2))
    print(f"{'image':<22}{'noisy PSNR':>12}{'SSIM':>8}")
    for row in rows:
        print(f"{row['image']:<22}{row['noisy_psnr']:>12.2f}{row['noisy_ssim']:>8.3f}")
    log.info("report: %s (%.1f s)", args.out / "report.json", report["seconds"])
    return 0
