"""Camera noise (issue 19): CBSD68 photos through the simulated camera, seven denoisers.

Conditions: ISO 800, 1600 and 3200, each without and with JPEG at quality 90
(``camera:iso=ISO[,jpeg=90]``, :mod:`edgerestore.runtime.camera_noise`). The noisy
image of (image ``i``, condition) is drawn with ``default_rng([seed, i, iso, jpeg or
0])`` from the centre crop of image ``i`` of the sorted folder and then clipped and
quantised to 8 bits, which is what a photo is; every method gets the same 8-bit image
and is scored against the clean crop with the project's protocol (PSNR / SSIM of the
8-bit output, :mod:`edgerestore.runtime.metrics`).

Methods, side by side:

* ``default``: what ``edgerestore denoise`` does with no ``--model`` (``edgerestore.denoise``:
  the packaged model chosen for the MAD-estimated sigma, run at that sigma);
* ``sigma25_measured``: the shipped sigma-25 model (``blindspot_gauss25_rgb``, on the
  torch-free runtime) told the sub-image noise level
  ``estimate_sigma(noisy, CORRELATED_NOISE_STRIDE) * 255``, where camera noise is nearly
  white: what that estimator alone buys, with no training on camera noise;
* ``plain``: a blind-spot net trained on camera-noise images with no pixel-shuffle
  (``--plain-model``; expected to fail: it learns to copy the correlated noise);
* ``apbsn``: the AP-BSN model (``--apbsn-model``, packaged name or file);
* ``camera``: the camera-noise model with a *measured* noise level (``--camera-model``:
  ``train blindspot --already-noisy --noise camera:iso=400-6400 --sigma-mode measured
  --hole 1``), which measures the same sub-image level itself, in PyTorch and in the
  runtime;
* ``cbm3d_mad``: CBM3D at the MAD sigma estimate (what a user can run);
* ``cbm3d_oracle``: CBM3D at the sigma that maximises PSNR against the *clean* image,
  per image: an upper bound no user can reach.

The summary gives, per condition, ``camera``'s PSNR margin over every other method and
the issue's done-when (``done_when``, :data:`DONE_WHEN`): ``camera`` beats ``plain`` by
at least 2 dB, the shipped default (``default``) by at least 1.5 dB, and CBM3D at the
oracle sigma.

The oracle's search. Candidate sigmas (0-255) lie on the quarter-octave grid
``2^(k/4)`` between 1 and 128. Starting at the half-octave point nearest the MAD
estimate, it steps by half octaves (``k +- 2``) towards higher PSNR until PSNR drops
(PSNR against sigma is unimodal in practice), then tries the two quarter-octave
neighbours of the best; the MAD sigma itself (computed for ``cbm3d_mad`` anyway) is a
candidate too, so the oracle is never below ``cbm3d_mad``. Typically 5-7 CBM3D calls.
Quarter-octave steps (19 %) change CBM3D's PSNR by a few hundredths of a dB near the
optimum, so a finer grid would not change the table.

Cost, and the defaults. One CBM3D call on a 256x256 colour crop costs about 12 CPU
seconds on this machine (``CBM3D_CPU_S_256``; 1 thread, ``nice -n 19``, measured with
``time.process_time`` while a training used both cores; wall time under that load is
meaningless) and grows with the pixel count. With about 7 calls per (image, condition)
(the MAD one, then the oracle's) and 6 conditions, one image costs about 42 calls:
``42 * 12 * (crop / 256)^2`` CPU seconds, 285 s at crop 192. ``DEFAULT_COUNT`` = 8
images at ``DEFAULT_CROP`` = 192 is therefore about 38 CPU minutes: 20 minutes of the
2 cores when run as two processes (below); more images of a smaller crop beat fewer
large ones for a stable mean. The learned models take about a second per crop.

Every result is cached on disk (``--cache``, default ``runs/camera_noise_cache``,
git-ignored) under a hash of the 8-bit noisy image, the method, the sigma and (for the
learned models) the model file's contents, so an interrupted run resumes where it
stopped, and the CBM3D part can run ahead of the learned models, split over the two
cores by condition (each process writes its own cache entries; ``--out`` / ``--figure``
keep the partial reports out of ``benchmarks/``)::

    for j in none 90; do nice -n 19 python benchmarks/camera_noise.py --jpeg $j \\
        --methods cbm3d_mad cbm3d_oracle --threads 1 \\
        --out runs/camera_noise_cache/cbm3d_$j.json \\
        --figure runs/camera_noise_cache/cbm3d_$j.png & done; wait
    python benchmarks/camera_noise.py --threads 2 \\
        --camera-model runs/cam/blindspot_measured_camera_rgb.safetensors \\
        --apbsn-model runs/cam/blindspot_camera_rgb.safetensors \\
        --plain-model runs/cam/blindspot_plain_camera_rgb.safetensors

The learned models need no CBM3D; ``--methods default sigma25_measured camera`` (with
``--camera-model``) compares the new model with the shipped one in a few minutes.

The noisy photos are cached too (``noisy/``, named by image, crop, seed and condition;
delete the cache after changing the camera simulator).

The last command writes ``benchmarks/results/camera_noise.json`` (command, settings,
per-image values and timings) and ``benchmarks/camera_noise.png`` (crops of one image
at ISO 3200 with JPEG 90); ``benchmarks/report.py`` renders the table into RESULTS.md.
``.safetensors`` files run through torch; exported files and packaged names run on
the torch-free runtime.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from camera_noise_cases import Case, Condition, ResultCache, centre_crop, make_cases
from camera_noise_methods import (
    METHODS,
    MODEL_FLAGS,
    ORACLE_K_MAX,
    ORACLE_K_MIN,
    SIGMA25_MODEL,
    cbm3d_runner,
    evaluate,
    oracle_sigma,
    run_oracle,
)
from camera_noise_summary import DONE_WHEN, done_when, plot, summarise

from edgerestore.runtime.sigma_estimate import CORRELATED_NOISE_STRIDE

#: What the tests and other scripts reach through this module (the parts live in
#: ``camera_noise_cases``, ``camera_noise_methods`` and ``camera_noise_summary``).
__all__ = ["DONE_WHEN", "METHODS", "Case", "Condition", "cbm3d_runner", "centre_crop",
           "done_when", "main", "oracle_sigma", "parse_args", "run_oracle", "summarise"]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ISOS = (800, 1600, 3200)
JPEGS = ("none", "90")
#: CPU seconds of one CBM3D call on a 256x256 colour crop (1 thread; see the docstring),
#: and CBM3D calls per (image, condition) for both CBM3D methods: the run's cost forecast.
CBM3D_CPU_S_256, CBM3D_CALLS = 12.0, 7
DEFAULT_COUNT, DEFAULT_CROP = 8, 192
FIGURE_CONDITION = (3200, 90)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-root", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--images", default="eval/CBSD68", help="folder under --data-root")
    ap.add_argument("--count", type=int, default=DEFAULT_COUNT,
                    help=f"first N images of the sorted folder (default {DEFAULT_COUNT})")
    ap.add_argument("--crop", type=int, default=DEFAULT_CROP,
                    help=f"centre crop side before noising, 0 = whole image "
                         f"(default {DEFAULT_CROP})")
    ap.add_argument("--iso", type=int, nargs="+", default=list(ISOS))
    ap.add_argument("--jpeg", nargs="+", default=list(JPEGS), help="'none' and/or a quality")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    ap.add_argument("--plain-model", help="plain blind-spot net trained on camera noise")
    ap.add_argument("--apbsn-model", help="AP-BSN: packaged name or file")
    ap.add_argument("--camera-model", help="the measured-level camera-noise model: packaged "
                                           "name, exported file or .safetensors")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache", type=Path, default=ROOT / "runs" / "camera_noise_cache")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "camera_noise.json")
    ap.add_argument("--figure", type=Path, default=HERE / "camera_noise.png")
    args = ap.parse_args(argv)
    for method, flag in MODEL_FLAGS.items():
        if method in args.methods and not getattr(args, flag[2:].replace("-", "_")):
            ap.error(f"method {method} needs {flag} (or leave it out of --methods)")
    if any(j != "none" and not j.isdigit() for j in args.jpeg):
        ap.error("--jpeg takes 'none' or a quality 1-100")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    start = time.perf_counter()
    conditions = [Condition(iso, None if j == "none" else int(j))
                  for iso in args.iso for j in args.jpeg]
    methods = [m for m in METHODS if m in args.methods]
    cases = make_cases(args.data_root / args.images, args.count, args.crop, conditions,
                       args.seed, args.cache)
    want = Condition(*FIGURE_CONDITION)
    figure_cond = want if want in conditions else conditions[-1]
    figure_case = next(c for c in cases if c.index == 0 and c.condition == figure_cond)
    if {"cbm3d_mad", "cbm3d_oracle"} & set(methods):
        pixels = sum(c.clean.shape[0] * c.clean.shape[1] for c in cases)
        print(f"{len(cases)} cases; CBM3D would take about "
              f"{CBM3D_CALLS * CBM3D_CPU_S_256 * pixels / 256**2 / 60:.0f} CPU minutes with "
              "nothing cached", flush=True)
    cache = ResultCache(args.cache)
    models = {"plain": args.plain_model, "apbsn": args.apbsn_model, "camera": args.camera_model}
    records = evaluate(cases, methods, models, args.threads, cache, figure_case)
    result = {
        "command": "python benchmarks/camera_noise.py " + " ".join(sys.argv[1:] if argv is None
                                                                 else argv),
        "settings": {"images": f"{args.images} (first {args.count}, sorted)",
                     "count": args.count, "crop": args.crop, "seed": args.seed,
                     "conditions": [c.spec for c in conditions], "methods": methods,
                     "models": {**models, "sigma25_measured": SIGMA25_MODEL},
                     "measured_sigma": "estimate_sigma(noisy, stride="
                     f"{CORRELATED_NOISE_STRIDE}) * 255 (sub-image MAD)",
                     "threads": args.threads, "noisy": "8-bit clipped photo; noise rng "
                     "default_rng([seed, image index, iso, jpeg or 0])",
                     "oracle_grid": f"sigma = 2^(k/4), k = {ORACLE_K_MIN}..{ORACLE_K_MAX} "
                     "(1-128, 0-255 units); half-octave hill climb from the MAD estimate, "
                     "then the quarter-octave neighbours; the MAD sigma is a candidate too"},
        "summary": summarise(records, conditions, methods),
        "per_image": records,
        "cache": {"path": str(args.cache), "hits": cache.hits, "computed": cache.misses},
        "machine": {"cpu": platform.processor() or platform.machine(),
                    "python": platform.python_version()},
        "seconds": round(time.perf_counter() - start, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    plot(figure_case, methods, records, args.figure)
    print(f"wrote {args.out} and {args.figure} ({cache.hits} cached, {cache.misses} computed)")
    return result


if __name__ == "__main__":
    main()
