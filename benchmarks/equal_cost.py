"""Laine et al.'s four-rotation U-Net against the dilated blind-spot nets at equal cost.

The paper claims state-of-the-art self-supervised quality "at up to 4x fewer
operations" than Laine et al.'s U-Net. Inference MACs alone do not test that: a
cheaper net that needs far more training to reach the same PSNR is not cheaper to
have. So every net is trained here from scratch with the same recipe (CBSD400,
Gaussian sigma 25, seed 0, pixels per step, learning rate, Laine's ramps, bf16 +
channels_last) for the same wall-clock budget on this machine, one after the other
(never two at once), with no dev evaluation inside the budget. Each checkpoint's
weights are kept (``--keep-snapshots``) and scored afterwards on the full CBSD68
(sigma 25, seed 0, noise not clipped, posterior mean, 8-bit PSNR): the curves give
PSNR at equal images seen and at equal minutes, the last point of each is the
equal-wall-clock result. CBM3D on the same seed-0 noisy images is read from
``results/blindspot_gauss25_rgb_CBSD68.json`` (same protocol, nothing re-run).

Mid-run snapshots are taken at the full learning rate (the ramp-down is laid over
the last 30% of each run), so a point that is the end of one net's run and the
middle of another's slightly favours the former; the table says which points are
ends of runs.

Patch size is the one thing that differs, because the architectures need it: the
dilated nets see 43x43 / 35x35 pixels and train on 64x64 patches; Laine's U-Net pools
five times, and trained on 64x64 patches its deepest features only ever see zero
borders, so on full-size images it fails (measured: 35.2 dB on a 64x64 crop, 16.7 dB on
the whole 481x321 image of the same model). It trains on Laine et al.'s 256x256, with
the batch set so that every net sees the same pixels per step (``--pixels-per-step``).

    python benchmarks/equal_cost.py --data-root ../shared/data --budget-minutes 15

Training is resumable: a finished net is not trained again, an interrupted one
continues with ``--resume``; snapshot scores are cached in the run folder.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_throughput import TRAINERS, forward_macs_per_pixel

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "equal_cost.json"
CBM3D_SOURCE = ROOT / "benchmarks" / "results" / "blindspot_gauss25_rgb_CBSD68.json"
#: Compared nets: the throughput benchmark's trainers of the same names (one definition).
NETS = ("blindspot_faithful", "blindspot_efficient", "laine_unet")
#: Training patch side per net (see the module docstring for why the U-Net's differs).
PATCH = {"blindspot_faithful": 64, "blindspot_efficient": 64, "laine_unet": 256}


def patches64(images: int, patch: int) -> int:
    """Training patches of side ``patch`` counted as 64x64 equivalents (pixels / 4,096)."""
    return images * patch**2 // 64**2


def train_command(net: str, data: Path, run_root: Path, budget: float, pixels: int,
                  lr: float, checkpoint_pixels: int, threads: int) -> list[str]:
    """The ``edgerestore train blindspot`` command line for one net of the comparison."""
    kind, extra, _, _ = TRAINERS[net]
    patch = PATCH[net]
    batch = max(1, pixels // patch**2)
    checkpoint_every = max(1, checkpoint_pixels // (batch * patch**2))
    return [sys.executable, "-m", "edgerestore", "train", kind, "--data", str(data),
            "--out", str(run_root / f"{net}.safetensors"), "--run-dir", str(run_root / net),
            *extra, "--noise", "gauss25", "--budget-minutes", f"{budget:g}",
            "--batch", str(batch), "--patch", str(patch), "--lr", f"{lr:g}",
            "--precision", "bf16", "--threads", str(threads), "--device", "cpu",
            "--checkpoint-every", str(checkpoint_every), "--keep-snapshots", "--seed", "0"]


def ensure_trained(net: str, cmd: list[str], run_root: Path) -> None:
    """Train ``net`` unless its finished weights exist; resume an interrupted run."""
    card_path = run_root / f"{net}.json"
    if card_path.exists() and json.loads(card_path.read_text())["training"]["finished"]:
        return
    resume = (run_root / net / "checkpoint.pt").exists()
    env = {**os.environ, "OMP_NUM_THREADS": cmd[cmd.index("--threads") + 1]}
    subprocess.run([*cmd, "--resume"] if resume else [*cmd, "--overwrite"], check=True,
                   env=env)


def chosen_snapshots(folder: Path, every: int, patch: int) -> list[Path]:
    """The snapshots at multiples of ``every`` 64x64-patch equivalents, and the last one."""
    snaps = sorted(folder.glob("*.safetensors"))
    keep = [p for p in snaps
            if patches64(int(p.stem.rsplit("_", 1)[1]), patch) % every == 0]
    if snaps and snaps[-1] not in keep:
        keep.append(snaps[-1])
    return keep


def score_snapshot(path: Path, items: list, cache: dict[str, Any]) -> dict[str, Any]:
    """CBSD68 PSNR of one snapshot (posterior mean), cached by file name, size and mtime."""
    import torch

    from edgerestore.models.evaluate import score, torch_denoiser
    from edgerestore.models.weights_io import load_card, load_weights

    stat = path.stat()
    key = f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}"
    if key not in cache:
        model, _ = load_weights(path)
        card = load_card(path)
        with torch.inference_mode():
            result = score(torch_denoiser(model, "posterior", "gauss"), items,
                           desc=path.stem, with_ssim=False)
        training = card["training"]
        cache[key] = {"images_seen": patches64(training["images_seen"], training["patch"]),
                      "elapsed_s": card["wall_time_s"], "psnr": result["psnr"]}
    return cache[key]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-root", type=Path, required=True,
                   help="folder with train/CBSD400 and eval/CBSD68")
    p.add_argument("--budget-minutes", type=float, default=15.0, help="per net")
    p.add_argument("--nets", nargs="+", choices=NETS, default=list(NETS))
    p.add_argument("--pixels-per-step", type=int, default=16 * 64 * 64,
                   help="batch x patch^2 of every net (default 16 patches of 64x64)")
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--checkpoint-every", type=int, default=4000,
                   help="64x64-patch equivalents between snapshots")
    p.add_argument("--eval-every", type=int, default=8000,
                   help="score the snapshots at multiples of this many 64x64-patch "
                        "equivalents (and each end)")
    p.add_argument("--eval-limit", type=int, help="score on the first N CBSD68 images only")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--run-root", type=Path, default=ROOT / "runs" / "equal_cost")
    p.add_argument("--json", type=Path, default=RESULTS)
    args = p.parse_args(argv)

    import torch

    from edgerestore.models.evaluate import noisy_set
    from edgerestore.runtime.noise import NoiseSpec

    args.run_root.mkdir(parents=True, exist_ok=True)
    data = args.data_root / "train" / "CBSD400"
    commands = {net: train_command(net, data, args.run_root, args.budget_minutes,
                                   args.pixels_per_step, args.lr,
                                   args.checkpoint_every * 64**2, args.threads)
                for net in args.nets}
    for net in args.nets:
        ensure_trained(net, commands[net], args.run_root)

    torch.set_num_threads(args.threads)
    items = noisy_set(args.data_root / "eval" / "CBSD68", NoiseSpec.parse("gauss:25"), seed=0,
                      channels=3, limit=args.eval_limit)
    cache_path = args.run_root / "scores.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    nets: dict[str, Any] = {}
    for net in args.nets:
        card = json.loads((args.run_root / f"{net}.json").read_text())
        curve = []
        for snap in chosen_snapshots(args.run_root / net / "snapshots", args.eval_every,
                                     PATCH[net]):
            curve.append(score_snapshot(snap, items, cache))
            cache_path.write_text(json.dumps(cache, indent=1))
        seen = patches64(card["training"]["images_seen"], PATCH[net])
        nets[net] = {"command": " ".join(Path(c).name if c == sys.executable else str(c)
                                         for c in commands[net][1:]),
                     "macs_per_pixel": forward_macs_per_pixel(net),
                     "patch": PATCH[net], "images_seen": seen,
                     "wall_time_s": card["wall_time_s"],
                     "patches_per_s": seen / card["wall_time_s"],
                     "curve": curve, "final_psnr": curve[-1]["psnr"]}
    cbm3d = json.loads(CBM3D_SOURCE.read_text())["cbm3d"]
    result = {"command": "python benchmarks/equal_cost.py " + " ".join(argv or sys.argv[1:]),
              "budget_minutes": args.budget_minutes, "pixels_per_step": args.pixels_per_step,
              "lr": args.lr, "threads": args.threads,
              "test_set": f"CBSD68 ({len(items)} images), gauss:25, seed 0, posterior mean",
              "cbm3d_psnr": cbm3d["psnr"] if args.eval_limit is None else None,
              "cbm3d_source": CBM3D_SOURCE.name, "nets": nets}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))
    for net, r in nets.items():
        print(f"{net}: {r['images_seen']} patches in {r['wall_time_s'] / 60:.1f} min, "
              f"{r['final_psnr']:.2f} dB, {r['macs_per_pixel'] / 1e3:.1f} kMAC/px")


if __name__ == "__main__":
    main()
