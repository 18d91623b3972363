"""RESULTS.md's claims section from ``results/claims.json`` (``claims.py``): blind-spot
efficiency, MAP-PnP speed against DMSP, and the PSNR-vs-time plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from report_common import HERE, RESULTS, _f, _load, _table, plt


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
