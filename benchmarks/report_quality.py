"""RESULTS.md's quality section from ``results/quality.json`` (``quality.py collect``):
denoising, exported precisions, quantisation cost, deblurring, and the PSNR-vs-sigma plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from report_common import _f, _table, plt


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
