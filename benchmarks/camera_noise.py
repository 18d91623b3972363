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
import hashlib
import json
import math
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgerestore.errors import require
from edgerestore.runtime.atomic import atomic_write
from edgerestore.runtime.image_files import list_images
from edgerestore.runtime.image_io import read_image, write_image
from edgerestore.runtime.metrics import psnr, quantize8, ssim
from edgerestore.runtime.noise import NoiseSpec
from edgerestore.runtime.sigma_estimate import CORRELATED_NOISE_STRIDE, estimate_sigma

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
METHODS = ("default", "sigma25_measured", "plain", "apbsn", "camera", "cbm3d_mad",
           "cbm3d_oracle")
#: Learned methods given as a model (packaged name or file) on the command line: flag.
MODEL_FLAGS = {"plain": "--plain-model", "apbsn": "--apbsn-model", "camera": "--camera-model"}
#: The packaged model ``sigma25_measured`` runs.
SIGMA25_MODEL = "blindspot_gauss25_rgb"
#: Issue 19's done-when: key -> (method, PSNR margin in dB ``camera`` must reach over it,
#: and exceed 0 in any case), checked per condition.
DONE_WHEN = {"plain_2db": ("plain", 2.0), "sigma25_1p5db": ("default", 1.5),
             "cbm3d_oracle": ("cbm3d_oracle", 0.0)}
ISOS = (800, 1600, 3200)
JPEGS = ("none", "90")
#: CPU seconds of one CBM3D call on a 256x256 colour crop (1 thread; see the docstring),
#: and CBM3D calls per (image, condition) for both CBM3D methods: the run's cost forecast.
CBM3D_CPU_S_256, CBM3D_CALLS = 12.0, 7
DEFAULT_COUNT, DEFAULT_CROP = 8, 192
#: The oracle's grid: sigma = 2^(k/4) (0-255 units), k in [ORACLE_K_MIN, ORACLE_K_MAX].
ORACLE_K_MIN, ORACLE_K_MAX = 0, 28
FIGURE_CONDITION = (3200, 90)
#: Side of the crop shown in the figure (pixels of the benchmark crop).
FIGURE_CROP = 96


@dataclass(frozen=True)
class Condition:
    iso: int
    jpeg: int | None

    @property
    def spec(self) -> str:
        return f"camera:iso={self.iso}" + (f",jpeg={self.jpeg}" if self.jpeg else "")

    @property
    def label(self) -> str:
        return f"ISO {self.iso}" + (f", JPEG {self.jpeg}" if self.jpeg else ", no JPEG")


@dataclass
class Case:
    """One (image, condition): the clean crop, its 8-bit noisy photo, the plain MAD sigma
    and the sub-image one (stride :data:`CORRELATED_NOISE_STRIDE`), both 0-255."""

    name: str
    index: int
    condition: Condition
    clean: np.ndarray
    noisy: np.ndarray
    noisy_hash: str
    mad_sigma: float
    measured_sigma: float
    outputs: dict[str, np.ndarray] = field(default_factory=dict)


def oracle_sigma(k: int) -> float:
    """Grid point ``k`` of the oracle's search, in 0-255 units."""
    return 2.0 ** (k / 4.0)


def centre_crop(image: np.ndarray, size: int) -> np.ndarray:
    """The centred ``size`` x ``size`` crop (the whole image when ``size`` is 0 or larger)."""
    h, w = image.shape[:2]
    if size <= 0 or size >= min(h, w):
        return image
    top, left = (h - size) // 2, (w - size) // 2
    return image[top:top + size, left:left + size]


def make_cases(folder: Path, count: int, crop: int, conditions: list[Condition], seed: int,
               cache: Path) -> list[Case]:
    """The 8-bit noisy photos (cached as PNG: the camera pipeline is not free either)."""
    cases = []
    noisy_dir = cache / "noisy"
    noisy_dir.mkdir(parents=True, exist_ok=True)
    for index, path in enumerate(list_images(folder)[:count]):
        image, _ = read_image(path)
        clean = centre_crop(image[:, :, :3], crop).astype(np.float64)
        for cond in conditions:
            stored = noisy_dir / (f"{path.stem}_crop{crop}_seed{seed}_iso{cond.iso}"
                                  f"_jpeg{cond.jpeg or 0}.png")
            if stored.is_file():
                noisy = read_image(stored)[0].astype(np.float32)
            else:
                rng = np.random.default_rng([seed, index, cond.iso, cond.jpeg or 0])
                raw, _ = NoiseSpec.parse(cond.spec).apply(clean, rng)
                noisy = quantize8(raw).astype(np.float32)
                write_image(stored, noisy)
            digest = hashlib.sha256(noisy.tobytes()).hexdigest()
            cases.append(Case(path.name, index, cond, clean, noisy, digest,
                              estimate_sigma(noisy) * 255.0,
                              estimate_sigma(noisy, CORRELATED_NOISE_STRIDE) * 255.0))
    return cases


class ResultCache:
    """8-bit outputs on disk (``<key>.png``) plus what it cost (``<key>.json``).

    The protocol scores the 8-bit output, so storing it as an 8-bit PNG loses nothing.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder / "results"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.hits = self.misses = 0

    def get(self, key: dict[str, Any], compute: Callable[[], np.ndarray]
            ) -> tuple[np.ndarray, dict[str, Any]]:
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]
        png, meta = self.folder / f"{digest}.png", self.folder / f"{digest}.json"
        if png.is_file() and meta.is_file():
            self.hits += 1
            return read_image(png)[0], {**json.loads(meta.read_text()), "cached": True}
        self.misses += 1
        wall, cpu = time.perf_counter(), time.process_time()
        out = quantize8(compute()).astype(np.float32)
        record = {**key, "seconds": round(time.perf_counter() - wall, 3),
                  "cpu_seconds": round(time.process_time() - cpu, 3)}
        write_image(png, out)
        atomic_write(meta, json.dumps(record, indent=1).encode())
        return out, {**record, "cached": False}


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def cbm3d_runner(threads: int) -> Callable[[np.ndarray, float], np.ndarray]:
    """CBM3D (the ``bm3d`` package, its default 'np' profile) with ``threads`` threads."""
    bm3d = require("bm3d", package="bm3d", extra="eval", purpose="the CBM3D baseline")
    profile = bm3d.BM3DProfile()
    profile.num_threads = threads

    def run(noisy: np.ndarray, sigma: float) -> np.ndarray:
        return np.asarray(bm3d.bm3d_rgb(noisy.astype(np.float64), sigma / 255.0,
                                        profile=profile), dtype=np.float32)

    return run


def learned_runner(model: str, threads: int) -> tuple[Callable[[np.ndarray], np.ndarray], str]:
    """A blind-spot model as ``noisy -> output`` (its own noise level) and its file digest.

    ``.safetensors`` weights run through torch (a PD blind-spot net in eval mode is the
    full AP-BSN inference); packaged names and exported files run on the runtime.
    """
    if model.endswith(".safetensors"):
        import torch

        from edgerestore.models.torch_denoisers import TorchDenoiser
        from edgerestore.models.weights_io import load_weights

        torch.set_num_threads(threads)
        net, config = load_weights(model)
        denoiser = TorchDenoiser(net, config, "cpu", model)
        return (lambda noisy: denoiser(noisy, None)), file_digest(Path(model))
    run, path = runtime_runner(model, threads)
    return (lambda noisy: run(noisy, None)), file_digest(path)


def runtime_runner(model: str, threads: int
                   ) -> tuple[Callable[[np.ndarray, float | None], np.ndarray], Path]:
    """A packaged name or exported file on the torch-free runtime as
    ``(noisy, sigma 0-255 or None) -> output``, and the file it opened."""
    import edgerestore
    from edgerestore.runtime.packaged import resolve

    path = resolve(model, task="denoise")
    opened = edgerestore.load_model(path, threads=threads)
    return (lambda noisy, sigma: edgerestore.denoise(noisy, sigma, opened)), path


def default_model_name(case: Case) -> Path:
    """The packaged file ``edgerestore.denoise`` picks for this image (no model given)."""
    from edgerestore.runtime.packaged import resolve

    return resolve(None, task="denoise", channels=3, sigma=case.mad_sigma)


def run_oracle(case: Case, cbm3d: Callable[[str, float], tuple[np.ndarray, dict]]
               ) -> tuple[np.ndarray, dict[str, Any]]:
    """CBM3D at the best sigma for the clean image (the search of the module docstring)."""
    tried: dict[float, tuple[float, np.ndarray, dict]] = {}

    def score(sigma: float) -> float:
        sigma = round(sigma, 4)
        if sigma not in tried:
            out, meta = cbm3d("cbm3d", sigma)
            tried[sigma] = (psnr(case.clean, out), out, meta)
        return tried[sigma][0]

    def at(k: int) -> float:
        return score(oracle_sigma(min(max(k, ORACLE_K_MIN), ORACLE_K_MAX)))

    score(case.mad_sigma)
    k = 2 * round(2 * math.log2(max(case.mad_sigma, 1.0)))
    k = min(max(k, ORACLE_K_MIN), ORACLE_K_MAX)
    step = 2 if at(k + 2) > at(k) else -2
    if step < 0 and at(k - 2) <= at(k):
        step = 0
    while step and ORACLE_K_MIN <= k + step <= ORACLE_K_MAX and at(k + step) > at(k):
        k += step
    at(k - 1)
    at(k + 1)
    best = max(tried, key=lambda s: tried[s][0])
    calls = [{"sigma": s, "psnr": round(v[0], 4)} for s, v in sorted(tried.items())]
    seconds = sum(v[2]["seconds"] for v in tried.values())
    cpu = sum(v[2]["cpu_seconds"] for v in tried.values())
    return tried[best][1], {"sigma": best, "search": calls, "seconds": round(seconds, 3),
                            "cpu_seconds": round(cpu, 3),
                            "cached": all(v[2]["cached"] for v in tried.values())}


def evaluate(cases: list[Case], methods: list[str], models: dict[str, str], threads: int,
             cache: ResultCache, figure_case: Case | None) -> list[dict[str, Any]]:
    """Every method on every case; one record per case (per-image values and timings)."""
    from edgerestore import __version__

    cbm3d_run = cbm3d_runner(threads) if {"cbm3d_mad", "cbm3d_oracle"} & set(methods) else None
    learned = {m: learned_runner(models[m], threads) for m in MODEL_FLAGS if m in methods}
    if "sigma25_measured" in methods:
        run25, path25 = runtime_runner(SIGMA25_MODEL, threads)
        digest25 = file_digest(path25)
    records = []
    for n, case in enumerate(cases, 1):
        def cbm3d(tag: str, sigma: float, case: Case = case) -> tuple[np.ndarray, dict]:
            key = {"image": case.noisy_hash, "method": tag, "sigma": round(sigma, 4),
                   "bm3d": "bm3d 4 np profile"}
            return cache.get(key, lambda: cbm3d_run(case.noisy, sigma))

        record: dict[str, Any] = {
            "image": case.name, "iso": case.condition.iso, "jpeg": case.condition.jpeg,
            "mad_sigma": round(case.mad_sigma, 3),
            "measured_sigma": round(case.measured_sigma, 3),
            "noisy": {"psnr": psnr(case.clean, case.noisy), "ssim": ssim(case.clean, case.noisy)},
            "methods": {}}
        for method in methods:
            start = time.perf_counter()
            if method == "cbm3d_mad":
                out, meta = cbm3d("cbm3d", case.mad_sigma)
                meta = {**meta, "sigma": round(case.mad_sigma, 4)}
            elif method == "cbm3d_oracle":
                out, meta = run_oracle(case, cbm3d)
            elif method == "default":
                import edgerestore

                chosen = default_model_name(case)
                key = {"image": case.noisy_hash, "method": "default", "version": __version__,
                       "model": file_digest(chosen)}
                out, meta = cache.get(key, lambda case=case: edgerestore.denoise(
                    case.noisy, threads=threads))
                meta = {**meta, "model": chosen.name}
            elif method == "sigma25_measured":
                sigma = round(case.measured_sigma, 4)
                key = {"image": case.noisy_hash, "method": method, "sigma": sigma,
                       "model": digest25}
                out, meta = cache.get(key, lambda case=case, sigma=sigma:
                                      run25(case.noisy, sigma))
                meta = {**meta, "model": path25.name}
            else:
                run, digest = learned[method]
                key = {"image": case.noisy_hash, "method": method, "model": digest}
                out, meta = cache.get(key, lambda run=run, case=case: run(case.noisy))
            entry = {"psnr": psnr(case.clean, out), "ssim": ssim(case.clean, out),
                     **{k: meta[k] for k in ("seconds", "cpu_seconds", "cached", "sigma",
                                             "search", "model") if k in meta}}
            record["methods"][method] = entry
            if case is figure_case:
                case.outputs[method] = out
            print(f"[{n}/{len(cases)}] {case.name} {case.condition.label}: {method} "
                  f"{entry['psnr']:.2f} dB ({time.perf_counter() - start:.1f} s"
                  f"{', cached' if meta['cached'] else ''})", flush=True)
        records.append(record)
    return records


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
