"""The demo's outputs: ``report.json``, a self-contained ``report.html`` and a terminal table.

The HTML embeds every picture (JPEG / PNG as base64 data URIs) and draws the ADMM
convergence plot as inline SVG, so the one file can be mailed or opened offline and
needs nothing beyond the base install (no matplotlib, no network, no scripts).
Everything in it is read from the report dictionary, so the page and ``report.json``
cannot disagree.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from pathlib import Path
from typing import Any

from PIL import Image

from edgerestore.runtime.atomic import atomic_write
from edgerestore.runtime.model_files import exported_format

#: Line colours of the convergence plot, one per exported MAP file.
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")

STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{margin-bottom:4px} h2{margin-top:32px;border-bottom:1px solid #ccc}
.muted{color:#666;font-size:90%}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f0f0f0} td.l,th.l{text-align:left}
.row{display:flex;gap:8px;flex-wrap:wrap;margin-bottom:16px}
figure{margin:0;flex:0 0 184px}
figure img{width:100%;display:block}
figcaption{font-size:12px;text-align:center;line-height:1.3;overflow-wrap:anywhere}
.kernel{image-rendering:pixelated;width:96px!important;background:#000}
.skip{background:#fff4e5;border-left:4px solid #f0a020;padding:6px 10px;margin:4px 0}
.ok{color:#2a7d2a} .bad{color:#b00020}
"""


#: Side of the centre crop shown at full resolution under each sample: at thumbnail size
#: sigma-25 noise and the restored texture are hard to tell apart.
DETAIL = 128


def data_uri(path: Path, *, lossless: bool = False, detail: bool = False) -> str:
    """``path`` as an embeddable data URI: JPEG (q 92) keeps the page a few MB; PNG for
    the kernel, whose few bright pixels JPEG would smear. ``detail``: the centre
    :data:`DETAIL` x :data:`DETAIL` pixels only."""
    with Image.open(path) as img:
        if detail:
            left, top = max((img.width - DETAIL) // 2, 0), max((img.height - DETAIL) // 2, 0)
            img = img.crop((left, top, left + min(DETAIL, img.width),
                            top + min(DETAIL, img.height)))
        buf = io.BytesIO()
        if lossless:
            img.save(buf, "PNG")
            mime = "image/png"
        else:
            img.convert("RGB").save(buf, "JPEG", quality=92)
            mime = "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(buf.getvalue()).decode()}"


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "inf" if math.isinf(value) else f"{value:.{digits}f}"
    return str(value)


def _table(header: list[str], rows: list[list[Any]], left: int = 1) -> str:
    """HTML table; the first ``left`` columns are text (left-aligned)."""
    head = "".join(f'<th class="{"l" if i < left else ""}">{html.escape(h)}</th>'
                   for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f'<td class="{"l" if i < left else ""}">'
                                    f"{html.escape(_fmt(c))}</td>" for i, c in enumerate(r))
                   + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def file_label(name: str) -> str:
    """``model_int8_256x256.tflite`` -> ``TFLite int8``: the captions only need what
    differs between the files of one model (the full name is in the tables)."""
    fmt = "TFLite" if exported_format(name) == "tflite" else "ONNX"
    precision = next((p for p in ("int8", "fp16", "fp32") if f"_{p}" in name), "")
    return f"{fmt} {precision}".strip()


def _figure(images: Path, picture: str, caption: str, *, css: str = "",
            lossless: bool = False, detail: bool = False) -> str:
    path = images / picture
    if not path.is_file():
        return ""
    uri = data_uri(path, lossless=lossless, detail=detail)
    return (f'<figure><img class="{css}" src="{uri}" '
            f'alt="{html.escape(caption)}"><figcaption>{caption}</figcaption></figure>')


def parity_rows(exports: dict[str, dict[str, Any]]) -> list[list[Any]]:
    """One row per (exported file, image set), the export command's parity table."""
    rows = []
    for report in exports.values():
        for entry in report.get("files", []):
            gpu = entry.get("ops", {}).get("gpu_ready")
            for set_name, p in (entry.get("parity") or {}).items():
                rows.append([entry["file"], set_name, entry["size_bytes"] / 1024,
                             f"{p['max_abs_diff']:.2e}", p["psnr_vs_torch"],
                             p["denoise_psnr_torch"], p["denoise_psnr"],
                             f"{p['denoise_psnr_delta']:+.3f}",
                             "-" if gpu is None else ("ok" if gpu else "no")])
    return rows


PARITY_HEADER = ["file", "set", "KiB", "max |d|", "dB vs torch", "PSNR torch", "PSNR file",
                 "delta dB", "GPU ops"]


def bench_rows(bench: list[dict[str, Any]]) -> list[list[Any]]:
    return [[r["file"], r["backend"], r["threads"], r["input"], r["median_ms"], r["p10_ms"],
             r["p90_ms"], r["first_run_ms"], r["session_ms"], r["peak_rss_mb"],
             r["file_size_bytes"] / 1e6] for r in bench]


BENCH_HEADER = ["file", "backend", "threads", "input", "median ms", "p10 ms", "p90 ms",
                "first run ms", "session ms", "peak RSS MB", "size MB"]


def convergence_svg(deblur: dict[str, Any], width: int = 640, height: int = 320) -> str:
    """PSNR against ADMM iteration for each MAP file, and the blurred input's PSNR."""
    curves = [(f["file"], f["psnr_per_iter"]) for f in deblur.get("files", [])
              if f.get("psnr_per_iter")]
    if not curves:
        return ""
    base = deblur["blurred_psnr"]
    values = [v for _, c in curves for v in c] + [base]
    low, high = math.floor(min(values) - 0.5), math.ceil(max(values) + 0.5)
    iters = max(len(c) for _, c in curves)
    left, right, top, bottom = 52, 16, 12, 40
    pw, ph = width - left - right, height - top - bottom

    def xy(i: float, v: float) -> tuple[float, float]:
        x = left + pw * (i - 1) / max(iters - 1, 1)
        return x, top + ph * (high - v) / (high - low)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-size="11" font-family="sans-serif">',
             f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" '
             f'stroke="#888"/>']
    step = max(1, (high - low) // 6)
    for v in range(low, high + 1, step):
        _, y = xy(1, v)
        parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#eee"/><text x="{left - 6}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{v}</text>')
    for i in sorted({1, iters, *range(5, iters, 5)}):
        x, _ = xy(i, low)
        parts.append(f'<text x="{x:.1f}" y="{top + ph + 14}" text-anchor="middle">{i}</text>')
    parts.append(f'<text x="{left + pw / 2}" y="{height - 6}" text-anchor="middle">'
                 f'ADMM iteration</text><text transform="translate(12,{top + ph / 2}) '
                 f'rotate(-90)" text-anchor="middle">PSNR (dB)</text>')
    x0, yb = xy(1, base)
    x1, _ = xy(iters, base)
    parts.append(f'<line x1="{x0}" x2="{x1}" y1="{yb:.1f}" y2="{yb:.1f}" stroke="#555" '
                 f'stroke-dasharray="5,4"/>')
    legend = [("blurred input", "#555", True)]
    for k, (name, curve) in enumerate(curves):
        colour = COLOURS[k % len(COLOURS)]
        points = " ".join("{:.1f},{:.1f}".format(*xy(i, v)) for i, v in enumerate(curve, 1))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" '
                     f'stroke-width="1.8"/>')
        legend.append((name, colour, False))
    for k, (name, colour, dashed) in enumerate(legend):
        y = top + ph // 2 + 15 * k  # mid-height: clear of the rising curves and the baseline
        dash = ' stroke-dasharray="5,4"' if dashed else ""
        parts.append(f'<line x1="{left + pw - 210}" x2="{left + pw - 186}" y1="{y - 4}" '
                     f'y2="{y - 4}" stroke="{colour}" stroke-width="2"{dash}/>'
                     f'<text x="{left + pw - 180}" y="{y}">{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _skipped(report: dict[str, Any]) -> str:
    notes = []
    for name, stage in report["stages"].items():
        for note in stage["notes"]:
            notes.append(f'<div class="skip"><b>{html.escape(name)}</b> '
                         f'({html.escape(stage["status"])}): {html.escape(note)}</div>')
    return "".join(notes) or '<p class="ok">Every stage ran completely.</p>'


def _denoise_section(restore: dict[str, Any], images: Path) -> str:
    rows = [r for r in restore.get("denoise", []) if not r.get("skipped")]
    if not rows:
        return "<p>No denoising results (see the skipped stages above).</p>"
    parts = []
    for item in restore["inputs"]:
        mine = [r for r in rows if r["image"] == item["name"]]
        if not mine:
            continue
        if item["has_clean"]:
            before = f"noisy, sigma {item['sigma']:g}<br>PSNR {_fmt(mine[0]['noisy_psnr'])} dB"
        else:  # the user's own photo: no reference, the noise level is estimated
            before = "input<br>noise level estimated"
        shown = [(f"{item['name']}_noisy.png", before)]
        shown += [(r["picture"], f"{file_label(r['file'])}<br>"
                   + (f"PSNR {_fmt(r['psnr'])} dB, " if r["psnr"] is not None else "")
                   + f"{r['seconds']:.2f} s") for r in mine]
        if item["has_clean"]:
            shown.append((f"{item['name']}_clean.png", "clean"))
        whole = "".join(_figure(images, picture, caption) for picture, caption in shown)
        detail = "".join(_figure(images, picture, caption.split("<br>")[0], detail=True)
                         for picture, caption in shown)
        shape = "x".join(map(str, item["shape"][:2]))
        parts.append(f"<h3>{html.escape(item['name'])} <span class='muted'>({shape}; second "
                     f"row: the centre {DETAIL}x{DETAIL} pixels, enlarged)</span></h3>"
                     f"<div class='row'>{whole}</div><div class='row'>{detail}</div>")
    return "".join(parts)


def _deblur_section(deblur: dict[str, Any] | None, images: Path) -> str:
    if not deblur:
        return "<p>No deblurring results (see the skipped stages above).</p>"
    done = [f for f in deblur["files"] if not f.get("skipped")]
    figures = [_figure(images, "deblur_blurred.png",
                       f"blurred + noise {deblur['noise_sigma']:g}<br>PSNR "
                       f"{_fmt(deblur['blurred_psnr'])} dB")]
    figures += [_figure(images, f["picture"], f"{file_label(f['file'])}<br>PSNR "
                        f"{_fmt(f['psnr'])} dB, {f['seconds']:.1f} s") for f in done]
    figures.append(_figure(images, "deblur_clean.png", "clean"))
    figures.append(_figure(images, deblur["kernel_picture"],
                           f"motion kernel {deblur['kernel_size']}x{deblur['kernel_size']}"
                           f"<br>seed {deblur['kernel_seed']}", css="kernel", lossless=True))
    finals = ", ".join(f"{html.escape(f['file'])} {_fmt(f['psnr'])} dB" for f in done)
    return (f"<p>{html.escape(deblur['image'])}, {deblur['shape'][0]}x{deblur['shape'][1]} "
            f"crop, generated motion kernel, '{deblur['boundary']}' boundary, "
            f"{deblur['iters']} ADMM iterations with each exported MAP denoiser as the prior."
            f"</p><div class='row'>{''.join(figures)}</div>"
            f"<h3>Convergence</h3>{convergence_svg(deblur)}"
            f"<p class='muted'>Final PSNR: {finals} (curves that coincide are files that "
            f"agree).</p>")


def render_html(report: dict[str, Any], out: Path) -> str:
    """The whole page; pictures are read from ``out/images`` and embedded."""
    images = out / "images"
    restore = report.get("restore") or {}
    machine = report.get("machine", {})
    stages = _table(["stage", "status", "seconds"],
                    [[k, v["status"], v["seconds"]] for k, v in report["stages"].items()],
                    left=2)
    parity = parity_rows(report.get("export", {}))
    bench = bench_rows(report.get("bench", []))
    weights = ", ".join(Path(w).name for w in report.get("weights", {}).values()) or "-"
    torch_note = ("" if not restore else
                  " (torch was blocked in that process)" if not restore.get("torch_loaded")
                  else " (<span class='bad'>torch was loaded</span>)")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>edgerestore demo report</title>
<style>{STYLE}</style></head><body>
<h1>edgerestore demo</h1>
<p class="muted">{html.escape(machine.get("time_utc", ""))} &middot;
{html.escape(str(machine.get("cpu", "")))}, {machine.get("cores_available")} cores &middot;
total {report["seconds"]:.0f} s{" &middot; quick mode" if report["options"]["quick"] else ""}
&middot; weights: {html.escape(weights)}</p>
{stages}
{_skipped(report)}
<h2>Denoising with the exported blind-spot files</h2>
<p>Runtime only: onnxruntime / LiteRT on the exported files{torch_note},
{restore.get("threads", "-")} threads. Seeded Gaussian noise, unclipped;
PSNR against the clean image.</p>
{_denoise_section(restore, images)}
<h2>Deblurring: plug-and-play ADMM with the exported MAP denoiser</h2>
{_deblur_section(restore.get("deblur"), images)}
<h2>Export parity (file vs PyTorch)</h2>
<p>Each exported file against the PyTorch model on the bundled samples (tiles with the
model's training noise): max absolute difference, PSNR between the two outputs, and
denoising PSNR of each.</p>
{_table(PARITY_HEADER, parity) if parity else "<p>No export in this run.</p>"}
<h2>Latency</h2>
<p>One network call on a {report["plan"]["tile"]}x{report["plan"]["tile"]} tile per run,
each file in its own worker process, round-robin; {report["plan"]["bench_runs"]} timed runs
after {report["plan"]["bench_warmup"]} warm-up. Load average (1, 5, 15 min) at the end:
{", ".join(f"{v:.1f}" for v in machine.get("load_average") or [])}.</p>
{_table(BENCH_HEADER, bench, left=2) if bench else "<p>No latency results.</p>"}
<p class="muted">All numbers are also in report.json.</p>
</body></html>
"""


def summary(report: dict[str, Any]) -> str:
    """Terminal table: per exported file, quality in -> out, parity loss, latency."""
    restore = report.get("restore") or {}
    quality: dict[str, tuple[float, float]] = {}
    by_file: dict[str, list[dict[str, Any]]] = {}
    for row in restore.get("denoise", []):
        if not row.get("skipped") and row.get("psnr") is not None:
            by_file.setdefault(row["file"], []).append(row)
    for name, rows in by_file.items():
        quality[name] = (sum(r["noisy_psnr"] for r in rows) / len(rows),
                         sum(r["psnr"] for r in rows) / len(rows))
    deblur = restore.get("deblur") or {}
    for f in deblur.get("files", []):
        if not f.get("skipped") and f.get("psnr") is not None:
            quality[f["file"]] = (deblur["blurred_psnr"], f["psnr"])
    delta = {row[0]: row[7] for row in parity_rows(report.get("export", {}))}
    latency = {}
    for r in report.get("bench", []):
        if r["file"] not in latency or r["threads"] == max(report["plan"]["bench_threads"]):
            latency[r["file"]] = r["median_ms"]
    names = list(dict.fromkeys([*quality, *delta, *latency]))
    header = f"{'file':<47}{'task':>8}{'in dB':>8}{'out dB':>8}{'parity':>9}{'ms/tile':>9}"
    lines = [header, "-" * len(header)]
    for name in names:
        task = "deblur" if name in {f["file"] for f in deblur.get("files", [])} else "denoise"
        q = quality.get(name, (None, None))
        lines.append(f"{name:<47}{task:>8}{_fmt(q[0]):>8}{_fmt(q[1]):>8}"
                     f"{delta.get(name, '-'):>9}{_fmt(latency.get(name), 1):>9}")
    lines.append("in/out dB: mean PSNR of the noisy (blurred) input and of the restored "
                 "image; parity: denoising dB vs PyTorch; ms/tile: median latency")
    return "\n".join(lines)


def write_report(report: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.html`` into ``out``; returns their paths."""
    json_path, html_path = out / "report.json", out / "report.html"
    atomic_write(json_path, (json.dumps(report, indent=2) + "\n").encode())
    atomic_write(html_path, render_html(report, out).encode())
    return html_path, json_path
