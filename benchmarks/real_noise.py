"""Real camera noise (issue 28): SIDD phone blocks and PolyU DSLR crops, side by side.

Every method gets the same 8-bit noisy photo from ``../shared/data/real`` (research use;
read by path, never copied) and is scored against the clean reference with the
project's protocol: PSNR / SSIM of the 8-bit RGB output, mean over images, no border
crop (:mod:`edgerestore.runtime.metrics`). No clean image is used by any method.

Methods (``--methods``):

* ``noisy``: the input itself;
* ``auto``: ``edgerestore.denoise(image, noise="auto")`` (``denoise --noise auto``): the
  noise kind is measured (:func:`edgerestore.runtime.sigma_estimate.noise_kind`), then
  the packaged model for it runs;
* ``gauss25`` / ``gauss5_50``: the packaged Gaussian models at the MAD sigma (what the
  default was before this model);
* ``real`` / ``real_int8``: the packaged ``blindspot_real_rgb`` files, ONNX fp32 / int8,
  on the torch-free runtime (input blend included);
* ``real_fast``: the student ``blindspot_real_rgb_fast`` (a plain CNN distilled from the
  model at R3 = 8, ``edgerestore train distill``; no input blend of its own): its weights
  in PyTorch when ``--student W.safetensors`` is given, else its packaged ONNX fp32 file;
* ``r3_0`` / ``r3_2`` / ``r3_8``: its weights in PyTorch with 0 / 2 / 8 R3 passes (R3's
  speed / quality trade-off), input blend included;
* ``nopd_blend``: the same weights with the blend switched off at R3 = 0 (what the
  blend buys; the PD output as AP-BSN defines it);
* ``cbm3d_mad`` / ``cbm3d_oracle``: CBM3D at the MAD sigma and at the per-image sigma
  that is best against the clean image (``camera_noise_methods.run_oracle``'s search);
  12 CPU-seconds per 256x256 call, so they run on every ``--cbm3d-every``-th image only
  and the table says on how many;
* ``adapted:NAME=FILE`` (repeatable ``--adapted``): models made by ``edgerestore adapt``
  on SIDD images 11-20 (scored on the images given by ``--adapted-images``).

``--speed`` adds ms per megapixel of the real model (256x256 input, 1 thread, median of
3 runs after a warm-up) for ONNX fp32, ONNX int8 and LiteRT int8, and for the R3
variants in PyTorch. ``--choices`` adds what ``--noise auto`` picks on SIDD, PolyU and
CBSD68 with Gaussian noise (sigma 5-50, clipped 8-bit) and what that costs there against
the Gaussian default (the model it would have run), only the images it routes to the
real model being run twice.

Results: ``benchmarks/results/real_noise.json`` and a figure of crops
(``benchmarks/real_noise.png``); ``python benchmarks/report.py`` renders the table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edgerestore.runtime.image_files import list_images
from edgerestore.runtime.image_io import read_image
from edgerestore.runtime.metrics import psnr, quantize8, ssim
from edgerestore.runtime.sigma_estimate import estimate_sigma, noise_kind

ROOT = Path(__file__).resolve().parent
SETS = ("SIDD_val_1-20", "PolyU100")
METHODS = ("noisy", "auto", "gauss25", "gauss5_50", "real", "real_int8", "real_fast", "r3_0",
           "r3_2", "r3_8", "nopd_blend", "cbm3d_mad", "cbm3d_oracle")
REAL = "blindspot_real_rgb"
STUDENT = "blindspot_real_rgb_fast"
Denoise = Callable[[np.ndarray], np.ndarray]


def pairs(folder: Path, every: int = 1) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, clean, noisy) of every ``every``-th pair of a real-noise folder."""
    out = []
    for path in list_images(folder / "noisy")[::every]:
        out.append((path.name, read_image(folder / "clean" / path.name)[0],
                    read_image(path)[0]))
    return out


def runtime_method(name: str, threads: int) -> Denoise:
    """A packaged model on the torch-free runtime; the Gaussian ones at the MAD sigma."""
    from edgerestore.runtime.packaged import resolve

    model = {"gauss25": "blindspot_gauss25_rgb", "gauss5_50": "blindspot_gauss5_50_rgb",
             "real": REAL, "real_int8": REAL, "real_fast": STUDENT}[name]
    return file_method(resolve(model, task="denoise", backend="onnxruntime",
                               precision="int8" if name == "real_int8" else "fp32"), threads)


def file_method(path: Path, threads: int) -> Denoise:
    """An exported file, opened once, as ``noisy -> denoised`` through the Python API."""
    import edgerestore

    opened = edgerestore.load_model(path, threads=threads)
    return lambda noisy: edgerestore.denoise(noisy, model=opened)


def torch_method(weights: Path, r3: int | None, blend: bool, threads: int) -> Denoise:
    """Weights in PyTorch: the real model with ``r3`` R3 passes, blended or not; with
    ``r3`` None any denoiser's output as it is (a student's)."""
    import torch

    from edgerestore.models.weights_io import load_weights

    torch.set_num_threads(threads)
    net, _ = load_weights(weights)
    if r3 is not None:
        net.set_r3_steps(r3)

    def run(noisy: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(noisy.transpose(2, 0, 1).copy())[None]
        with torch.no_grad():
            y = net.denoise(x) if blend else net(x).float()
        return y[0].numpy().transpose(1, 2, 0)

    return run


def cbm3d_methods(threads: int) -> dict[str, Callable[..., tuple[np.ndarray, float]]]:
    """CBM3D at the MAD sigma, and at the oracle sigma (returns the sigma used too)."""
    from camera_noise_methods import cbm3d_runner, run_oracle

    run = cbm3d_runner(threads)

    def mad(noisy: np.ndarray, clean: np.ndarray) -> tuple[np.ndarray, float]:
        sigma = max(estimate_sigma(noisy) * 255.0, 0.5)
        return run(noisy, sigma), sigma

    def oracle(noisy: np.ndarray, clean: np.ndarray) -> tuple[np.ndarray, float]:
        class Case:  # what run_oracle reads of a case
            pass

        case = Case()
        case.clean, case.mad_sigma = clean, max(estimate_sigma(noisy) * 255.0, 0.5)

        def call(tag: str, sigma: float) -> tuple[np.ndarray, dict]:
            start, cpu = time.perf_counter(), time.process_time()
            out = run(noisy, sigma)
            return out, {"seconds": time.perf_counter() - start,
                         "cpu_seconds": time.process_time() - cpu, "cached": False}

        out, meta = run_oracle(case, call)
        return out, meta["sigma"]

    return {"cbm3d_mad": mad, "cbm3d_oracle": oracle}


def score_set(items: list, method: Denoise, with_ssim: bool = True) -> dict[str, Any]:
    rows = []
    for name, clean, noisy in items:
        start = time.perf_counter()
        out = quantize8(method(noisy))
        row = {"image": name, "psnr": round(psnr(clean, out), 4),
               "seconds": round(time.perf_counter() - start, 3)}
        if with_ssim:
            row["ssim"] = round(ssim(clean, out), 5)
        rows.append(row)
    summary = {"images": len(rows), "psnr": round(statistics.fmean(r["psnr"] for r in rows), 3)}
    if with_ssim:
        summary["ssim"] = round(statistics.fmean(r["ssim"] for r in rows), 4)
    return {**summary, "per_image": rows}


def quality(args: argparse.Namespace) -> dict[str, Any]:
    """Every method on every set: {set: {method: summary}}."""
    out: dict[str, Any] = {}
    for set_name in args.sets:
        folder = args.data_root / "real" / set_name
        items = pairs(folder, args.every)
        sparse = pairs(folder, args.every * args.cbm3d_every)
        out[set_name] = {}
        for method in args.methods:
            start = time.perf_counter()
            if method == "noisy":
                result = score_set(items, lambda x: x)
            elif method == "auto":
                import edgerestore

                result = score_set(items, lambda x: edgerestore.denoise(x, noise="auto",
                                                                        threads=args.threads))
            elif method.startswith("cbm3d"):
                fn = cbm3d_methods(args.threads)[method]
                sigmas: list[float] = []

                def run(noisy: np.ndarray, fn=fn, sigmas=sigmas, sparse=sparse) -> np.ndarray:
                    clean = next(c for _, c, n in sparse if n is noisy)
                    den, sigma = fn(noisy, clean)
                    sigmas.append(round(sigma, 3))
                    return den

                result = score_set(sparse, run)
                result["sigmas"] = sigmas
            elif method == "real_fast" and args.student:
                result = score_set(items, torch_method(args.student, None, True, args.threads))
            elif method in ("real", "real_int8", "real_fast", "gauss25", "gauss5_50"):
                result = score_set(items, runtime_method(method, args.threads))
            else:
                r3 = 0 if method == "nopd_blend" else int(method.split("_")[1])
                result = score_set(items, torch_method(args.weights, r3, method != "nopd_blend",
                                                       args.threads))
            result["wall_s"] = round(time.perf_counter() - start, 1)
            out[set_name][method] = result
            print(f"{set_name:14s} {method:14s} {result['psnr']:6.2f} dB "
                  f"({result['images']} images, {result['wall_s']:.0f} s)", flush=True)
    return out


def adapted(args: argparse.Namespace) -> dict[str, Any]:
    """The adapted models against their base on the held-out images they adapted to."""
    items = pairs(args.adapted_images)
    out = {"images": str(args.adapted_images), "count": len(items), "models": {}}
    for spec in ["base=" + str(args.weights), *args.adapted]:
        label, _, path = spec.partition("=")
        fn = (torch_method(Path(path), 0, True, args.threads) if path.endswith(".safetensors")
              else file_method(Path(path), args.threads))
        out["models"][label] = {"file": Path(path).name, **score_set(items, fn, False)}
        print(f"adapted {label:10s} {out['models'][label]['psnr']:6.2f} dB", flush=True)
    out["models"]["noisy"] = score_set(items, lambda x: x, False)
    return out


def speed(args: argparse.Namespace) -> dict[str, Any]:
    """ms per megapixel on a 256x256 photo crop, 1 thread, median of 3 after a warm-up."""
    from edgerestore.runtime.packaged import resolve

    crop = pairs(args.data_root / "real" / SETS[0], 64)[0][2][:256, :256]
    out: dict[str, Any] = {}
    runs: dict[str, Denoise] = {}
    for model in (REAL,) if args.student else (REAL, STUDENT):
        for backend, precision in (("onnxruntime", "fp32"), ("onnxruntime", "int8"),
                                   ("litert", "int8")):
            try:
                path = resolve(model, task="denoise", backend=backend, precision=precision)
                runs[f"{backend} {precision} ({path.name})"] = file_method(path, 1)
            except Exception as exc:  # a backend not installed here: say so in the results
                out[f"{model} {backend} {precision}"] = {"error": str(exc).splitlines()[0]}
    for r3 in (0, 2, 8):
        runs[f"torch fp32 R3={r3}"] = torch_method(args.weights, r3, True, 1)
    if args.student:
        label = f"torch fp32 student ({args.student.name})"
        runs[label] = torch_method(args.student, None, True, 1)
    for label, fn in runs.items():
        fn(crop)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            fn(crop)
            times.append(time.perf_counter() - start)
        out[label] = {"ms_per_mp": round(statistics.median(times) * 1000 / (256 * 256 / 1e6), 1)}
        print(f"speed {label:60s} {out[label]['ms_per_mp']:9.1f} ms/MP", flush=True)
    return out


def choices(args: argparse.Namespace) -> dict[str, Any]:
    """What ``--noise auto`` picks per set, and its cost on Gaussian noise (see docstring)."""
    import edgerestore

    out: dict[str, Any] = {}
    for set_name in SETS:
        kinds = [noise_kind(n) for _, _, n in pairs(args.data_root / "real" / set_name)]
        out[set_name] = {"real": kinds.count("real"), "images": len(kinds)}
    clean = [read_image(p)[0] for p in list_images(args.data_root / "eval" / "CBSD68")]
    for sigma in (5, 10, 15, 25, 35, 50):
        rng = np.random.default_rng(sigma)
        noisy = [quantize8(c + rng.normal(0, sigma / 255, c.shape)) for c in clean]
        routed = [i for i, n in enumerate(noisy) if noise_kind(n) == "real"]
        loss = []
        for i in routed:
            got = psnr(clean[i], quantize8(edgerestore.denoise(noisy[i], noise="auto",
                                                        threads=args.threads)))
            want = psnr(clean[i], quantize8(edgerestore.denoise(noisy[i], noise="gaussian",
                                                         threads=args.threads)))
            loss.append(got - want)
        out[f"CBSD68 gauss {sigma} clipped"] = {
            "real": len(routed), "images": len(noisy),
            "mean_db_vs_gaussian_default": round(sum(loss) / len(noisy), 3)}
        print(f"choices sigma {sigma}: {len(routed)}/{len(noisy)} real, "
              f"{sum(loss) / len(noisy):+.3f} dB", flush=True)
    return out


def figure(args: argparse.Namespace, path: Path) -> None:
    """Noisy / ``--noise auto`` / clean crops of two SIDD blocks and one PolyU crop."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import edgerestore

    picks = [pairs(args.data_root / "real" / SETS[0], 97)[1],
             pairs(args.data_root / "real" / SETS[0], 97)[2],
             pairs(args.data_root / "real" / SETS[1], 33)[1]]
    fig, axes = plt.subplots(len(picks), 3, figsize=(9, 3 * len(picks)))
    for row, (name, clean, noisy) in zip(axes, picks, strict=True):
        den = quantize8(edgerestore.denoise(noisy, noise="auto", threads=args.threads))
        crop = (slice(64, 192), slice(64, 192))
        for ax, (title, img) in zip(row, (("noisy", noisy), ("denoise --noise auto", den),
                                          ("clean reference", clean)), strict=True):
            ax.imshow(np.clip(img[crop], 0, 1))
            extra = "" if title.startswith("clean") else f" {psnr(clean, quantize8(img)):.2f} dB"
            ax.set_title(f"{name}: {title}{extra}", fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-root", type=Path, default=ROOT.parent.parent / "shared" / "data")
    p.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS))
    p.add_argument("--methods", nargs="*", choices=METHODS, default=list(METHODS),
                   help="none: only the --adapted / --speed / --choices parts")
    p.add_argument("--weights", type=Path,
                   default=ROOT.parent / "src/edgerestore/models/weights" / f"{REAL}.safetensors")
    p.add_argument("--every", type=int, default=1, help="score every N-th image")
    p.add_argument("--cbm3d-every", type=int, default=8,
                   help="CBM3D on every N-th of the scored images (it is slow)")
    p.add_argument("--student", type=Path,
                   help="the real_fast student's weights (default: its packaged file)")
    p.add_argument("--adapted", nargs="*", default=[], metavar="NAME=FILE")
    p.add_argument("--adapted-images", type=Path, help="pair folder the adapted models adapted to")
    p.add_argument("--speed", action="store_true")
    p.add_argument("--choices", action="store_true")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", type=Path, default=ROOT / "results" / "real_noise.json")
    p.add_argument("--figure", type=Path, default=ROOT / "real_noise.png")
    args = p.parse_args()
    previous = json.loads(args.json.read_text()) if args.json.is_file() else {}
    result = {**previous, "protocol": "8-bit RGB PSNR/SSIM of the 8-bit output, mean over "
              "images, no border crop; noisy inputs as the files store them",
              "weights": str(args.weights.name)}
    if args.methods and args.sets:
        for set_name, methods in quality(args).items():  # other methods' rows are kept
            result.setdefault("quality", {}).setdefault(set_name, {}).update(methods)
        result["every"] = args.every
    if args.adapted:
        result["adapted"] = adapted(args)
    if args.speed:
        result["speed"] = speed(args)
    if args.choices:
        result["choices"] = choices(args)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    if "auto" in args.methods:  # the figure shows what --noise auto does
        figure(args, args.figure)
    print(f"results: {args.json}")


if __name__ == "__main__":
    main()
