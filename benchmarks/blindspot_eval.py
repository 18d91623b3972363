"""Evaluate every shipped blind-spot model with the benchmark protocol and tabulate it.

For each model: CBSD68 (colour) or BSD68 and Set12 (grey) at sigma 25, seed 0,
with the three inference modes (posterior mean with the known sigma, with an
estimated sigma, prior mean only) and (C)BM3D at the true sigma on the same noisy
images in the same run. Results go into the model cards, into
``benchmarks/results/<model>_<set>.json``, and into the table
``benchmarks/results/blindspot.md`` together with MACs per pixel (Laine's U-Net for
reference). ``--models`` re-evaluates a subset; the other rows of the table are kept;
``--reuse-baseline`` keeps each model's earlier (C)BM3D result instead of rerunning it.

    python benchmarks/blindspot_eval.py --data-root ../shared/data
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from edgerestore.cli import main as cli
from edgerestore.models import gaussian_head
from edgerestore.models.laine_unet import LaineBlindSpotUNet
from edgerestore.models.macs import count
from edgerestore.models.weights_io import load_weights

HERE = Path(__file__).resolve().parent
WEIGHTS = HERE.parent / "src" / "edgerestore" / "models" / "weights"
#: The noise seed of every evaluation here: (C)BM3D results are reusable across models
#: because they all score the same seeded noisy images.
SEED = 0
MODELS = {
    "blindspot_gauss25_rgb": ["CBSD68"],
    "blindspot_eff_gauss25_rgb": ["CBSD68"],
    "blindspot_gauss5_50_rgb": ["CBSD68"],
    "blindspot_gauss25_gray": ["BSD68", "Set12"],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-root", type=Path, required=True)
    ap.add_argument("--sigma", type=float, default=25.0)
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--bm3d-cache", type=Path, default=Path("runs/bm3d_cache"))
    ap.add_argument("--reuse-baseline", action="store_true",
                    help="keep the (C)BM3D result of the model's earlier JSON for the same "
                         "set, noise and seed instead of rerunning it")
    args = ap.parse_args()
    out = HERE / "results"
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.models:
        weights = WEIGHTS / f"{name}.safetensors"
        model, config = load_weights(weights)
        macs = count(model.backbone, config["channels"], 256, 256)
        for dataset in MODELS[name]:
            js = out / f"{name}_{dataset}.json"
            kept = earlier_baseline(js, args.sigma) if args.reuse_baseline else {}
            bm3d = [] if kept else ["--bm3d", "--bm3d-cache", str(args.bm3d_cache)]
            code = cli(["-q", "eval", "denoise", "--model", str(weights), "--images",
                        str(args.data_root / "eval" / dataset), "--noise",
                        noise_spec(args.sigma), "--seed", str(SEED), "--mode", "all", *bm3d,
                        "--json", str(js), "--card"])
            if code:
                raise SystemExit(f"evaluation of {name} on {dataset} failed")
            result = json.loads(js.read_text())
            if kept:  # the kept baseline goes into the file the eval just wrote
                result.update(kept)
                js.write_text(json.dumps(result, indent=2) + "\n")
            baseline = result.get("cbm3d") or result.get("bm3d")
            rows.append({"model": name, "dataset": dataset, "macs_per_pixel": macs.macs_per_pixel,
                         "params": macs.params,
                         **{m: result["modes"][m]["psnr"] for m in result["modes"]},
                         "bm3d": baseline["psnr"], "bm3d_name": "CBM3D" if "cbm3d" in result
                         else "BM3D"})
    summary_path = out / "blindspot_summary.json"
    if summary_path.exists():  # keep the rows of models not re-evaluated in this run
        earlier = json.loads(summary_path.read_text())["rows"]
        rows += [r for r in earlier if r["model"] not in args.models]
    rows.sort(key=lambda r: (list(MODELS).index(r["model"]), r["dataset"]))
    laine = count(LaineBlindSpotUNet(3, gaussian_head.out_channels_for(3)), 3, 256, 256)
    summary = {"sigma": args.sigma, "seed": SEED, "rows": rows,
               "laine_macs_per_pixel": laine.macs_per_pixel, "laine_params": laine.params}
    summary_path.write_text(json.dumps(summary, indent=2) + "\n")
    (out / "blindspot.md").write_text(table(summary))
    print(table(summary))


def noise_spec(sigma: float) -> str:
    """The ``--noise`` spec of the evaluation, as its result file records it."""
    return f"gauss:{sigma:g}"


def earlier_baseline(path: Path, sigma: float) -> dict:
    """The (C)BM3D entry of an earlier result file with the same noise and :data:`SEED`.

    (C)BM3D scores the same seeded noisy images whatever the model, so a retrained model
    can be scored without rerunning it (~25 s per colour image on this CPU).
    """
    if not path.is_file():
        return {}
    earlier = json.loads(path.read_text())
    if earlier.get("noise") != noise_spec(sigma) or earlier.get("seed") != SEED:
        return {}
    return {k: earlier[k] for k in ("cbm3d", "bm3d") if k in earlier}


def table(summary: dict) -> str:
    lines = [
        f"Denoising PSNR (dB), Gaussian sigma = {summary['sigma']:g}, seed {summary['seed']}, "
        "noise not clipped, PSNR on the 8-bit output. (C)BM3D is given the true sigma and "
        "runs on the same noisy images in the same run.",
        "",
        "| model | set | MACs/px | vs Laine | posterior (sigma known) | posterior (sigma "
        "estimated) | prior mean | (C)BM3D |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    laine = summary["laine_macs_per_pixel"]
    for r in summary["rows"]:
        lines.append(
            f"| {r['model']} | {r['dataset']} | {r['macs_per_pixel']:,.0f} | "
            f"{r['macs_per_pixel'] / laine:.2f}x | {r['posterior']:.2f} | {r['estimated']:.2f} "
            f"| {r['prior']:.2f} | {r['bm3d']:.2f} ({r['bm3d_name']}) |")
    lines.append(f"| Laine et al. U-Net (reference, not trained here) | | {laine:,.0f} | 1.00x "
                 "| | | | |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
