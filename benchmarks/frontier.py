"""PSNR against compute against time (issue 31): teachers, students, CBM3D and NLM in one run.

Quality: every packaged model named by ``--models`` through the torch-free runtime (its
ONNX fp32 file, and its LiteRT int8 file where LiteRT is installed) on the same seeded
noisy images of ``--set`` (CBSD68, sigma ``--sigma``, seed 0), both with the published
protocol (noise not clipped) and as a camera writes them (clipped, 8-bit); PSNR of the
8-bit output. Blind-spot teachers are told the true sigma (the benchmark protocol); the
students (packaged ``*_fast`` names, or ``--student`` weights not packaged yet, which the
script exports first as the packaged files are) take no level. CBM3D (true sigma) and
OpenCV's non-local means (its best ``h`` on a grid, chosen on the clipped images it can
take) run on every ``--classical-every``-th image, and the networks are scored on that
subset too, so those rows compare like with like.

Time: one thread, each file the runtime would open (ONNX fp32, ONNX int8, LiteRT int8),
on a generated noisy photo at 256x256 (median of 5 after a warm-up), 1920x1080 and
12 MP (one run each; 12 MP only for files that need under ``--max-seconds`` there by
the 256x256 rate; ``benchmarks/photo_12mp.py`` has every file at 12 MP). CBM3D and NLM
are timed on the subset images (seconds per megapixel).

    python benchmarks/frontier.py [--models NAME ...] [--json results/frontier.json]

Results: ``benchmarks/results/frontier.json`` and ``benchmarks/frontier.png``;
``python benchmarks/report.py`` renders the table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from edgerestore.runtime.image_files import list_images
from edgerestore.runtime.image_io import read_image
from edgerestore.runtime.metrics import psnr, quantize8
from edgerestore.units import to_unit

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
from photo_12mp import synthetic_photo  # noqa: E402

MODELS = ("blindspot_gauss25_rgb", "blindspot_eff_gauss25_rgb")
SIZES = {"256x256": (256, 256), "1920x1080": (1080, 1920), "12MP": (3000, 4000)}
FILES = (("onnxruntime", "fp32"), ("onnxruntime", "int8"), ("litert", "int8"))
NLM_H = (4, 6, 8, 10, 12, 14, 16)


def noisy_images(folder: Path, sigma: float, limit: int | None
                 ) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """(name, clean, noisy unclipped, noisy clipped 8-bit), one seeded generator (seed 0)."""
    rng = np.random.default_rng(0)
    out = []
    for path in list_images(folder)[:limit]:
        clean = read_image(path)[0]
        noisy = (clean + rng.normal(0, sigma / 255.0, clean.shape)).astype(np.float32)
        out.append((path.name, clean, noisy, quantize8(noisy)))
    return out


def open_file(name: str, backend: str, precision: str, exported: dict[str, Path]
              ) -> tuple[Any, Path] | None:
    """A packaged model's file for ``backend``/``precision`` (or one of ``exported``, the
    files of a ``--student``), opened with one thread."""
    import edgerestore
    from edgerestore.runtime.packaged import resolve

    try:
        path = exported[f"{backend} {precision}"] if exported else resolve(
            name, task="denoise", backend=backend, precision=precision)
    except Exception as exc:
        print(f"skip {name} {backend} {precision}: {str(exc).splitlines()[0]}")
        return None
    return edgerestore.load_model(path, threads=1), path


def export_student(weights: Path, folder: Path) -> tuple[int, dict[str, Path]]:
    """MACs per pixel of a ``--student`` weights file and its files exported as the
    packaged ones are (ONNX fp32 and int8, TFLite int8 at 256x256), by ``edgerestore export``."""
    from edgerestore.models.macs import count
    from edgerestore.models.weights_io import load_weights

    model, _ = load_weights(weights)
    macs = round(count(model, model.in_channels, 256, 256).macs_per_pixel)
    subprocess.run([sys.executable, "-m", "edgerestore", "-q", "export", "--model", str(weights),
                    "--format", "all", "--precision", "fp32", "int8", "--out", str(folder)],
                   check=True)
    stem = weights.stem
    return macs, {"onnxruntime fp32": folder / f"{stem}_fp32.onnx",
                  "onnxruntime int8": folder / f"{stem}_int8.onnx",
                  "litert int8": folder / f"{stem}_int8_256x256.tflite"}


def scores(run, images: list, sigma: float) -> dict[str, float]:
    """Mean PSNR (8-bit output) of ``run(noisy, sigma)`` on the unclipped and clipped inputs."""
    out = {}
    for i, case in enumerate(("unclipped", "clipped")):
        out[case] = round(statistics.fmean(psnr(item[1], quantize8(run(item[2 + i], sigma)))
                                           for item in images), 3)
    return out


def network_rows(args: argparse.Namespace, images: list, subset: list) -> dict[str, Any]:
    from edgerestore.runtime.packaged import packaged_models

    models = packaged_models()
    out: dict[str, Any] = {}
    students = {w.stem: w for w in args.student}
    for name in [*args.models, *students]:
        exported: dict[str, Path] = {}
        if name in students:
            macs, exported = export_student(students[name], args.export_dir / name)
        else:
            macs = models[name].entry["macs_per_pixel"]
        row: dict[str, Any] = {"macs_per_pixel": macs, "files": {},
                               **({"weights": str(students[name])} if name in students else {})}
        for backend, precision in FILES:
            opened = open_file(name, backend, precision, exported)
            if opened is None:
                continue
            model, path = opened

            def run(x: np.ndarray, sigma: float, model=model) -> np.ndarray:
                return model.runner.denoise(x, to_unit(sigma))  # a student ignores it

            entry: dict[str, Any] = {"file": path.name, "time_s": timings(run, args)}
            if (backend, precision) != ("onnxruntime", "int8"):  # its PSNR: the parity report
                entry["psnr"] = scores(run, images, args.sigma)
                entry["psnr_subset"] = scores(run, subset, args.sigma)
            row["files"][f"{backend} {precision}"] = entry
            print(f"{name:28s} {backend:11s} {precision}: {json.dumps(entry)}", flush=True)
        out[name] = row
    return out


def timings(run, args: argparse.Namespace) -> dict[str, float]:
    """Seconds per call at each size, one thread (see the module docstring)."""
    out: dict[str, float] = {}
    per_pixel = None
    for label, (h, w) in SIZES.items():
        if per_pixel is not None and per_pixel * h * w > args.max_seconds:
            continue
        photo = synthetic_photo(w, h)
        repeats = 5 if label == "256x256" else 1
        run(photo[:64, :64], args.sigma)  # warm-up: session and arena
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            run(photo, args.sigma)
            times.append(time.perf_counter() - start)
        out[label] = round(statistics.median(times), 3)
        per_pixel = per_pixel or out[label] / (h * w)
    return out


def classical_rows(args: argparse.Namespace, subset: list) -> dict[str, Any]:
    """CBM3D at the true sigma and NLM at its best h, on the subset images."""
    import cv2
    from camera_noise_methods import cbm3d_runner

    pixels = sum(c.shape[0] * c.shape[1] for _, c, *_ in subset) / 1e6
    bm3d = cbm3d_runner(1)
    start = time.perf_counter()
    cbm3d = scores(lambda x, s: bm3d(x, s), subset, args.sigma)
    out: dict[str, Any] = {"cbm3d": {"psnr_subset": cbm3d, "s_per_mp": round(
        (time.perf_counter() - start) / (2 * pixels), 2)}}
    cv2.setNumThreads(1)
    best: tuple[float, int, float] | None = None
    for h in NLM_H:
        start = time.perf_counter()
        got = statistics.fmean(psnr(clean, cv2.fastNlMeansDenoisingColored(
            np.round(clipped * 255).astype(np.uint8), None, h, h, 7, 21) / 255.0)
            for _, clean, _, clipped in subset)
        seconds = (time.perf_counter() - start) / pixels
        if best is None or got > best[0]:
            best = (got, h, seconds)
    assert best is not None
    out["nlm"] = {"psnr_subset": {"clipped": round(best[0], 3)}, "h": best[1],
                  "h_grid": list(NLM_H), "s_per_mp": round(best[2], 2)}
    print(f"classical: {json.dumps(out)}", flush=True)
    return out


def figure(result: dict[str, Any], path: Path) -> None:
    """PSNR (unclipped, all images) against MACs per pixel and LiteRT int8 256x256 time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for name, row in result["networks"].items():
        fp32 = row["files"].get("onnxruntime fp32", {})
        if "psnr" not in fp32:
            continue
        db = fp32["psnr"]["unclipped"]
        left.scatter(row["macs_per_pixel"], db)
        left.annotate(name, (row["macs_per_pixel"], db), fontsize=7)
        lite = row["files"].get("litert int8", {}).get("time_s", {}).get("256x256")
        if lite:
            right.scatter(lite * 1000, db)
            right.annotate(name, (lite * 1000, db), fontsize=7)
    left.set(xscale="log", xlabel="MACs per pixel", ylabel=f"PSNR (dB), {result['set']}")
    right.set(xscale="log", xlabel="LiteRT int8, 256x256, 1 thread (ms)", ylabel="PSNR (dB)")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.suptitle(f"{result['set']}, sigma {result['sigma']:g}: quality against cost "
                 "(benchmarks/frontier.py)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-root", type=Path, default=ROOT.parent.parent / "shared" / "data")
    p.add_argument("--set", default="CBSD68")
    p.add_argument("--sigma", type=float, default=25.0)
    p.add_argument("--limit", type=int, help="only the first N images")
    p.add_argument("--classical-every", type=int, default=6)
    p.add_argument("--models", nargs="+", default=list(MODELS), help="packaged names")
    p.add_argument("--student", type=Path, nargs="*", default=[],
                   help="weights files not packaged (yet): exported here first")
    p.add_argument("--export-dir", type=Path, default=Path("runs/frontier_export"),
                   help="where --student weights are exported")
    p.add_argument("--max-seconds", type=float, default=60.0,
                   help="skip a size a file would need longer than this for")
    p.add_argument("--json", type=Path, default=ROOT / "results" / "frontier.json")
    p.add_argument("--figure", type=Path, default=ROOT / "frontier.png")
    args = p.parse_args()
    images = noisy_images(args.data_root / "eval" / args.set, args.sigma, args.limit)
    subset = images[::args.classical_every]
    result = {"set": args.set, "sigma": args.sigma, "images": len(images),
              "subset_images": len(subset), "classical_every": args.classical_every,
              "threads": 1,
              "command": "python benchmarks/frontier.py " + " ".join(sys.argv[1:]),
              "networks": network_rows(args, images, subset),
              "classical": classical_rows(args, subset)}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    figure(result, args.figure)
    print(f"results: {args.json}")


if __name__ == "__main__":
    main()
