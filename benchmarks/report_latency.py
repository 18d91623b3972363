"""RESULTS.md sections from ``results/latency.json`` (``latency.py``): the headline table a
user picks a model by, the latency tables and the latency-vs-size plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from report_common import ORDER, RESULTS, _f, _load, _sort_key, _table, _variant, plt


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
