"""Robustness to a noise level other than the training one (Honzatko et al., Figure 2).

A blind-spot model trained at sigma = 25 is tested at sigma = 5, 10, ..., 50:
with the true sigma given to the posterior step, with sigma estimated from the
noisy image (MAD), and with sigma assumed to be the training value 25. Side by side
in the same run, on the same noisy images: the model trained on sigma in [5, 50]
(true sigma) and CBM3D at the true sigma.

    python benchmarks/robustness.py --data-root ../shared/data \\
        --model25 src/edgerestore/models/weights/blindspot_gauss25_rgb.safetensors \\
        --model-range src/edgerestore/models/weights/blindspot_gauss5_50_rgb.safetensors --limit 4

writes ``benchmarks/results/robustness.json`` and ``benchmarks/robustness.png``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from edgerestore.models.bm3d_baseline import bm3d_denoiser
from edgerestore.models.evaluate import noisy_set, score, torch_denoiser
from edgerestore.models.torch_denoisers import TorchDenoiser
from edgerestore.models.weights_io import load_weights
from edgerestore.runtime.noise import NoiseSpec

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-root", type=Path, required=True)
    ap.add_argument("--images", default="eval/CBSD68", help="folder under --data-root")
    ap.add_argument("--model25", type=Path, required=True)
    ap.add_argument("--model-range", type=Path, required=True)
    ap.add_argument("--sigmas", type=float, nargs="+", default=list(range(5, 55, 5)))
    ap.add_argument("--limit", type=int, default=4, help="first N images (CBM3D is slow)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bm3d-cache", type=Path, default=Path("runs/bm3d_cache"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "robustness.json")
    ap.add_argument("--plot", type=Path, default=HERE / "robustness.png")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    m25, cfg25 = load_weights(args.model25)
    mrange, _ = load_weights(args.model_range)
    assumed25 = TorchDenoiser(m25, cfg25, "cpu", str(args.model25))  # sigma fixed at 25
    channels = cfg25["channels"]
    methods = {
        "sigma25 model, sigma known": torch_denoiser(m25, "posterior", "gauss"),
        "sigma25 model, sigma estimated (MAD)": torch_denoiser(m25, "estimated", "gauss"),
        "sigma25 model, sigma assumed 25": lambda noisy, _level: assumed25(noisy, 25 / 255),
        "sigma5-50 model, sigma known": torch_denoiser(mrange, "posterior", "gauss"),
        "CBM3D, sigma known": bm3d_denoiser(args.bm3d_cache),
    }
    table: dict[str, list[float]] = {name: [] for name in methods}
    for sigma in args.sigmas:
        items = noisy_set(args.data_root / args.images, NoiseSpec.parse(f"gauss:{sigma:g}"),
                          args.seed, channels, args.limit)
        for name, fn in methods.items():
            table[name].append(score(fn, items, desc=f"{name} @{sigma:g}",
                                     with_ssim=False)["psnr"])
        print(f"sigma {sigma:>4g}: " + "  ".join(f"{v[-1]:6.2f}" for v in table.values()))
    result = {
        "command": "python benchmarks/robustness.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()
            if k in ("images", "limit", "seed")),
        "images": f"{args.images} (first {args.limit})", "seed": args.seed,
        "sigmas": args.sigmas, "psnr": table,
        "models": {"sigma25": str(args.model25), "range": str(args.model_range)},
        "machine": {"cpu": platform.processor() or platform.machine(),
                    "torch": torch.__version__},
        "seconds": round(time.perf_counter() - start, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    plot(result, args.plot)


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, values in result["psnr"].items():
        style = "--" if "CBM3D" in name else "-"
        ax.plot(result["sigmas"], values, style, marker="o", label=name)
    ax.set_xlabel("test noise sigma (0-255)")
    ax.set_ylabel("PSNR (dB)")
    ax.set_title(f"Robustness to the noise level: {result['images']}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
