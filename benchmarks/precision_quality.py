"""Does bf16 cost quality? The same short training run in fp32 and in bf16, side by side.

Issue 15 asks that bf16 autocast (with the likelihood and the loss kept in fp32) reach
the same dev PSNR as fp32 within 0.05 dB. Both runs start from the same weights
(``--init-from``, default the shipped efficient sigma-25 model, the cheapest to train),
see exactly the same batches (batches depend only on seed, step and item) and the same
learning-rate ramps, and are scored on the same dev set (the first 8 CBSD68 images,
sigma 25, seed 0, posterior mean) by the trainer's own dev evaluation; they differ only
in ``--precision``. The runs go one after the other on the same machine, fp32 first.

    python benchmarks/precision_quality.py --data-root ../shared/data
    # -> benchmarks/results/precision_quality.json (rendered into RESULTS.md by report.py)

A benchmark, not a unit test: a few minutes of CPU and the real data.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: The issue's bar: |dev PSNR(bf16) - dev PSNR(fp32)| at most this many dB.
TOLERANCE_DB = 0.05


def train(args: argparse.Namespace, precision: str, work: Path) -> dict[str, Any]:
    """One run at ``precision``; returns its card."""
    out = work / f"{precision}.safetensors"
    cmd = [sys.executable, "-m", "edgerestore", "-q", "train", "blindspot",
           "--data", str(args.data_root / "train" / "CBSD400"),
           "--init-from", str(args.init_from), "--noise", "gauss25",
           "--steps", str(args.steps), "--batch", str(args.batch), "--patch", str(args.patch),
           "--lr", str(args.lr), "--threads", str(args.threads), "--precision", precision,
           "--checkpoint-every", str(args.steps), "--seed", "0",
           "--dev-images", str(args.data_root / "eval" / "CBSD68"), "--dev-count", "8",
           "--out", str(out), "--run-dir", str(work / f"run_{precision}"), "--overwrite"]
    subprocess.run(cmd, check=True)
    card = json.loads(out.with_suffix(".json").read_text())
    card["_command"] = " ".join(["edgerestore", *cmd[3:]])
    return card


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--init-from", type=Path,
                    default=ROOT / "src" / "edgerestore" / "models" / "weights"
                    / "blindspot_eff_gauss25_rgb.safetensors")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--patch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", type=Path, default=ROOT / "runs" / "precision_quality")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "precision_quality.json")
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    runs = {}
    for precision in ("fp32", "bf16"):
        card = train(args, precision, args.work)
        runs[precision] = {"dev_psnr": card["dev_psnr"],
                           "images_seen": card["training"]["images_seen"],
                           "training_s": card["wall_time_s"], "command": card["_command"]}
    diff = runs["bf16"]["dev_psnr"] - runs["fp32"]["dev_psnr"]
    result = {
        "command": "python benchmarks/precision_quality.py " + " ".join(
            sys.argv[1:] if argv is None else argv),
        "init_from": args.init_from.name, "steps": args.steps, "batch": args.batch,
        "patch": args.patch, "lr": args.lr, "threads": args.threads,
        "dev_set": "CBSD68, first 8 images, gauss:25, seed 0, posterior mean",
        "runs": runs, "bf16_minus_fp32_db": diff, "tolerance_db": TOLERANCE_DB,
        "within_tolerance": abs(diff) <= TOLERANCE_DB,
        "machine": {"cpu": platform.processor() or platform.machine()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"fp32 {runs['fp32']['dev_psnr']:.3f} dB, bf16 {runs['bf16']['dev_psnr']:.3f} dB "
          f"(difference {diff:+.3f}); wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
