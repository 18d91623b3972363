"""RESULTS.md's training sections: throughput (``train_throughput.py``), bf16 quality
(``precision_quality.py``), the retrained faithful model, and Laine's U-Net against the
dilated nets at equal training cost (``equal_cost.py``, with its plot)."""

from __future__ import annotations

from pathlib import Path

from report_common import _f, _load, _table, plt


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
