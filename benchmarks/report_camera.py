"""RESULTS.md's camera-noise section (issue 19) from ``results/camera_noise.json``
(``camera_noise.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from report_common import _f, _load, _table

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
