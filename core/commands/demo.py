"""``edgerestore demo``: the main job on bundled inputs, as far as the project has got.

Today it takes scikit-image's public-domain colour samples, adds seeded Gaussian
noise (benchmark protocol: unclipped, fixed seed), denoises them with the shipped
self-supervised blind-spot model (posterior mean with the known sigma) and scores
noisy and denoised images. Later stages (export, on-device restoration, benchmark,
HTML report) add their steps here.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from edgerestore.console import log, progress
from edgerestore.errors import require


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the main job on bundled sample images",
                       description=__doc__)
    p.add_argument("--out", type=Path, default=Path("demo_out"), help="output folder")
    p.add_argument("--sigma", type=float, default=25.0, help="noise level (0-255 units)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", default="blindspot_gauss25_rgb",
                   help="shipped blind-spot model name, or a .safetensors path")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    require("torch", package="torch", extra="train", purpose="the demo's denoising step")
    from edgerestore.models.evaluate import torch_denoiser
    from edgerestore.models.shipped import shipped_weights
    from edgerestore.models.weights_io import load_weights
    from edgerestore.runtime.image_io import write_image
    from edgerestore.runtime.metrics import psnr, ssim
    from edgerestore.runtime.noise import add_gaussian_noise
    from edgerestore.runtime.samples import COLOR_SAMPLES, load_sample

    start = time.perf_counter()
    weights = Path(args.model) if args.model.endswith(".safetensors") else shipped_weights(
        args.model)
    model, _config = load_weights(weights)
    denoise = torch_denoiser(model, "posterior", "gauss")
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    rows = []
    for name in progress(COLOR_SAMPLES, desc="denoise samples", unit="img"):
        clean = load_sample(name)
        noisy = add_gaussian_noise(clean, args.sigma, rng)
        t0 = time.perf_counter()
        restored = denoise(noisy, args.sigma)
        seconds = time.perf_counter() - t0
        for kind, img in (("clean", clean), ("noisy", noisy), ("denoised", restored)):
            write_image(args.out / f"{name}_{kind}.png", img)
        rows.append({"image": name, "noisy_psnr": round(psnr(clean, noisy), 3),
                     "noisy_ssim": round(ssim(clean, noisy), 4),
                     "denoised_psnr": round(psnr(clean, restored), 3),
                     "denoised_ssim": round(ssim(clean, restored), 4),
                     "seconds": round(seconds, 3)})
    report = {"sigma": args.sigma, "seed": args.seed, "model": str(weights), "images": rows,
              "seconds": round(time.perf_counter() - start, 2)}
    (args.out / "report.json").write_text(json.dumps(report, indent=2))
    print(f"{'image':<22}{'noisy PSNR':>11}{'denoised':>10}{'SSIM':>14}{'s':>7}")
    for row in rows:
        print(f"{row['image']:<22}{row['noisy_psnr']:>11.2f}{row['denoised_psnr']:>10.2f}"
              f"{row['noisy_ssim']:>7.3f}->{row['denoised_ssim']:.3f}{row['seconds']:>7.2f}")
    log.info("report: %s (%.1f s)", args.out / "report.json", report["seconds"])
    return 0
