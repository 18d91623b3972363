"""The real-noise section of ``RESULTS.md``: ``results/real_noise.json`` written by
``python benchmarks/real_noise.py`` (SIDD phone blocks, PolyU DSLR crops)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from report_common import _load, _table

LABELS = {
    "noisy": "noisy input", "auto": "`edgerestore denoise` (default: noise kind measured)",
    "gauss25": "blindspot_gauss25_rgb at the MAD sigma",
    "gauss5_50": "blindspot_gauss5_50_rgb at the MAD sigma",
    "real": "blindspot_real_rgb, ONNX fp32 (runtime)", "real_int8": "blindspot_real_rgb, ONNX int8",
    "real_fast": "blindspot_real_rgb_fast (student), ONNX fp32",
    "r3_0": "its weights, R3 = 0 (PyTorch)", "r3_2": "its weights, R3 = 2",
    "r3_8": "its weights, R3 = 8", "nopd_blend": "its weights, R3 = 0, no input blend",
    "cbm3d_mad": "CBM3D at the MAD sigma", "cbm3d_oracle": "CBM3D at the oracle sigma (per image)",
}


def real_noise_section(results: Path) -> list[str]:
    data: dict[str, Any] | None = _load(results, "real_noise.json")
    if not data or "quality" not in data:
        return []
    sets = list(data["quality"])
    lines = ["", "## Real camera noise (SIDD phone blocks, PolyU DSLR crops)", "",
             f"`python benchmarks/real_noise.py` ([results/real_noise.json]"
             f"(results/real_noise.json)); {data['protocol']}. Every method sees the same "
             "noisy files; no clean image is used by any of them. CBM3D runs on a subset "
             "(its image count is given).", ""]
    methods = list(dict.fromkeys(m for s in sets for m in data["quality"][s]))
    rows = []
    for m in methods:
        row = [LABELS.get(m, m)]
        for s in sets:
            r = data["quality"][s].get(m)
            row.append("" if r is None else
                       f"{r['psnr']:.2f} / {r.get('ssim', float('nan')):.3f} ({r['images']})")
        rows.append(row)
    lines += _table(["method", *[f"{s}: PSNR / SSIM (images)" for s in sets]], rows)
    if "speed" in data:
        lines += ["", "Speed of the real-noise model, 256x256 crop, 1 thread, median of 3 "
                  "(`--speed`):", ""]
        lines += _table(["runtime", "ms per megapixel"],
                        [[k, f"{v['ms_per_mp']:.0f}" if "ms_per_mp" in v else v["error"]]
                         for k, v in data["speed"].items()])
    if "adapted" in data:
        a = data["adapted"]
        lines += ["", f"`edgerestore adapt` on the noisy blocks of {a['count']} held-out "
                  f"SIDD blocks (`{Path(a['images']).name}`; the base never saw these images, "
                  "the adapted models saw their noisy versions only), R3 = 0:", ""]
        lines += _table(["model", "PSNR"], [[k, f"{v['psnr']:.2f}"]
                                            for k, v in a["models"].items()])
    if "choices" in data:
        lines += ["", "What the default (`--noise auto`: the noise kind measured) picks "
                  "(`--choices`; real = the real-noise model) and, on Gaussian noise, its "
                  "mean PSNR against the Gaussian model:", ""]
        lines += _table(["images", "picked real", "dB vs the Gaussian model"],
                        [[k, f"{v['real']} / {v['images']}",
                          f"{v['mean_db_vs_gaussian_default']:+.3f}"
                          if "mean_db_vs_gaussian_default" in v else ""]
                         for k, v in data["choices"].items()])
    lines += ["", "![crops](real_noise.png)", ""]
    return lines
