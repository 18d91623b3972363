"""Render ``benchmarks/RESULTS.md`` and the plots from the raw results JSON.

Nothing here measures: every number comes from ``results/latency.json``
(``latency.py``), ``results/quality.json`` (``quality.py collect``) and
``results/claims.json`` (``claims.py``), so the page can be regenerated at any time
and each table names the command that produced its numbers.

    python benchmarks/report.py [--results DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
ORDER = ("pytorch fp32", "onnx fp32", "onnx fp16", "onnx int8", "tflite fp32", "tflite fp16",
         "tflite int8")


def _load(results: Path, name: str) -> dict[str, Any] | None:
    path = results / name
    return json.loads(path.read_text()) if path.is_file() else None


def _f(value: float | None, fmt: str = ".1f") -> str:
    return "" if value is None else format(value, fmt)


def _table(header: list[str], rows: list[list[str]], right_from: int = 1) -> list[str]:
    align = ["---" if i < right_from else "---:" for i in range(len(header))]
    return ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |",
            *("| " + " | ".join(r) + " |" for r in rows)]


def _variant(r: dict[str, Any]) -> str:
    return f"{r['format']} {r['precision']}"


def _sort_key(r: dict[str, Any]) -> tuple:
    v = _variant(r)
    return (r["model"], ORDER.index(v) if v in ORDER else 99)


def headline_section(lat: dict[str, Any], results: Path = RESULTS) -> list[str]:
    """One row per model: cost, quality and the latencies a user picks a model by."""
    summary = _load(results, "blindspot_summary.json") or {"rows": []}
    psnr = {r["model"]: r["posterior"] for r in summary["rows"] if r["dataset"] == "CBSD68"}
    cells = {(r["model"], _variant(r), r["input"], r["threads"]): r["median_ms"]
             for r in lat["results"]}
    columns = [("onnx fp32", "256x256", 1), ("onnx fp32", "256x256", 2),
               ("tflite int8", "256x256", 1), ("tflite int8", "256x256", 2),
               ("tflite int8", "1920x1080", 2)]
    rows = []
    for costs in lat["models"].values():
        name = Path(costs["weights"]).stem
        rows.append([name, f"{costs['macs_per_pixel']:,.0f}", _f(psnr.get(name), ".2f"),
                     *(_f(cells.get((name, v, size, t)), ".0f") for v, size, t in columns)])
    out = ["## Headline", "",
           f"Median latency in ms (`{lat['command']}`, {lat['machine']['cpu']}, shared "
           "2-core machine; blank: not in the plan); PSNR on CBSD68 at sigma 25 (full set, "
           "`python benchmarks/blindspot_eval.py`; blank: not a sigma-25 blind-spot model).", ""]
    out += _table(["model", "MACs/px", "PSNR", *(f"{v} {size} {t}t" for v, size, t in columns)],
                  rows)
    return [*out, ""]


def latency_section(lat: dict[str, Any]) -> list[str]:
    m = lat["machine"]
    out = ["## Latency", "",
           f"Command: `{lat['command']}` ({lat['wall_s'] / 60:.1f} min). Machine: {m['cpu']}, "
           f"{m['cores']} cores shared with other jobs (load average "
           f"{', '.join(f'{x:.1f}' for x in m['load_average'])} over 1/5/15 min as the run "
           f"ended; each group's load is in the table below), "
           f"numpy {m['versions']['numpy']}, onnxruntime {m['versions']['onnxruntime']}, "
           f"ai-edge-litert {m['versions']['ai-edge-litert']}, torch {m['versions']['torch']}.",
           "", f"Plan: {lat['plan']}", "", f"Method: {lat['method']}.", "",
           f"Roofline: {lat['roofline']}. The probes are achievable references, not bounds: "
           "a share above 100% means a model's layer shapes run faster than the probe "
           "kernels did (and the load from other jobs moves between rounds).", ""]
    out += _table(["group", "input", "threads", "workers", "timed runs", "warm-up", "seconds",
                   "load avg before / after"],
                  [[str(i), g["input"], ",".join(map(str, g["threads"])), str(g["workers"]),
                    str(g["runs"]), str(g["warmup"]), _f(g["seconds"], ".0f"),
                    f"{g['load_average_before']:.1f} / {g['load_average_after']:.1f}"]
                   for i, g in enumerate(lat["groups"])])
    out += [""]
    models = lat["models"]
    out += ["Models (MACs per pixel counted on the PyTorch module at 256x256):", ""]
    out += _table(["role", "model", "MACs/px", "params", "note"],
                  [[k, Path(v["weights"]).stem, f"{v['macs_per_pixel']:,.0f}",
                    f"{v['params']:,}", v["note"]] for k, v in models.items()], right_from=2)
    header = ["model", "backend", "median ms", "p10-p90", "first run", "session", "peak RSS MB",
              "file MB", "GMAC/s", "% of peak"]
    groups: dict[tuple[str, int], list[dict]] = {}
    for r in lat["results"]:
        groups.setdefault((r["input"], r["threads"]), []).append(r)
    for (size, threads), rows in groups.items():
        out += ["", f"### {size}, {threads} thread{'s' if threads > 1 else ''}", ""]
        out += _table(header, [[
            r["model"], _variant(r), _f(r["median_ms"]),
            f"{r['p10_ms']:.0f}-{r['p90_ms']:.0f}", _f(r["first_run_ms"], ".0f"),
            _f(r["session_ms"], ".0f"), _f(r["peak_rss_mb"], ".0f"),
            _f(r["file_size_bytes"] / 1e6, ".2f"), _f(r["gmacs_per_s"]),
            _f(100 * r["peak_share"], ".0f") if r.get("peak_share") else ""]
            for r in sorted(rows, key=_sort_key)], right_from=2)
        tiled = sorted({f"{r['model']} {_variant(r)}: {r['calls']} calls" for r in rows
                        if r.get("calls", 1) > 1})
        if tiled:
            out += ["", "Tiled (the runtime's `ExportedDenoiser`, overlap included): "
                    + "; ".join(tiled) + "."]
    out += ["", "### Roofline probes", ""]
    out += _table(["probe", "precision", "threads", "group", "median ms", "GMAC/s"],
                  [[p["model"], p["precision"], str(p["threads"]), str(p["group"]),
                    _f(p["median_ms"]), _f(p["gmacs_per_s"])] for p in lat["probes"]],
                  right_from=2)
    if lat["export_failures"]:
        out += ["", "Not measured (export failed or file missing):", ""]
        out += [f"- {k}: {v}" for k, v in sorted(lat["export_failures"].items())]
    out += ["", "![latency vs size](latency_vs_size.png)", ""]
    return out


def plot_latency(lat: dict[str, Any], path: Path) -> None:
    """Median latency vs pixels, one line per backend, one panel per model (2 threads)."""
    rows = [r for r in lat["results"] if r["threads"] == 2]
    names = sorted({r["model"] for r in rows})
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.6), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        series: dict[str, list[tuple[int, float]]] = {}
        for r in rows:
            if r["model"] == name:
                w, h = (int(x) for x in r["input"].split("x"))
                series.setdefault(_variant(r), []).append((w * h, r["median_ms"]))
        for variant in sorted(series, key=lambda v: ORDER.index(v) if v in ORDER else 99):
            pts = sorted(series[variant])
            ax.plot([p[0] / 1e6 for p in pts], [p[1] for p in pts], "o-", label=variant)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("megapixels")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("median latency (ms), 2 threads")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def quality_section(q: dict[str, Any]) -> list[str]:
    out = ["## Quality", "", "### Denoising", "",
           "PSNR (dB) on the 8-bit output, Gaussian noise (not clipped), seed 0, posterior "
           "mean with the true sigma (the sigma-25 models too: their Bayesian step takes the "
           "level as an input); (C)BM3D at the true sigma on the same noisy images. "
           "'images' is the number scored: sigma 25 on the full sets, sigma 15 and 50 on the "
           "first images of CBSD68 / BSD68 (`--limit`) and all of Set12, because (C)BM3D "
           "takes about 25 s per colour image on this CPU.", ""]
    out += _table(["model", "set", "sigma", "images", "PSNR", "(C)BM3D", "command"],
                  [[r["model"], r["dataset"], str(r["sigma"]), str(r["images"]),
                    _f(r["psnr"], ".2f"),
                    f"{_f(r['baseline_psnr'], '.2f')} ({r['baseline']})" if r["baseline"]
                    else "", f"`{r['command']}`"] for r in q["denoising"]], right_from=2)
    out += ["", "![PSNR vs sigma](psnr_vs_sigma.png)", ""]
    if q["precisions"]:
        out += ["### Exported precisions", "",
                "Each exported file scored through the torch-free runtime on the same noisy "
                "images as its PyTorch model (CBSD68, first 'images' images, sigma 25, seed 0, "
                "1 thread).", ""]
        out += _table(["model", "variant", "images", "PSNR", "vs PyTorch", "command"],
                      [[r["model"], r["variant"], str(r["images"]), _f(r["psnr"], ".3f"),
                        _f(r["delta"], "+.3f"), f"`{r['command']}`"] for r in q["precisions"]],
                      right_from=2)
        out += [""]
    out += ["### Quantisation cost (export reports)", "",
            "From `edgerestore export --data ... --data-limit 4` (`results/export_*.json`): "
            "denoising PSNR of each file minus that of PyTorch on the same tiles; "
            "psnr_vs_torch compares the outputs themselves.", ""]
    out += _table(["model", "file", "set", "images", "PSNR vs torch", "denoise PSNR",
                   "delta dB", "MB"],
                  [[r["model"], r["file"], str(r["set"]), str(r["images"]),
                    _f(r["psnr_vs_torch"]), _f(r["denoise_psnr"], ".3f"),
                    _f(r["denoise_psnr_delta"], "+.4f"), _f(r["size_bytes"] / 1e6, ".2f")]
                   for r in q["export_parity"]], right_from=2)
    out += ["", "### Deblurring", ""]
    if q["deblurring"]:
        for d in q["deblurring"]:
            out += [f"`{d['source']}` (sigma {d['sigma']}, {d['image_count']} image(s) x "
                    f"{d['kernel_count']} kernel(s)"
                    + (f"; `{d['command']}`" if d.get("command") else "") + "):", ""]
            out += _table(["method", "PSNR", "SSIM", "iterations", "seconds / case"],
                          [[k, _f(v["psnr"], ".2f"), _f(v["ssim"], ".3f"),
                            _f(v["iterations"], ".0f"), _f(v["seconds"])]
                           for k, v in d["methods"].items()])
            out += [""]
    else:
        out += ["No `results/deblur_set3c_*.json` yet (another job produces them); the "
                "PnP speed run under Claims is the only deblurring measurement so far.", ""]
    return out


def plot_psnr(q: dict[str, Any], path: Path) -> None:
    """PSNR vs sigma per model and set, with (C)BM3D dashed."""
    fig, ax = plt.subplots(figsize=(6.4, 4))
    curves: dict[str, list[tuple[int, float]]] = {}
    for r in q["denoising"]:
        curves.setdefault(f"{r['model']} / {r['dataset']}", []).append((r["sigma"], r["psnr"]))
        if r["baseline"]:
            curves.setdefault(f"{r['baseline']} / {r['dataset']}", []).append(
                (r["sigma"], r["baseline_psnr"]))
    for label, pts in sorted(curves.items()):
        pts = sorted(set(pts))
        ax.plot([p[0] for p in pts], [p[1] for p in pts],
                "s--" if "BM3D" in label else "o-", label=label)
    ax.set_xlabel("noise sigma (0-255)")
    ax.set_ylabel("PSNR (dB)")
    ax.set_title("sigma 25: full sets; 15 and 50: first images of CBSD68/BSD68, all Set12",
                 fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def claims_section(c: dict[str, Any], results: Path = RESULTS) -> list[str]:
    b = c["blindspot"]
    # The U-Net's latency row runs random weights; its trained PSNR is the equal-cost run's.
    ec = _load(results, "equal_cost.json")
    unet = (ec or {}).get("nets", {}).get("laine_unet")
    trained_unet = (f"{unet['final_psnr']:.2f} ({ec['budget_minutes']:g}-min equal-cost run)"
                    if unet else "not trained")
    out = ["## Claims", "", "### Blind-spot efficiency", "", f"Claim: {b['claim']}.", "",
           f"Commands: `{c['command']}` (MACs), `{b['latency_command']}` (latency, 256x256, "
           f"2 threads), PSNR from `{b['psnr_source']}` (CBSD68, sigma 25).", ""]
    backends = ("pytorch fp32", "onnx fp32", "tflite fp32", "tflite int8")
    out += _table(["model", "MACs/px", "Laine / model (MACs)",
                   *(f"{x} ms" for x in backends), "Laine / model (onnx fp32 time)",
                   "Laine / model (tflite int8 time)", "PSNR CBSD68 s25"],
                  [[f"{r['label']}: {r['model']}", f"{r['macs_per_pixel']:,.0f}",
                    f"{r['laine_over_model_macs']:.2f}x",
                    *(_f(r.get("median_ms_256", {}).get(x), ".0f") for x in backends),
                    _f((r.get("laine_over_model_latency") or {}).get("onnx fp32"), ".2f"),
                    _f((r.get("laine_over_model_latency") or {}).get("tflite int8"), ".2f"),
                    _f(r.get("psnr_cbsd68_s25"), ".2f")
                    or (trained_unet if r["model"].startswith("laine") else "not trained")]
                   for r in b["rows"]])
    out += ["", f"**Verdict:** {b['verdict']}", "", "### MAP-PnP speed", "",
            f"Claim: {c['pnp']['claim']}.", ""]
    for run in c["pnp"]["runs"]:
        command = (f"`{run['command']}`" if run.get("command") else
                   "`edgerestore eval deblur` (the file records its settings, not its command "
                   "line)")
        out += [f"`{run['source']}` from {command}; sigma {run['sigma']}, denoiser "
                f"`{run['denoiser']}`, DAE `{run['dae']}`: {run['cases_reached']} of "
                f"{run['cases']} case(s) reached DMSP's PSNR.", ""]
        out += _table(["case", "DMSP PSNR", "DMSP s", "ADMM PSNR", "ADMM s",
                       "ADMM s to DMSP PSNR", "speed-up"],
                      [[f"{x['image']} x {x['kernel']}", _f(x["dmsp_psnr"], ".2f"),
                        _f(x["dmsp_seconds"], ".0f"), _f(x["admm_psnr"], ".2f"),
                        _f(x["admm_seconds"], ".0f"),
                        _f(x["admm_seconds_to_reach_dmsp_psnr"]) or "never",
                        _f(x["speedup"]) or "-"] for x in run["per_case"]])
        if run.get("curve"):
            k = run["curve"]
            reach = k["dmsp_seconds_to_reach_admm_final"]
            out += ["", f"Curves ({k['case']}): ADMM ends at {k['admm_final_psnr']:.2f} dB "
                    f"after {k['admm_seconds']:.0f} s; DMSP "
                    + (f"passes that PSNR after {reach:.0f} s" if reach is not None
                       else "never reaches that PSNR")
                    + f" and ends at {k['dmsp_final_psnr']:.2f} dB after "
                    f"{k['dmsp_seconds']:.0f} s."]
        out += [""]
    out += [f"**Verdict:** {c['pnp']['verdict']}", "",
            "![PSNR vs time](pnp_psnr_vs_time.png)", ""]
    return out


def plot_pnp(c: dict[str, Any], path: Path) -> bool:
    """PSNR vs wall time of the PnP methods, from the first run that stored curves."""
    for run in c["pnp"]["runs"]:
        source = HERE.parent / run["source"]
        if not source.is_file():
            continue
        result = json.loads(source.read_text())
        conv = result.get("convergence")
        if not conv:
            continue
        fig, ax = plt.subplots(figsize=(6.4, 4))
        for method in ("admm", "hqs", "dmsp"):
            if method in conv:
                ax.plot(conv[method]["seconds"], conv[method]["psnr"], label=method.upper())
        ax.set_xlabel("seconds (1 thread)")
        ax.set_ylabel("PSNR (dB)")
        ax.set_title(f"{conv.get('image')} x {conv.get('kernel')}, sigma {result.get('sigma')}",
                     fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return True
    return False


#: What each camera-noise method is, for the section's legend (methods that ran only).
CAMERA_METHODS = {
    "default": "`edgerestore denoise` with no model (MAD sigma)",
    "sigma25_measured": "the shipped sigma-25 model told the sub-image sigma (stride-2 MAD)",
    "plain": "blind-spot net trained on camera noise",
    "apbsn": "AP-BSN",
    "camera": "the camera-noise model with a measured (sub-image) noise level",
    "cbm3d_mad": "CBM3D at the MAD sigma",
    "cbm3d_oracle": "CBM3D at the sigma best for the clean image, an upper bound no user "
                    "can reach",
}
#: Issue 19's done-when tests as the section words them (``done_when`` keys of the JSON).
CAMERA_DONE_WHEN = {"plain_2db": ">= 2 dB over plain", "sigma25_1p5db": ">= 1.5 dB over default",
                    "cbm3d_oracle": "above cbm3d_oracle"}


def _camera_done_when(summary: list[dict[str, Any]]) -> list[str]:
    """The done-when line under the margin table: each test per condition, then overall
    (every condition has the same tests: the same methods ran everywhere)."""
    keys = [k for k in CAMERA_DONE_WHEN if summary and k in summary[0].get("done_when", {})]
    if not keys:
        return []
    every = all(r["done_when"][k] for r in summary for k in keys)
    return ["", "Done when (issue 19: camera " + ", ".join(CAMERA_DONE_WHEN[k] for k in keys)
            + ", at every condition): " + "; ".join(
                f"{r['label']}: " + ", ".join(
                    f"{k} {'yes' if r['done_when'][k] else 'no'}" for k in keys)
                for r in summary) + f". Met everywhere: {'yes' if every else 'no'}."]


def camera_noise_section(results: Path) -> list[str]:
    """Issue 19: CBSD68 crops under camera noise (``benchmarks/camera_noise.py``).

    Renders whichever methods the JSON has (a CBM3D-only partial run, too).
    """
    cam = _load(results, "camera_noise.json")
    if not cam:
        return []
    s, methods = cam["settings"], cam["settings"]["methods"]
    legend = "; ".join(f"`{m}`: {CAMERA_METHODS[m]}" for m in methods if m in CAMERA_METHODS)
    lines = ["## Camera noise (CBSD68, simulated camera)", "",
             f"`{cam['command']}`: {s['images']}, centre crop {s['crop'] or 'none'}, seed "
             f"{s['seed']}; {s['noisy']}. PSNR (dB) / SSIM of the 8-bit output against the "
             f"clean crop, mean over the images. {legend}."
             + (f" Oracle grid: {s['oracle_grid']}." if "cbm3d_oracle" in methods else ""),
             ""]
    sub = any("measured_sigma" in r for r in cam["summary"])
    rows = [[r["label"], str(r["images"]), _f(r["noisy_psnr"], ".2f"), _f(r["mad_sigma"]),
             *([_f(r.get("measured_sigma"))] if sub else []),
             *(f"{_f(r['methods'][m]['psnr'], '.2f')} / {_f(r['methods'][m]['ssim'], '.3f')}"
               for m in methods),
             _f(r["methods"]["cbm3d_oracle"]["sigma"]) if "cbm3d_oracle" in methods else ""]
            for r in cam["summary"]]
    lines += _table(["condition", "images", "noisy PSNR", "MAD sigma",
                     *(["sub-image sigma"] if sub else []), *methods, "oracle sigma"], rows)
    if "default" in methods:
        lines += ["", "`default` ran (images per condition): " + "; ".join(
            f"{r['label']}: " + ", ".join(f"{k} x{v}" for k, v in r["default_models"].items())
            for r in cam["summary"]) + "."]
    if "camera" in methods:
        others = [m for m in ("plain", "default", "sigma25_measured", "apbsn", "cbm3d_oracle",
                              "cbm3d_mad") if m in methods]
        lines += ["", "The camera model's PSNR margin (dB) over each method:", ""]
        lines += _table(["condition", *(f"camera - {m}" for m in others)],
                        [[r["label"], *(_f(r["camera_margin"][m], "+.2f") for m in others)]
                         for r in cam["summary"]])
        lines += _camera_done_when(cam["summary"])
    seconds = {m: sum(x["methods"][m]["cpu_seconds"] for x in cam["per_image"])
               for m in methods}
    lines += ["", "CPU seconds spent per method over the run (cached results count the time "
              "they took when computed): "
              + ", ".join(f"{m} {v:.0f}" for m, v in seconds.items()) + ".", "",
              "![camera noise crops](camera_noise.png)", ""]
    return lines


def dde_section(results: Path) -> list[str]:
    """The DDE tables, written by ``benchmarks/dde.py`` as Markdown (links made local)."""
    path = results / "dde.md"
    if not path.is_file():
        return []
    return ["", *path.read_text().replace("](../", "](").rstrip().splitlines(), ""]


def training_section(results: Path) -> list[str]:
    """Training throughput (``benchmarks/train_throughput.py``) and the retrained model."""
    tp = _load(results, "train_throughput.json")
    lines: list[str] = []
    if tp:
        commands = tp["command"] if isinstance(tp["command"], list) else [tp["command"]]
        lines += ["## Training throughput", "",
                  f"{tp['cpu']}, {tp['cores']} cores; {tp['note']}. Commands: "
                  + "; ".join(f"`{c}`" for c in commands) + ".", ""]
        rows = [[r["trainer"], r["mode"], str(r["threads"]), _f(r["patches_per_s"], ".2f"),
                 _f(r["speedup_vs_fp32_nchw"], ".2f"), _f(r["train_gmac_per_s"]),
                 f"{100 * r['share_of_peak']:.0f}%"] for r in tp["rows"]]
        lines += _table(["trainer", "precision / layout", "threads", "patches/s",
                         "x vs fp32 NCHW", "training GMAC/s", "share of conv probe"], rows, 2)
        lines.append("")
    pq = _load(results, "precision_quality.json")
    if pq:
        runs = pq["runs"]
        lines += ["## Does bf16 cost quality?", "",
                  f"`{pq['command']}`: the same {pq['steps']}-step run ({pq['batch']} patches of "
                  f"{pq['patch']}x{pq['patch']}, lr {pq['lr']:g}, from `{pq['init_from']}`) in "
                  f"fp32 and in bf16; dev set {pq['dev_set']}.", ""]
        lines += _table(["precision", "dev PSNR (dB)", "training s"],
                        [[p, _f(runs[p]["dev_psnr"], ".3f"), _f(runs[p]["training_s"], ".0f")]
                         for p in ("fp32", "bf16")])
        verdict = "within" if pq["within_tolerance"] else "OUTSIDE"
        lines += ["", f"bf16 - fp32 = {pq['bf16_minus_fp32_db']:+.3f} dB, {verdict} the "
                  f"{pq['tolerance_db']} dB bar.", ""]
    # One pair of files per training stage: ..._retrained_<patches seen>[_clipped].json.
    stages = sorted((int(p.stem.split("_")[-1]), p.name)
                    for p in results.glob("blindspot_gauss25_rgb_CBSD68_retrained_*.json")
                    if p.stem.split("_")[-1].isdigit())
    old = _load(results, "blindspot_gauss25_rgb_CBSD68.json")
    if stages and old:
        new = _load(results, stages[-1][1])
        cbm3d = {r["image"]: r["psnr"] for r in old["cbm3d"]["per_image"]}
        wins = sum(r["psnr"] > cbm3d[r["image"]] for r in new["per_image"])
        lines += ["## Retrained faithful blind-spot model (CBSD68, sigma 25)", "",
                  f"`{new['command']}`; CBM3D per image on the same seed-0 noisy images from "
                  "`blindspot_gauss25_rgb_CBSD68.json`.", ""]
        rows = [["before (20,000 patches)", _f(old["modes"]["posterior"]["psnr"], ".2f"), ""]]
        for patches, name in stages:
            clipped = _load(results, name.replace(".json", "_clipped.json"))
            rows.append([f"retrained ({patches:,} patches)", _f(_load(results, name)["psnr"],
                                                                ".2f"),
                         _f(clipped["psnr"], ".2f") if clipped else ""])
        rows.append(["CBM3D (true sigma)", _f(old["cbm3d"]["psnr"], ".2f"), ""])
        lines += _table(["model", "PSNR (dB)", "clipped 8-bit input"], rows)
        lines += ["", f"The newest model is ahead of CBM3D on {wins} of "
                  f"{len(new['per_image'])} images; learning curve: "
                  "![learning curves](learning_curves.png)", ""]
    return lines


def equal_cost_section(results: Path, out: Path) -> list[str]:
    """Laine's U-Net vs the dilated nets at equal training budget (``equal_cost.py``)."""
    ec = _load(results, "equal_cost.json")
    if not ec:
        return []
    nets = ec["nets"]
    # Image counts every net's curve has, so the columns compare at equal images seen.
    common = sorted(set.intersection(*({c["images_seen"] for c in r["curve"]}
                                       for r in nets.values())))
    lines = ["## Laine's U-Net vs the dilated nets at equal training cost", "",
             f"`{ec['command']}`: each net trained from scratch, one after the other, for "
             f"{ec['budget_minutes']:g} minutes on this machine ({ec['threads']} threads, "
             f"bf16, {ec['pixels_per_step']:,} pixels per step for every net, lr {ec['lr']:g}, "
             f"Laine's ramps over the budget), snapshots scored afterwards on "
             f"{ec['test_set']}. CBM3D on the same noisy images: "
             f"{_f(ec['cbm3d_psnr'], '.2f')} dB (`{ec['cbm3d_source']}`).", ""]
    rows = []
    for name, r in nets.items():
        at = {c["images_seen"]: c["psnr"] for c in r["curve"]}
        rows.append([name, _f(r["macs_per_pixel"] / 1e3, ".1f"), f"{r['patch']}",
                     f"{r['images_seen']:,}",
                     _f(r["patches_per_s"], ".1f"),
                     *(_f(at[n], ".2f") for n in common), _f(r["final_psnr"], ".2f")])
    lines += _table(["net", "inference kMAC/px", "training patch", "64x64 patches in budget",
                     "64x64 patches/s", *(f"PSNR at {n:,} patches" for n in common),
                     f"PSNR after {ec['budget_minutes']:g} min (end of run)"], rows)
    lines += ["", "Patches are counted as 64x64 equivalents (pixels seen / 4,096): the U-Net "
              "trains on Laine et al.'s 256x256 patches (on 64x64 ones its five poolings "
              "leave the deepest features only zero borders to learn from, and it fails on "
              "full-size images). Mid-run points are at the full learning rate (each run "
              "ramps down over its last 30%); the last column is each net's finished run, the "
              "equal-wall-clock comparison. ![equal cost](equal_cost.png)", ""]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for name, r in nets.items():
        xs = [c["images_seen"] for c in r["curve"]]
        ys = [c["psnr"] for c in r["curve"]]
        axes[0].plot(xs, ys, "o-", label=name)
        axes[1].plot([c["elapsed_s"] / 60 for c in r["curve"]], ys, "o-", label=name)
    for ax, xlabel in zip(axes, ("64x64 patches seen (pixels / 4,096)", "training minutes"),
                          strict=True):
        if ec["cbm3d_psnr"] is not None:
            ax.axhline(ec["cbm3d_psnr"], color="k", ls="--", lw=1, label="CBM3D")
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("CBSD68 PSNR, sigma 25 (dB)")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "equal_cost.png", dpi=110)
    plt.close(fig)
    return lines


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", type=Path, default=RESULTS, help="folder of result JSONs")
    ap.add_argument("--out", type=Path, default=HERE, help="where RESULTS.md and plots go")
    args = ap.parse_args(argv)
    lat, q, c = (_load(args.results, n) for n in ("latency.json", "quality.json",
                                                  "claims.json"))
    lines = ["# Benchmark results", "",
             "Generated by `python benchmarks/report.py` from `benchmarks/results/*.json`; "
             "every table names the command that produced its numbers. Regenerate: "
             "`python benchmarks/latency.py && python benchmarks/quality.py run --data-root "
             "../shared/data && python benchmarks/quality.py collect && python "
             "benchmarks/claims.py && python benchmarks/report.py`.", ""]
    args.out.mkdir(parents=True, exist_ok=True)
    if lat:
        lines += headline_section(lat, args.results)
    if c:
        lines += claims_section(c, args.results)
        plot_pnp(c, args.out / "pnp_psnr_vs_time.png")
    if lat:
        lines += latency_section(lat)
        plot_latency(lat, args.out / "latency_vs_size.png")
    if q:
        lines += quality_section(q)
        plot_psnr(q, args.out / "psnr_vs_sigma.png")
    lines += training_section(args.results)
    lines += equal_cost_section(args.results, args.out)
    lines += dde_section(args.results)
    lines += camera_noise_section(args.results)
    (args.out / "RESULTS.md").write_text("\n".join(lines).rstrip() + "\n")
    print(f"wrote {args.out / 'RESULTS.md'}")

if __name__ == "__main__":
    main()
