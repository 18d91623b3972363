"""The quality-against-cost section of ``RESULTS.md``: ``results/frontier.json`` written by
``python benchmarks/frontier.py`` (teachers, students, CBM3D, NLM side by side)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from report_common import _f, _load, _table

SIZES = ("256x256", "1920x1080", "12MP")


def frontier_section(results: Path) -> list[str]:
    data: dict[str, Any] | None = _load(results, "frontier.json")
    if not data:
        return []
    lines = ["", f"## Quality against cost: teachers and students ({data['set']}, sigma "
             f"{data['sigma']:g})", "",
             f"`{data['command']}` ([results/frontier.json](results/frontier.json), plot "
             "[frontier.png](frontier.png)). PSNR of the 8-bit output on the first "
             f"{data['images']} images (sorted names), noise not clipped / clipped to 8 "
             "bits; seconds per call on one thread for a generated noisy photo (empty: over "
             "the run's "
             "time cap; `benchmarks/photo_12mp.py` has every file at 12 MP).", ""]
    rows = []
    for name, row in data["networks"].items():
        for label, entry in row["files"].items():
            db = entry.get("psnr", {})
            rows.append([name, label, f"{row['macs_per_pixel']:,}",
                         _f(db.get("unclipped"), ".2f"), _f(db.get("clipped"), ".2f"),
                         *[_f(entry["time_s"].get(s), ".2f") for s in SIZES]])
    lines += _table(["model", "file", "MACs/px", "PSNR", "PSNR clipped",
                     *[f"s @ {s}" for s in SIZES]], rows, right_from=2)
    lines += ["", f"Classical baselines on every {data['classical_every']}-th image "
              f"({data['subset_images']} images), beside the networks' ONNX fp32 files on "
              "the same images:", ""]
    sub = [[name, _f(row["files"].get("onnxruntime fp32", {}).get("psnr_subset", {})
                     .get("unclipped"), ".2f"),
            _f(row["files"].get("onnxruntime fp32", {}).get("psnr_subset", {})
               .get("clipped"), ".2f"), ""] for name, row in data["networks"].items()]
    c = data["classical"]
    sub.append(["CBM3D, true sigma", _f(c["cbm3d"]["psnr_subset"]["unclipped"], ".2f"),
                _f(c["cbm3d"]["psnr_subset"]["clipped"], ".2f"), _f(c["cbm3d"]["s_per_mp"])])
    sub.append([f"OpenCV NLM, best h = {c['nlm']['h']} of {c['nlm']['h_grid']}", "",
                _f(c["nlm"]["psnr_subset"]["clipped"], ".2f"), _f(c["nlm"]["s_per_mp"])])
    lines += _table(["method", "PSNR", "PSNR clipped", "s per MP (1 thread)"], sub)
    return lines
