"""Which denoiser ``noise_kind`` picks: real camera photos vs white Gaussian noise.

Measures :func:`edgerestore.runtime.sigma_estimate.noise_kind` (the chroma rule) and,
for comparison, the older whole-image rule (stride-2 MAD level > 1.3 x plain level) on:

- real noise: SIDD validation blocks (phones) and PolyU crops (DSLR JPEGs): should be
  "real";
- white Gaussian noise (``np.random.default_rng(0)``, sigma 5-50 in 0-255 units) on
  clean CBSD68 and the scikit-image colour samples, unclipped and clipped + rounded to
  8 bits: should be "gaussian" (each miss costs ~13 dB); sigma 0 = the clean images.

Also prints the rule's measurements (chroma stride-2/stride-1 energy ratio and chroma
noise level) at their extremes, and the time per megapixel on a 12-megapixel image.
The research images are read by path and never copied.

    python benchmarks/noise_kind_rule.py [--out benchmarks/results/noise_kind_rule.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from edgerestore.runtime.image_io import read_image
from edgerestore.runtime.samples import COLOR_SAMPLES, load_sample
from edgerestore.runtime.sigma_estimate import (
    CORRELATED_NOISE_STRIDE,
    KIND_CHROMA_FLOOR,
    KIND_ENERGY_RATIO,
    REAL_NOISE_RATIO,
    chroma_noise,
    estimate_sigma,
    noise_kind,
)

SIGMAS = (0, 5, 10, 15, 25, 35, 50)


def old_kind(image: np.ndarray) -> str:
    """The rule before this benchmark: whole-image MAD levels at stride 2 vs 1."""
    plain = estimate_sigma(image, 1)
    if plain <= 0.0:
        return "real"
    return "real" if estimate_sigma(image, CORRELATED_NOISE_STRIDE) \
        > REAL_NOISE_RATIO * plain else "gaussian"


def measure(images, label: str) -> dict:
    """Counts of "real" under the new and old rule and the new rule's measurements."""
    new, old, ratios, levels = [], [], [], []
    for image in images:
        new.append(noise_kind(image) == "real")
        old.append(old_kind(image) == "real")
        ratio, level = chroma_noise(image)
        ratios.append(ratio)
        levels.append(level)
    ratios, levels = np.array(ratios), np.array(levels)
    finite = ratios[np.isfinite(ratios)]
    return {"set": label, "images": len(new), "real_new": int(sum(new)),
            "real_old": int(sum(old)),
            "ratio_min": float(finite.min()) if finite.size else None,
            "ratio_max": float(finite.max()) if finite.size else None,
            "level_min": float(levels.min()), "level_max": float(levels.max())}


def noisy(clean: list[np.ndarray], sigma: float, clipped: bool):
    rng = np.random.default_rng(0)
    for image in clean:
        x = image.astype(np.float64) + rng.standard_normal(image.shape) * sigma / 255.0
        yield np.round(np.clip(x, 0, 1) * 255) / 255 if clipped else x


def read_folder(folder: Path, limit: int | None) -> list[np.ndarray]:
    paths = sorted(p for p in folder.iterdir()
                   if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp", ".tif"))
    return [read_image(p)[0] for p in paths[:limit]]


def timing() -> dict:
    """Seconds for one 12-megapixel (4000x3000) noisy image, best of 3."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:3000, 0:4000] / 300.0
    clean = np.stack([0.5 + 0.3 * np.sin(x + y), 0.5 + 0.2 * np.cos(x), 0.4 + 0 * x], 2)
    image = (clean + rng.normal(0, 10 / 255, clean.shape)).astype(np.float32)
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        noise_kind(image)
        best = min(best, time.perf_counter() - start)
    return {"megapixels": 12.0, "seconds": best, "seconds_per_megapixel": best / 12.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sidd", type=Path,
                        default=Path("/work/shared/data/real/SIDD_val_1-20/noisy"))
    parser.add_argument("--polyu", type=Path,
                        default=Path("/work/shared/data/real/PolyU100/noisy"))
    parser.add_argument("--cbsd68", type=Path, default=Path("/work/shared/data/eval/CBSD68"))
    parser.add_argument("--limit", type=int, default=None, help="images per folder")
    parser.add_argument("--out", type=Path,
                        default=Path("benchmarks/results/noise_kind_rule.json"))
    args = parser.parse_args()

    rows = [measure(read_folder(args.sidd, args.limit), "SIDD"),
            measure(read_folder(args.polyu, args.limit), "PolyU")]
    for name, clean in (("CBSD68", read_folder(args.cbsd68, args.limit)),
                        ("samples", [load_sample(n) for n in COLOR_SAMPLES])):
        for sigma in SIGMAS:
            for clipped in ((False,) if sigma == 0 else (False, True)):
                row = measure(noisy(clean, sigma, clipped), name)
                rows.append({**row, "sigma": sigma, "clipped": clipped})
    result = {
        "rule": {"chroma_energy_ratio": KIND_ENERGY_RATIO,
                 "chroma_floor_255": KIND_CHROMA_FLOOR, "old_level_ratio": REAL_NOISE_RATIO},
        "expected": "SIDD, PolyU: real; Gaussian sigma >= 5: gaussian; sigma 0: either",
        "rows": rows, "timing": timing()}

    print(f"{'set':8} {'sigma':>5} {'clip':>4} {'n':>4} {'real new':>8} {'real old':>8} "
          f"{'ratio min':>9} {'ratio max':>9} {'level min':>9} {'level max':>9}")
    for r in rows:
        sigma = "" if "sigma" not in r else str(r["sigma"])
        clip = "" if "clipped" not in r else ("yes" if r["clipped"] else "no")
        print(f"{r['set']:8} {sigma:>5} {clip:>4} {r['images']:>4} {r['real_new']:>8} "
              f"{r['real_old']:>8} {r['ratio_min'] or 0:>9.3f} {r['ratio_max'] or 0:>9.3f} "
              f"{r['level_min']:>9.2f} {r['level_max']:>9.2f}")
    t = result["timing"]
    print(f"12 MP image: {t['seconds']:.3f} s ({t['seconds_per_megapixel'] * 1000:.1f} ms/MP)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
