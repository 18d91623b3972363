"""The papers' two efficiency claims, checked against what we measured.

1. Blind-spot efficiency ("up to 4x fewer operations" than Laine et al.'s
   four-rotation U-Net): MACs per pixel counted on the PyTorch modules
   (:mod:`edgerestore.models.macs`, at 256x256), measured latency from
   ``results/latency.json`` (same run, same machine, 256x256, 2 threads), and PSNR on
   CBSD68 at sigma 25 from ``results/blindspot_summary.json``. Laine's U-Net is not
   trained here: it has MACs and latency, no PSNR.
2. MAP-PnP speed (about 70x): time for ADMM with the MAP denoiser to reach DMSP's
   final PSNR against DMSP's time, same DAE, images and machine, from the ``speed``
   and ``convergence`` blocks ``edgerestore eval deblur`` writes
   (``results/pnp_speed_*.json``, ``results/deblur_*.json``).

Writes ``results/claims.json``; ``benchmarks/report.py`` renders it.

    python benchmarks/claims.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
CLAIMED_OPS_RATIO = 4.0
CLAIMED_PNP_SPEEDUP = 70.0
LATENCY_BACKENDS = ("pytorch fp32", "onnx fp32", "tflite fp32", "tflite int8")


def _paper_default_costs() -> dict[str, Any]:
    """MACs of the dilated net at the paper's default width (not trained, not timed)."""
    from edgerestore.models import gaussian_head
    from edgerestore.models.blindspot import DilatedBlindSpotNet
    from edgerestore.models.macs import count

    c = count(DilatedBlindSpotNet(3, gaussian_head.out_channels_for(3)), 3, 256, 256)
    return {"macs_per_pixel": c.macs_per_pixel, "dense_macs_per_pixel": c.dense_macs_per_pixel,
            "params": c.params}


def _dense(weights: Path) -> float:
    from edgerestore.models.blindspot_denoiser import BlindSpotDenoiser
    from edgerestore.models.macs import count
    from edgerestore.models.weights_io import load_weights

    net, config = load_weights(weights)
    counted = net.backbone if isinstance(net, BlindSpotDenoiser) else net
    return count(counted, int(config["channels"]), 256, 256).dense_macs_per_pixel


def blindspot_claim() -> dict[str, Any]:
    latency = json.loads((RESULTS / "latency.json").read_text())
    summary = json.loads((RESULTS / "blindspot_summary.json").read_text())
    psnr = {r["model"]: r["posterior"] for r in summary["rows"] if r["dataset"] == "CBSD68"}
    medians: dict[str, dict[str, float]] = {}
    for r in latency["results"]:
        if r["input"] == "256x256" and r["threads"] == 2:
            medians.setdefault(r["model"], {})[f"{r['format']} {r['precision']}"] = r["median_ms"]
    names = {k: Path(v["weights"]).stem for k, v in latency["models"].items()}
    laine_key = names["laine"]
    laine = latency["models"]["laine"]
    rows = []
    for role, label in (("faithful", "faithful dilated (shipped)"),
                        ("efficient", "efficient dilated (shipped)"),
                        ("laine", "Laine U-Net, 4 rotations (random init)")):
        key, costs = names[role], latency["models"][role]
        row = {"model": key, "label": label, "macs_per_pixel": costs["macs_per_pixel"],
               "dense_macs_per_pixel": _dense(ROOT / costs["weights"]),
               "params": costs["params"],
               "laine_over_model_macs": laine["macs_per_pixel"] / costs["macs_per_pixel"],
               "median_ms_256": {b: medians.get(key, {}).get(b) for b in LATENCY_BACKENDS},
               "psnr_cbsd68_s25": psnr.get(key)}
        row["laine_over_model_latency"] = {
            b: (medians[laine_key][b] / medians[key][b])
            if medians.get(laine_key, {}).get(b) and medians.get(key, {}).get(b) else None
            for b in LATENCY_BACKENDS}
        rows.append(row)
    default = _paper_default_costs()
    default.update(model="DilatedBlindSpotNet() defaults", label="paper-default width 128 "
                   "(not trained, not timed)",
                   laine_over_model_macs=laine["macs_per_pixel"] / default["macs_per_pixel"])
    rows.append(default)
    ratios = ", ".join(f"{r['label']} {r['laine_over_model_macs']:.2f}x" for r in rows
                       if r["model"] != laine_key)
    ours = [r for r in rows if r["model"] != laine_key]
    holds = [r["label"] for r in ours if r["laine_over_model_macs"] >= CLAIMED_OPS_RATIO]
    fails = [r["label"] for r in ours if r["laine_over_model_macs"] < CLAIMED_OPS_RATIO]
    verdict = (f"Measured MAC ratios (Laine / ours, 256x256): {ratios}. 'Up to "
               f"{CLAIMED_OPS_RATIO:g}x fewer operations' holds for: "
               f"{', '.join(holds) or 'none'}; not for: {', '.join(fails) or 'none'}.")
    return {"claim": f"up to {CLAIMED_OPS_RATIO:g}x fewer operations than Laine et al.'s U-Net",
            "rows": rows, "holds_for": holds,
            "verdict": verdict, "latency_source": "benchmarks/results/latency.json",
            "latency_command": latency["command"],
            "psnr_source": "benchmarks/results/blindspot_summary.json"}


def _first_time_reaching(curve: dict[str, list[float]], target: float) -> float | None:
    for psnr, seconds in zip(curve["psnr"], curve["seconds"], strict=True):
        if psnr >= target:
            return seconds
    return None


def pnp_claim(results: Path = RESULTS) -> dict[str, Any]:
    """Every deblurring run in ``results`` that timed ADMM against DMSP, and the verdict."""
    runs = []
    for path in sorted([*results.glob("pnp_speed_*.json"), *results.glob("deblur_*.json")]):
        result = json.loads(path.read_text())
        speed = result.get("speed")
        if not speed:
            continue
        source = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        entry = {"source": str(source), "command": result.get("command"),
                 "sigma": result.get("sigma"), "images": result.get("images"),
                 "denoiser": result.get("denoiser"), "dae": result.get("dae"),
                 "cases": speed["cases"], "cases_reached": speed["cases_reached"],
                 "speedup_mean": speed.get("speedup_mean"),
                 "per_case": [{k: c.get(k) for k in
                               ("image", "kernel", "dmsp_psnr", "dmsp_seconds", "admm_psnr",
                                "admm_seconds", "admm_seconds_to_reach_dmsp_psnr", "speedup")}
                              for c in speed.get("per_image", [])]}
        conv = result.get("convergence")
        if conv and "admm" in conv and "dmsp" in conv:
            admm_final = conv["admm"]["psnr"][-1]
            entry["curve"] = {
                "case": f"{conv.get('image')} x {conv.get('kernel')}",
                "admm_final_psnr": admm_final, "admm_seconds": conv["admm"]["seconds"][-1],
                "dmsp_final_psnr": conv["dmsp"]["psnr"][-1],
                "dmsp_seconds": conv["dmsp"]["seconds"][-1],
                "dmsp_seconds_to_reach_admm_final": _first_time_reaching(conv["dmsp"],
                                                                         admm_final)}
        runs.append(entry)
    reached = [r for r in runs if r["cases_reached"]]
    if not runs:
        verdict = "no deblurring speed run on disk (results/pnp_speed_*.json, deblur_*.json)"
    elif not reached:
        verdict = (f"Not reproduced: in {sum(r['cases'] for r in runs)} case(s) over "
                   f"{len(runs)} run(s), ADMM-MAP never reached DMSP's final PSNR, so no "
                   f"speed-up can be stated (claimed about {CLAIMED_PNP_SPEEDUP:g}x).")
    else:
        speedups = [c["speedup"] for r in reached for c in r["per_case"] if c.get("speedup")]
        per_run = "; ".join(f"{r['source'].rsplit('/', 1)[-1]}: mean {r['speedup_mean']:.1f}x "
                            f"over {r['cases_reached']} of {r['cases']}" for r in reached)
        verdict = (f"ADMM-MAP reached DMSP's final PSNR in "
                   f"{sum(r['cases_reached'] for r in runs)} of {sum(r['cases'] for r in runs)} "
                   f"case(s); speed-up there {min(speedups):.1f}-{max(speedups):.1f}x, mean "
                   f"{sum(speedups) / len(speedups):.1f}x ({per_run}); claimed about "
                   f"{CLAIMED_PNP_SPEEDUP:g}x, so the claim is not reproduced on this CPU.")
    return {"claim": f"ADMM with the MAP denoiser is about {CLAIMED_PNP_SPEEDUP:g}x faster "
                     "than DMSP to the same PSNR", "runs": runs, "verdict": verdict}


def main() -> None:
    claims = {"command": "python benchmarks/claims.py", "blindspot": blindspot_claim(),
              "pnp": pnp_claim()}
    target = RESULTS / "claims.json"
    target.write_text(json.dumps(claims, indent=2) + "\n")
    print(claims["blindspot"]["verdict"])
    print(claims["pnp"]["verdict"])
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
