"""Dev PSNR against images seen for every shipped model, from the model cards alone.

A card's ``lineage`` lists every training stage (the first stages of older models
are rebuilt from their card's history); stages are laid end to end, so the x axis is
the total number of training patches the weights have seen. Each stage's dev set is
named in the legend, since earlier stages were scored on other images (Set3C) than
the 8 fixed CBSD68 images used now.

    python benchmarks/learning_curves.py   # writes benchmarks/learning_curves.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def stages(card: dict[str, Any]) -> list[dict[str, Any]]:
    """Each training stage as {images_seen, dev_set, curve[[images, psnr], ...]}."""
    if isinstance(card.get("lineage"), list):
        out = []
        for i, stage in enumerate(card["lineage"]):
            curve = stage.get("dev_curve")
            if curve is None and i == 0:
                curve = _history_curve(card)
            out.append({"images_seen": stage.get("images_seen") or 0,
                        "dev_set": Path(stage.get("dev_set") or "?").name, "curve": curve or []})
        return out
    training = card.get("training", {})
    return [{"images_seen": training.get("images_seen", 0),
             "dev_set": Path(training.get("dev_images") or "?").name,
             "curve": _history_curve(card)}]


def _history_curve(card: dict[str, Any]) -> list[list[float]]:
    batch = card.get("training", {}).get("batch", 1)
    return [[h.get("images_seen", h["step"] * batch), h[k]] for h in card.get("history", [])
            for k in h if k.startswith("dev_psnr")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", type=Path,
                    default=ROOT / "src" / "edgerestore" / "models" / "weights")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "learning_curves.png")
    args = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cards = {p.stem: json.loads(p.read_text()) for p in sorted(args.weights.glob("*.json"))}
    cards = {k: c for k, c in cards.items() if c.get("task") in ("denoise", "map_denoiser")}
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, card in cards.items():
        offset = 0
        for i, stage in enumerate(stages(card)):
            if stage["curve"]:
                xs = [offset + x for x, _ in stage["curve"]]
                ys = [y for _, y in stage["curve"]]
                ax.plot(xs, ys, marker=".", label=f"{name} (stage {i + 1}, dev {stage['dev_set']})")
            offset += stage["images_seen"]
    ax.set_xlabel("training patches seen (all stages)")
    ax.set_ylabel("dev PSNR (dB)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, loc="lower right")
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
