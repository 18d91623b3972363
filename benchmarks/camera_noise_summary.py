"""The camera-noise benchmark's summary (``camera_noise.py``): means per condition, the
camera model's margins, issue 19's done-when, and the figure of crops."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from camera_noise_cases import Case, Condition

#: Issue 19's done-when: key -> (method, PSNR margin in dB ``camera`` must reach over it,
#: and exceed 0 in any case), checked per condition.
DONE_WHEN = {"plain_2db": ("plain", 2.0), "sigma25_1p5db": ("default", 1.5),
             "cbm3d_oracle": ("cbm3d_oracle", 0.0)}
#: Side of the crop shown in the figure (pixels of the benchmark crop).
FIGURE_CROP = 96


def summarise(records: list[dict[str, Any]], conditions: list[Condition], methods: list[str]
              ) -> list[dict[str, Any]]:
    """Mean PSNR / SSIM / seconds per condition and method, ``camera``'s margins and the
    done-when (:data:`DONE_WHEN`, for the methods that ran)."""
    rows = []
    for cond in conditions:
        mine = [r for r in records if (r["iso"], r["jpeg"]) == (cond.iso, cond.jpeg)]
        row: dict[str, Any] = {"iso": cond.iso, "jpeg": cond.jpeg, "label": cond.label,
                               "images": len(mine),
                               "noisy_psnr": float(np.mean([r["noisy"]["psnr"] for r in mine])),
                               "mad_sigma": float(np.mean([r["mad_sigma"] for r in mine])),
                               "measured_sigma": float(np.mean([r["measured_sigma"]
                                                                for r in mine])),
                               "methods": {}}
        for m in methods:
            vals = [r["methods"][m] for r in mine]
            row["methods"][m] = {k: float(np.mean([v[k] for v in vals]))
                                 for k in ("psnr", "ssim", "cpu_seconds")}
            if m == "cbm3d_oracle":
                row["methods"][m]["sigma"] = float(np.mean([v["sigma"] for v in vals]))
        if "default" in methods:
            chosen = [v["model"] for v in (r["methods"]["default"] for r in mine)]
            row["default_models"] = {name: chosen.count(name) for name in sorted(set(chosen))}
        if "camera" in methods:
            row["camera_margin"] = {m: row["methods"]["camera"]["psnr"]
                                    - row["methods"][m]["psnr"] for m in methods if m != "camera"}
            row["done_when"] = done_when(row["camera_margin"])
        rows.append(row)
    return rows


def done_when(margins: dict[str, float]) -> dict[str, bool]:
    """Issue 19's done-when (:data:`DONE_WHEN`) from ``camera``'s margins (dB) over the
    other methods; a test is left out when its method did not run."""
    return {key: bool(margins[m] >= need and margins[m] > 0)
            for key, (m, need) in DONE_WHEN.items() if m in margins}


def plot(case: Case, methods: list[str], records: list[dict[str, Any]], path: Path) -> None:
    """Crops of ``case``: clean, noisy and every method, each with its PSNR."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    record = next(r for r in records if r["image"] == case.name
                  and (r["iso"], r["jpeg"]) == (case.condition.iso, case.condition.jpeg))
    h, w = case.clean.shape[:2]
    size = min(FIGURE_CROP, h, w)
    top, left = (h - size) // 2, (w - size) // 2
    panels = [("clean", case.clean, None), ("noisy", case.noisy, record["noisy"]["psnr"])]
    panels += [(m, case.outputs[m], record["methods"][m]["psnr"]) for m in methods]
    fig, axes = plt.subplots(1, len(panels), figsize=(2.2 * len(panels), 2.6))
    for ax, (title, image, value) in zip(np.atleast_1d(axes), panels, strict=True):
        ax.imshow(np.clip(image[top:top + size, left:left + size], 0, 1),
                  interpolation="nearest")
        ax.set_title(title + (f"\n{value:.2f} dB" if value is not None else "\n"), fontsize=8)
        ax.axis("off")
    fig.suptitle(f"{case.name}, {case.condition.label} ({size}x{size} centre of the crop)",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
