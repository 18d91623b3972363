"""Latency matrix: model x backend/precision x input size x threads, with a roofline.

Models: the faithful dilated blind-spot net, its efficient variant, Laine et al.'s
four-rotation U-Net (random init: no trained weights are shipped, and latency does
not depend on the weights), the MAP denoiser and, if its weights exist, the
efficient MAP denoiser. Backends: PyTorch eager fp32, ONNX Runtime fp32/fp16/int8,
LiteRT fp32/fp16/int8 (XNNPACK). Every variant is a worker process of
:mod:`edgerestore.runtime.bench` (its own peak RSS), run round-robin with the others
of its group together with the roofline probes of :mod:`roofline`; reported: median,
p10, p90 of the timed runs, first run, session creation, peak RSS, file size, and
the achieved share of this CPU's measured conv/matmul peak.

A full matrix would take about an hour on a 2-core machine, so :data:`PLAN` times
every variant at 256x256 (the TFLite tile) and only the deployable fast paths at
512x512 and 1920x1080; the plan is written into the results. Exported files are
reused from ``runs/export/<model>`` (when their weights hash matches) or
``runs/bench/export/<model>``; missing ones are exported there first.

    python benchmarks/latency.py            # full run (about 10 min here)
    python benchmarks/latency.py --quick    # efficient model, 256x256, a few minutes
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import roofline

from edgerestore.runtime.bench import Variant, file_variant, format_table, machine_info, measure

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WEIGHTS = ROOT / "src" / "edgerestore" / "models" / "weights"
BENCH = ROOT / "runs" / "bench"
BACKENDS = ("torch fp32", "onnx fp32", "onnx fp16", "onnx int8", "tflite fp32", "tflite fp16",
            "tflite int8")
TFLITE_TILE = 256


@dataclass(frozen=True)
class Model:
    key: str
    weights: Path  # what PyTorch runs and what MACs are counted on
    note: str = ""


@dataclass(frozen=True)
class Group:
    """Variants timed round-robin together (with the roofline probes at ``threads``)."""

    size: tuple[int, int]  # (height, width)
    models: tuple[str, ...]
    backends: tuple[str, ...]
    threads: tuple[int, ...]
    runs: int
    warmup: int


def models() -> dict[str, Model]:
    out = {
        "faithful": Model("blindspot_gauss25_rgb", WEIGHTS / "blindspot_gauss25_rgb.safetensors"),
        "efficient": Model("blindspot_eff_gauss25_rgb",
                           WEIGHTS / "blindspot_eff_gauss25_rgb.safetensors"),
        "laine": Model("laine_random_rgb", BENCH / "laine_random_rgb.safetensors",
                       "Laine et al. four-rotation U-Net, random init (not trained here); "
                       "latency does not depend on the weights"),
        "map": Model("map_rgb", WEIGHTS / "map_rgb.safetensors"),
    }
    if (WEIGHTS / "map_eff_rgb.safetensors").is_file():
        out["map_eff"] = Model("map_eff_rgb", WEIGHTS / "map_eff_rgb.safetensors")
    return out


ALL = ("faithful", "efficient", "laine", "map", "map_eff")
FAST = ("torch fp32", "onnx fp32", "tflite int8")
PLAN = (
    Group((256, 256), ("faithful", "efficient"), BACKENDS, (1,), runs=5, warmup=1),
    Group((256, 256), ALL, BACKENDS, (2,), runs=5, warmup=1),
    Group((512, 512), ("faithful", "efficient", "map", "map_eff"), FAST, (2,), runs=3,
          warmup=0),
    Group((512, 512), ("laine",), ("onnx fp32",), (2,), runs=3, warmup=0),
    Group((1080, 1920), ("faithful", "efficient", "map", "map_eff"), ("tflite int8",), (2,),
          runs=2, warmup=0),
    Group((1080, 1920), ("efficient",), ("onnx fp32",), (2,), runs=2, warmup=0),
)
QUICK = (Group((256, 256), ("efficient",), ("onnx fp32", "onnx int8", "tflite int8"), (2,),
               runs=3, warmup=1),)
PLAN_TEXT = (
    "256x256: every model x every backend/precision at 2 threads, and the faithful and "
    "efficient models also at 1 thread (5 timed runs, 1 warm-up); 512x512: PyTorch, ONNX "
    "fp32 and LiteRT int8 (256x256 tiles) at 2 threads (Laine: ONNX fp32 only; 3 timed runs); "
    "1920x1080 through the runtime's tiling: LiteRT int8 for every model and ONNX fp32 for "
    "the efficient model, 2 threads (2 timed runs). Each group (same size and threads) is "
    "one round-robin with the roofline probes at its thread count.")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _exported_from(path: Path, model: Model) -> bool:
    """Whether ``path`` exists and its sidecar card names these very weights (by sha256),
    so a file exported before a retraining is never timed in place of the current one."""
    card = path.with_name(path.name + ".json")
    return path.is_file() and card.is_file() and json.loads(card.read_text()).get(
        "source", {}).get("weights_sha256") == _sha256(model.weights)


def export_file(model: Model, backend: str) -> Path:
    """Where the exported file of ``model`` for ``backend`` ("onnx int8", ...) lives:
    ``runs/export/<model>`` when it holds a current file, else ``runs/bench/export``."""
    fmt, precision = backend.split()
    name = (f"{model.key}_{precision}.onnx" if fmt == "onnx"
            else f"{model.key}_{precision}_{TFLITE_TILE}x{TFLITE_TILE}.tflite")
    shared = ROOT / "runs" / "export" / model.key / name
    return shared if _exported_from(shared, model) else BENCH / "export" / model.key / name


def ensure_exports(model: Model, backends: set[str], failures: dict[str, str]) -> None:
    """Export the missing files (one ``edgerestore export`` per format), noting failures."""
    failed_log = BENCH / "export" / model.key / "failed.json"
    known = json.loads(failed_log.read_text()) if failed_log.is_file() else {}
    missing = sorted(b for b in backends if not b.startswith("torch")
                     and not _exported_from(export_file(model, b), model) and b not in known)
    for fmt in ("onnx", "tflite"):
        for backend in (b for b in missing if b.startswith(fmt)):
            cmd = ["edgerestore", "-q", "export", "--model", str(model.weights), "--format",
                   fmt, "--precision", backend.split()[1], "--out",
                   str(BENCH / "export" / model.key)]
            print(f"exporting {model.key} {backend}: {shlex.join(cmd)}", flush=True)
            proc = subprocess.run([str(Path(sys.executable).with_name("edgerestore")), *cmd[1:]],
                                  capture_output=True, text=True)
            if proc.returncode:
                lines = (proc.stderr.strip() or "no message").splitlines()
                known[backend] = f"{shlex.join(cmd)} -> exit {proc.returncode}: {lines[-1]}"
    for backend, message in known.items():
        if backend in backends:
            failures[f"{model.key} {backend}"] = message
    if known:
        failed_log.parent.mkdir(parents=True, exist_ok=True)
        failed_log.write_text(json.dumps(known, indent=2) + "\n")


def make_laine(path: Path) -> None:
    """Laine's four-rotation U-Net with a Gaussian head, random init (seed 0)."""
    import torch

    from edgerestore.models import gaussian_head
    from edgerestore.models.blindspot_denoiser import BlindSpotDenoiser
    from edgerestore.models.laine_unet import LaineBlindSpotUNet
    from edgerestore.models.weights_io import save_weights

    torch.manual_seed(0)
    model = BlindSpotDenoiser(LaineBlindSpotUNet(3, gaussian_head.out_channels_for(3)), 3).eval()
    save_weights(model, model.config(), path,
                 card={"name": path.stem, "noise": "gauss:25", "sigma": 25.0,
                       "note": "random init, latency only"})


BUILDERS = {"laine_random_rgb": make_laine}


def model_costs(model: Model) -> dict[str, Any]:
    """MACs per pixel (at 256x256) and parameters, counted on the PyTorch module."""
    from edgerestore.models.blindspot_denoiser import BlindSpotDenoiser
    from edgerestore.models.macs import count
    from edgerestore.models.weights_io import load_weights

    net, config = load_weights(model.weights)
    counted = net.backbone if isinstance(net, BlindSpotDenoiser) else net
    c = count(counted, int(config["channels"]), 256, 256)
    return {"weights": str(model.weights.relative_to(ROOT)), "macs_per_pixel": c.macs_per_pixel,
            "params": c.params, "arch": config.get("arch"), "note": model.note}


def torch_variant(model: Model, costs: dict[str, Any], threads: int,
                  size: tuple[int, int]) -> Variant:
    height, width = size
    command = [sys.executable, str(HERE / "torch_eager.py"), str(model.weights), str(threads),
               str(height), str(width)]
    row = {"model": model.key, "file": model.weights.name, "format": "pytorch",
           "precision": "fp32", "backend": "torch-eager", "threads": threads,
           "input": f"{width}x{height}", "file_size_bytes": model.weights.stat().st_size,
           "macs_per_pixel": costs["macs_per_pixel"]}
    return Variant(command, row)


def probe_variants(threads: int, litert: dict[str, tuple[Path, float]]) -> list[Variant]:
    out = [Variant(roofline.worker_command(kind, threads),
                   {"model": kind, "file": None, "format": "probe", "precision": precision,
                    "backend": kind.split("_")[0], "threads": threads, "input": "-",
                    "file_size_bytes": 0, "gmac_per_run": gmac})
           for kind, (precision, gmac) in roofline.PROBES.items()]
    for kind, (path, gmac) in litert.items():
        variant = file_variant(path, threads, roofline.CONV["side"], roofline.CONV["side"])
        variant.row.update(model=kind, format="probe", gmac_per_run=gmac)
        out.append(variant)
    return out


def run_group(group: Group, catalog: dict[str, Model], costs: dict[str, dict[str, Any]],
              failures: dict[str, str], litert: dict[str, tuple[Path, float]],
              ) -> tuple[list[dict], list[dict], dict]:
    """Time one group; returns (model rows, probe rows, how the group ran)."""
    variants = []
    for threads in group.threads:
        for key in group.models:
            if key not in catalog:
                continue
            model = catalog[key]
            for backend in group.backends:
                if backend.startswith("torch"):
                    variants.append(torch_variant(model, costs[key], threads, group.size))
                    continue
                path = export_file(model, backend)
                if not path.is_file():
                    failures.setdefault(f"{model.key} {backend}", "no exported file")
                    continue
                variants.append(file_variant(path, threads, *group.size,
                                             macs_per_pixel=costs[key]["macs_per_pixel"]))
        variants += probe_variants(threads, litert)
    label = f"{group.size[1]}x{group.size[0]}, threads {group.threads}"
    print(f"group {label}: {len(variants)} workers, {group.runs} timed runs", flush=True)
    start, load_before = time.perf_counter(), os.getloadavg()[0]
    rows = measure(variants, group.runs, group.warmup,
                   on_round=lambda msg: print(f"  {label}: {msg}", flush=True))
    meta = {"input": f"{group.size[1]}x{group.size[0]}", "threads": list(group.threads),
            "workers": len(variants), "runs": group.runs, "warmup": group.warmup,
            "seconds": round(time.perf_counter() - start, 1),
            "load_average_before": load_before, "load_average_after": os.getloadavg()[0]}
    print(f"  done in {meta['seconds']:.0f} s", flush=True)
    probes = [r for r in rows if r["format"] == "probe"]
    for p in probes:
        p["gmacs_per_s"] = p["gmac_per_run"] / (p["median_ms"] / 1e3)
    return [r for r in rows if r["format"] != "probe"], probes, meta


def peaks(probes: list[dict]) -> dict[str, float]:
    """Best measured GMAC/s per precision class and thread count in one group."""
    best: dict[str, float] = {}
    for p in probes:
        key = f"{p['precision']}@{p['threads']}"
        best[key] = max(best.get(key, 0.0), p["gmacs_per_s"])
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="efficient model, 256x256, three backends (a smoke run)")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "latency.json")
    args = ap.parse_args()
    start = time.perf_counter()
    plan = QUICK if args.quick else PLAN
    catalog = models()
    wanted = {k for g in plan for k in g.models if k in catalog}
    for key in wanted:
        if not catalog[key].weights.is_file():
            BUILDERS[catalog[key].key](catalog[key].weights)
    failures: dict[str, str] = {}
    for key in sorted(wanted):
        needed = {b for g in plan if key in g.models for b in g.backends}
        ensure_exports(catalog[key], needed, failures)
    costs = {key: model_costs(catalog[key]) for key in sorted(wanted)}
    litert_probes = roofline.prepare_all()
    rows, probes, groups = [], [], []
    for index, group in enumerate(plan):
        group_rows, group_probes, meta = run_group(group, catalog, costs, failures,
                                                   litert_probes)
        groups.append(meta)
        best = peaks(group_probes)
        for r in group_rows:
            cls = "int8" if r["precision"] == "int8" else "fp32"
            peak = best.get(f"{cls}@{r['threads']}")
            r.update(group=index, peak_gmacs_per_s=peak,
                     peak_share=(r["gmacs_per_s"] / peak) if peak and r["gmacs_per_s"] else None)
        for p in group_probes:
            p["group"] = index
        rows += group_rows
        probes += group_probes
        print(format_table(group_rows), flush=True)
    report = {
        "command": "python benchmarks/latency.py" + (" --quick" if args.quick else ""),
        "machine": machine_info(), "wall_s": round(time.perf_counter() - start, 1),
        "plan": "quick: efficient model, 256x256, 3 backends, 2 threads" if args.quick
        else PLAN_TEXT,
        "method": "one worker process per variant; per group: all sessions opened, then 1 "
                  "first run each, warm-up rounds, timed rounds, each round visiting every "
                  "worker once (round-robin); percentiles by linear interpolation",
        "roofline": "peak = best GMAC/s of the probes (ORT conv/matmul, numpy matmul, LiteRT "
                    "conv net) of the "
                    "same precision class (fp16 files against the fp32 peak; there is no fp16 "
                    "probe) at the same thread count, in the "
                    "same group; model GMAC/s = MACs/pixel x image pixels / median",
        "groups": groups, "models": costs, "export_failures": failures, "results": rows,
        "probes": probes,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out} ({report['wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
