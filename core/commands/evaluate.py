"""``edgerestore eval``: score models with the benchmark protocol (fixed seed, unclipped
noise, PSNR on the 8-bit output), optionally with classical baselines side by side.

``eval denoise`` scores a denoiser; ``eval deblur`` scores plug-and-play deblurring with
the MAP denoiser (ADMM, HQS) against DMSP and the Wiener / BM3D baselines, every method on
the same noisy observations, and times how long ADMM needs to match DMSP's PSNR."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from edgerestore.console import log, progress
from edgerestore.errors import InputError, require
from edgerestore.runtime.metrics import psnr, ssim

if TYPE_CHECKING:
    from edgerestore.loading import LoadedDenoiser
    from edgerestore.runtime.noise import NoiseSpec

MODES = ("posterior", "estimated", "prior")
DEBLUR_METHODS = ("admm", "hqs", "dmsp", "wiener", "uwiener", "bm3d")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a model on a folder of images", description=__doc__)
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    d = kinds.add_parser("denoise", help="denoising PSNR/SSIM on a folder of clean images",
                         description="Add seeded noise to each clean image, denoise, score.")
    d.add_argument("--model", type=Path, required=True,
                   help="weights (.safetensors), or an exported .onnx/.tflite file (scored "
                        "through the torch-free runtime, for parity with the PyTorch path)")
    d.add_argument("--images", type=Path, required=True, help="folder of clean images")
    d.add_argument("--noise", default="gauss:25", help="noise spec, e.g. gauss:25")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--mode", choices=(*MODES, "all"), default="posterior",
                   help="posterior mean with known sigma (default), with estimated sigma, "
                        "prior mean only, or all three")
    d.add_argument("--bm3d", action="store_true", help="also run (C)BM3D at the true sigma")
    d.add_argument("--bm3d-cache", type=Path,
                   help="reuse (C)BM3D outputs for bit-identical noisy inputs from this folder")
    d.add_argument("--limit", type=int, help="only the first N images")
    d.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    d.add_argument("--threads", type=int, help="inference threads for exported files")
    d.add_argument("--no-ssim", action="store_true")
    d.add_argument("--json", type=Path, help="write the results here")
    d.add_argument("--card", action="store_true",
                   help="record the mean PSNR/SSIM in the model card (evaluation section)")
    d.set_defaults(func=run_denoise)

    b = kinds.add_parser(
        "deblur", help="non-blind deblurring: PnP-ADMM vs HQS, DMSP and classical baselines",
        description="Blur each clean image with each kernel, add seeded Gaussian noise, run "
                    "every method on the same observations, score PSNR/SSIM/time, and measure "
                    "how fast ADMM reaches DMSP's final PSNR.")
    b.add_argument("--denoiser", type=Path, required=True,
                   help="MAP denoiser (.safetensors, or an exported .onnx/.tflite file)")
    b.add_argument("--images", type=Path, required=True, help="folder of clean images")
    b.add_argument("--kernels", type=Path, required=True,
                   help="all kernels of a .npz (every array) or .mat ('kernels' cell array)")
    b.add_argument("--sigma", type=float, default=2.55, help="noise std, 0-255 (default 2.55)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--protocol", choices=("dpir", "authors"), default="dpir",
                   help="dpir: circular blur, circular solvers; authors: valid blur, solvers "
                        "recover the full image, baselines get an edge-tapered observation")
    b.add_argument("--methods", nargs="+", choices=DEBLUR_METHODS, default=list(DEBLUR_METHODS))
    b.add_argument("--dae", type=Path,
                   help="DAE prior for DMSP (default: the DAE the denoiser's card names, "
                        "else the --denoiser)")
    b.add_argument("--limit", type=int, help="only the first N images")
    b.add_argument("--kernel-limit", type=int, help="only the first N kernels")
    b.add_argument("--iters-admm", type=int, help="ADMM iterations (default 75, with early stop)")
    b.add_argument("--iters-dmsp", type=int, default=300, help="DMSP iterations (default 300)")
    b.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    b.add_argument("--threads", type=int,
                   help="torch CPU threads (1 gives steadier timings on a busy machine)")
    b.add_argument("--json", type=Path, help="write the results here")
    b.add_argument("--convergence-plot", type=Path,
                   help="PNG of PSNR vs iteration and vs seconds (ADMM, HQS, DMSP), first case")
    b.set_defaults(func=run_deblur)


def run_denoise(args: argparse.Namespace) -> int:
    require("torch", package="torch", extra="train", purpose="evaluating .safetensors models")
    from edgerestore.models.bm3d_baseline import bm3d_denoiser
    from edgerestore.models.evaluate import noisy_set, score, torch_denoiser
    from edgerestore.models.run_state import resolve_device
    from edgerestore.models.weights_io import load_weights
    from edgerestore.runtime.noise import NoiseSpec

    suffix = args.model.suffix.lower()
    if suffix not in (".safetensors", ".onnx", ".tflite"):
        raise InputError(f"{args.model}: expected .safetensors weights or an exported "
                         ".onnx/.tflite file")
    if not args.images.is_dir():
        raise InputError(f"{args.images}: not a folder of images")
    spec = NoiseSpec.parse(args.noise)
    if suffix != ".safetensors":
        return _run_denoise_exported(args, spec)
    device = resolve_device(args.device)
    model, config = load_weights(args.model, device)
    if config.get("arch") != "blindspot_denoiser":
        raise InputError(f"{args.model}: not a denoiser ({config.get('arch')})")
    if spec.kind != config["noise_model"]:
        raise InputError(f"{args.model} models {config['noise_model']} noise, not {spec.kind}")
    items = noisy_set(args.images, spec, args.seed, config["channels"], args.limit)
    modes = MODES if args.mode == "all" else (args.mode,)
    result: dict = {"model": str(args.model), "images": str(args.images), "noise": str(spec),
                    "seed": args.seed, "count": len(items)}
    for mode in modes:
        scored = score(torch_denoiser(model, mode, spec.kind, device), items, desc=mode,
                       with_ssim=not args.no_ssim)
        if len(modes) == 1:
            result.update(mode=mode, **scored)
        else:
            result.setdefault("modes", {})[mode] = scored
        log.info("%s %s: PSNR %.2f dB", args.model.name, mode, scored["psnr"])
    if args.bm3d:
        if spec.kind != "gauss":
            raise InputError("the BM3D baseline needs Gaussian noise")
        name = "cbm3d" if config["channels"] == 3 else "bm3d"
        timings: list[float] = []
        result[name] = score(bm3d_denoiser(args.bm3d_cache, timings), items, desc=name,
                             with_ssim=not args.no_ssim)
        for row, seconds in zip(result[name]["per_image"], timings, strict=True):
            row["seconds"] = round(seconds, 4)  # compute time, also for cached outputs
        result[name]["seconds"] = float(sum(timings))
        log.info("%s: PSNR %.2f dB", name, result[name]["psnr"])
    if args.json:
        write_result(args.json, result, args.command_line)
    if args.card:
        record_in_card(args.model, args.images.name, result)
    print(json.dumps(_drop_per_image(result), indent=2))
    return 0


def _run_denoise_exported(args: argparse.Namespace, spec: NoiseSpec) -> int:
    """Score an exported file through the runtime, on the same noisy images (seed, order)
    as the PyTorch path: the runtime-vs-PyTorch parity measurement."""
    from edgerestore.models.evaluate import noisy_set, score
    from edgerestore.runtime.backends import SessionOptions
    from edgerestore.runtime.exported_denoiser import ExportedDenoiser

    if args.mode != "posterior" or args.bm3d or args.card:
        raise InputError("exported files are scored as they are (no --mode, --bm3d or --card)")
    if spec.kind != "gauss":
        raise InputError("the runtime denoiser handles Gaussian noise only")
    den = ExportedDenoiser(args.model, SessionOptions(threads=args.threads))
    items = noisy_set(args.images, spec, args.seed, den.channels, args.limit)
    scored = score(lambda noisy, level: den.denoise(noisy, level), items, desc="exported",
                   with_ssim=not args.no_ssim)
    result = {"model": str(args.model), "backend": den.session.backend,
              "images": str(args.images), "noise": str(spec), "seed": args.seed,
              "count": len(items), "mode": "exported", **scored}
    log.info("%s: PSNR %.2f dB", args.model.name, scored["psnr"])
    if args.json:
        write_result(args.json, result, args.command_line)
    print(json.dumps(_drop_per_image(result), indent=2))
    return 0


def record_in_card(model: Path, dataset: str, result: dict) -> None:
    """Add ``{dataset: {noise: {mode: {psnr, ssim}}}}`` to the model card, atomically."""
    from edgerestore.models.weights_io import card_path, load_card
    from edgerestore.runtime.atomic import atomic_write

    card = load_card(model)
    if not card:
        raise InputError(f"{model}: has no model card to record the evaluation in")
    modes = result.get("modes") or {result["mode"]: result}
    entry = card.setdefault("evaluation", {}).setdefault(dataset, {}).setdefault(
        result["noise"], {})
    for mode, scored in modes.items():
        entry[mode] = {k: round(scored[k], 4) for k in ("psnr", "ssim") if k in scored}
        entry[mode]["seed"] = result["seed"]
    for base in ("cbm3d", "bm3d"):
        if base in result:
            entry[base] = {k: round(result[base][k], 4) for k in ("psnr", "ssim")
                           if k in result[base]}
    atomic_write(card_path(model), (json.dumps(card, indent=2) + "\n").encode())


#: Mean squared Laplacian of natural images in [0, 1] units (0.02-0.06 on Set3C and
#: CBSD68 images): the signal power seen by scikit-image's Laplacian regulariser, so
#: Wiener-Hunt's balance is the noise-to-signal ratio ``sigma_n^2 / WIENER_LAPLACIAN_POWER``.
WIENER_LAPLACIAN_POWER = 0.03


class Case(NamedTuple):
    """One (image, kernel) pair and its noisy observation, shared by every method."""

    image: str
    kernel_name: str
    clean: np.ndarray
    kernel: np.ndarray
    y: np.ndarray
    #: The pixels PSNR/SSIM are computed on: all of them (DPIR), or, under the authors'
    #: protocol, the scene behind the observed (valid) pixels, as DMSP's evaluation
    #: crops it; the ring outside was never observed and is not scored.
    scored: tuple[slice, slice] = (slice(None), slice(None))

    def psnr(self, estimate: np.ndarray) -> float:
        """PSNR of ``estimate`` on the scored region."""
        return psnr(self.clean[self.scored], estimate[self.scored])

    def ssim(self, estimate: np.ndarray) -> float:
        """SSIM of ``estimate`` on the scored region."""
        return ssim(self.clean[self.scored], estimate[self.scored])


class Run(NamedTuple):
    """A method's estimate; ``trace`` (iterative methods) holds per-iteration PSNR/seconds."""

    x: np.ndarray
    iterations: int
    seconds: float
    trace: dict[str, list[float]] | None = None


def run_deblur(args: argparse.Namespace) -> int:
    from edgerestore.loading import load_dae_prior, load_denoiser
    from edgerestore.units import noise_sigma

    sigma = noise_sigma(args.sigma)
    if not sigma:
        raise InputError("--sigma must be positive: the methods are compared on noisy data")
    for name in ("limit", "kernel_limit", "threads"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise InputError(f"--{name.replace('_', '-')} must be at least 1")
    methods = list(dict.fromkeys(args.methods))
    if args.convergence_plot and not {"admm", "hqs", "dmsp"} & set(methods):
        raise InputError("--convergence-plot needs admm, hqs or dmsp among --methods")
    kernels = load_kernel_set(args.kernels, args.kernel_limit)
    images = _clean_images(args.images, args.limit)
    cases = blurred_cases(images, kernels, sigma, args.seed, args.protocol)
    den = load_denoiser(args.denoiser, args.device, args.threads)
    dae_path, dae = (load_dae_prior(args.denoiser, den, args.dae, args.device, args.threads)
                     if "dmsp" in methods else (args.denoiser, den))
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    for loaded in {id(den): den, id(dae): dae}.values():
        # One untimed call, so torch's one-off set-up is not charged to the first method.
        loaded.denoise(np.zeros(cases[0].clean.shape, np.float32), loaded.sigma)
    solvers = deblur_methods(args, den, dae, sigma)
    rows: dict[str, list[dict]] = {m: [] for m in methods}
    traces: list[dict[str, dict[str, list[float]]]] = []
    for case in progress(cases, desc="eval deblur", unit="case"):
        traces.append({})
        for method in methods:
            run = solvers[method](case)
            rows[method].append({"image": case.image, "kernel": case.kernel_name,
                                 "psnr": case.psnr(run.x), "ssim": case.ssim(run.x),
                                 "iterations": run.iterations, "seconds": run.seconds})
            if run.trace is not None:
                traces[-1][method] = run.trace
    result: dict = {
        "denoiser": str(args.denoiser), "denoiser_sigma": den.sigma * 255.0,
        "dae": str(dae_path), "dae_sigma": dae.sigma * 255.0,
        "images": str(args.images), "kernels": str(args.kernels), "protocol": args.protocol,
        "boundary": _boundary(args.protocol),
        "scored": "full image" if args.protocol == "dpir" else
                  "image cropped by the kernel's valid margins (the scene behind the observation)",
        "sigma": args.sigma, "seed": args.seed,
        "count": len(cases), "image_count": len(images), "kernel_count": len(kernels),
        "methods": {m: _summarise(rows[m]) for m in methods},
    }
    for method, scored in result["methods"].items():
        log.info("%s: PSNR %.2f dB, SSIM %.4f, %.2f s per case", method, scored["psnr"],
                 scored["ssim"], scored["seconds"])
    if {"admm", "dmsp"} <= set(methods):
        result["speed"] = speed_claim(rows["admm"], rows["dmsp"], [t["admm"] for t in traces])
        log.info("ADMM reached DMSP's PSNR in %d of %d cases; mean speedup %s",
                 result["speed"]["cases_reached"], len(cases), result["speed"]["speedup_mean"])
    if traces[0]:
        result["convergence"] = {"image": cases[0].image, "kernel": cases[0].kernel_name,
                                 **traces[0]}
    if args.convergence_plot:
        plot_convergence(args.convergence_plot, result["convergence"])
    if args.json:
        write_result(args.json, result, args.command_line)
    summary = {k: v for k, v in result.items() if k != "convergence"}
    print(json.dumps(_drop_per_image(summary), indent=2))
    return 0


def write_result(path: Path, result: dict, command: str) -> None:
    """Write a result JSON atomically, with the command line that produced it first, so a
    benchmark figure can always be traced to the exact run (and an interrupted run never
    leaves a truncated file that a report would then read)."""
    from edgerestore.runtime.atomic import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"command": command, **result}
    atomic_write(path, (json.dumps(record, indent=2) + "\n").encode())


def load_kernel_set(path: Path, limit: int | None) -> list[tuple[str, np.ndarray]]:
    """(name, kernel) for every array of a .npz or every entry of a .mat 'kernels' cell."""
    from edgerestore.runtime.kernels import load_kernel

    suffix = path.suffix.lower()
    if suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as data:
                names = list(data.files)
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: not a readable .npz archive of kernels ({exc})") from exc
    elif suffix == ".mat":
        load_kernel(f"{path}:1")  # its errors explain unreadable files and a missing cell
        sio = require("scipy.io", package="scipy", extra="eval", purpose=f"reading {path}")
        count = sio.loadmat(path, variable_names=["kernels"])["kernels"].size
        names = [str(index) for index in range(1, count + 1)]
    else:
        raise InputError(f"{path}: --kernels takes a .npz or .mat file of kernels")
    if not names:
        raise InputError(f"{path}: holds no kernels")
    return [(name, load_kernel(f"{path}:{name}")) for name in names[:limit]]


def _clean_images(folder: Path, limit: int | None) -> list[tuple[str, np.ndarray]]:
    from edgerestore.models.patches import list_images
    from edgerestore.runtime.image_io import read_image

    images = []
    for path in list_images(folder)[:limit]:
        pixels, info = read_image(path)
        if info.has_alpha:
            raise InputError(f"{path}: has an alpha channel; evaluate on opaque images")
        images.append((path.name, pixels.astype(np.float64)))
    return images


def _boundary(protocol: str) -> str:
    return "circular" if protocol == "dpir" else "valid"


def blurred_cases(images: list[tuple[str, np.ndarray]], kernels: list[tuple[str, np.ndarray]],
                  sigma: float, seed: int, protocol: str) -> list[Case]:
    """Blur every image with every kernel and add noise from one generator, in that order.

    ``dpir``: circular blur (DPIR's protocol). ``authors``: the valid part of the blur
    (the DMSP / MAP-denoiser papers' setting), so the observation is ``k - 1`` smaller,
    and scores are taken on the scene behind it (the image cropped by the valid
    margins). The noise is unclipped, as in the benchmarks.
    """
    from edgerestore.runtime.blur import blur_circular, blur_valid, valid_margins
    from edgerestore.runtime.kernels import validate_kernel

    rng = np.random.default_rng(seed)
    cases = []
    for image, clean in images:
        for kernel_name, kernel in kernels:
            validate_kernel(kernel, clean.shape, name=f"kernel {kernel_name}")
            blurred = (blur_circular if protocol == "dpir" else blur_valid)(clean, kernel)
            y = blurred + rng.normal(0.0, sigma, blurred.shape)
            scored = (slice(None), slice(None))
            if protocol != "dpir":
                (top, bottom), (left, right) = valid_margins(kernel.shape)
                scored = (slice(top, clean.shape[0] - bottom), slice(left, clean.shape[1] - right))
            cases.append(Case(image, kernel_name, clean, kernel, y, scored))
    return cases


def deblur_methods(args: argparse.Namespace, den: LoadedDenoiser, dae: LoadedDenoiser,
                   sigma: float) -> dict:
    """Each method as ``Case -> Run``, all solving the same observation with the true sigma.

    Our solvers handle the boundary themselves; the classical baselines assume circular
    blur, so under the authors' protocol they get the full-size observation our solvers
    start from (edge-replicated, then edge-tapered).
    """
    from edgerestore.runtime.dmsp import dmsp_deblur
    from edgerestore.runtime.forward_blur import blur_model
    from edgerestore.runtime.tasks import deblur

    boundary = _boundary(args.protocol)

    def pnp(method: str, iters: int | None):
        return lambda case: _traced(case, lambda callback: deblur(
            case.y, case.kernel, den.denoise, sigma_n=sigma, boundary=boundary, method=method,
            iters=iters, denoiser_sigma=den.sigma, callback=callback))

    def dmsp(case: Case) -> Run:
        return _traced(case, lambda callback: dmsp_deblur(
            case.y, case.kernel, dae.denoise, sigma_n=sigma, boundary=boundary,
            sigma_dae=dae.sigma, iters=args.iters_dmsp, seed=args.seed, callback=callback))

    def full_size(case: Case) -> np.ndarray:
        if args.protocol == "dpir":
            return case.y
        return blur_model(case.kernel, sigma, "valid").init(case.y)

    return {
        "admm": pnp("admm", args.iters_admm),
        "hqs": pnp("hqs", None),
        "dmsp": dmsp,
        "wiener": lambda case: wiener_deblur(full_size(case), case.kernel, sigma),
        "uwiener": lambda case: unsupervised_wiener_deblur(full_size(case), case.kernel,
                                                           args.seed),
        "bm3d": lambda case: bm3d_deblur(full_size(case), case.kernel, sigma),
    }


class _Trace:
    """Solver callback: PSNR per iteration on a clock that leaves out its own cost."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.psnr: list[float] = []
        self.seconds: list[float] = []
        self._own = 0.0
        self._start = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self._start - self._own

    def __call__(self, _iteration: int, estimate: np.ndarray, _info: dict) -> None:
        entered = time.perf_counter()
        self.seconds.append(entered - self._start - self._own)
        self.psnr.append(self.case.psnr(estimate))
        self._own += time.perf_counter() - entered


def _traced(case: Case, solve) -> Run:
    trace = _Trace(case)
    result = solve(trace)
    seconds = trace.elapsed()
    return Run(result.x, result.iterations, seconds,
               {"psnr": trace.psnr, "seconds": trace.seconds})


def _odd(kernel: np.ndarray) -> np.ndarray:
    """Zero-pad an even-sized kernel at the bottom/right, keeping its centre at ``k // 2``.

    For odd sizes every library agrees with our centre; bm3d puts an even kernel's
    centre elsewhere.
    """
    kh, kw = kernel.shape
    return np.pad(kernel, ((0, 1 - kh % 2), (0, 1 - kw % 2)))


def _per_channel(z: np.ndarray, restore) -> np.ndarray:
    return np.stack([restore(z[:, :, c]) for c in range(z.shape[2])], axis=2)


def wiener_deblur(z: np.ndarray, kernel: np.ndarray, sigma: float) -> Run:
    """scikit-image's Wiener-Hunt filter per channel, balance = noise / Laplacian power."""
    restoration = require("skimage.restoration", package="scikit-image", extra="eval",
                          purpose="the Wiener baseline")
    psf, balance = _odd(kernel), sigma**2 / WIENER_LAPLACIAN_POWER
    start = time.perf_counter()
    x = _per_channel(z, lambda c: restoration.wiener(c, psf, balance, clip=False))
    return Run(x, 1, time.perf_counter() - start)


def unsupervised_wiener_deblur(z: np.ndarray, kernel: np.ndarray, seed: int) -> Run:
    """scikit-image's unsupervised Wiener-Hunt (Gibbs sampler) per channel, seeded.

    ``iterations`` is the largest number of Gibbs samples any channel needed.
    """
    restoration = require("skimage.restoration", package="scikit-image", extra="eval",
                          purpose="the unsupervised Wiener baseline")
    psf, samples = _odd(kernel), []

    def one(channel: np.ndarray) -> np.ndarray:
        estimate, chains = restoration.unsupervised_wiener(channel, psf, clip=False, rng=seed)
        samples.append(len(chains["noise"]))
        return estimate

    start = time.perf_counter()
    x = _per_channel(z, one)
    return Run(x, max(samples), time.perf_counter() - start)


def bm3d_deblur(z: np.ndarray, kernel: np.ndarray, sigma: float) -> Run:
    """``bm3d.bm3d_deblurring`` per channel (the package has no colour deblurring variant).

    Each channel goes in as HxWx1: the package builds a wrongly shaped noise PSD for
    2-D input, and its multichannel path fails on the Wiener stage.
    """
    bm3d = require("bm3d", package="bm3d", extra="eval", purpose="the BM3D baseline")
    psf = _odd(kernel)
    start = time.perf_counter()
    with _numpy_trapz():
        x = _per_channel(z, lambda c: np.asarray(
            bm3d.bm3d_deblurring(c[:, :, None], sigma, psf)).reshape(c.shape))
    return Run(x, 1, time.perf_counter() - start)


@contextmanager
def _numpy_trapz() -> Iterator[None]:
    """Lend ``np.trapz`` (removed in NumPy 2.4) to bm4d 4.2.5, which BM3D deblurring calls."""
    if hasattr(np, "trapz"):
        yield
        return
    np.trapz = np.trapezoid
    try:
        yield
    finally:
        del np.trapz


def _summarise(rows: list[dict]) -> dict:
    return {"psnr": float(np.mean([r["psnr"] for r in rows])),
            "ssim": float(np.mean([r["ssim"] for r in rows])),
            "iterations": float(np.mean([r["iterations"] for r in rows])),
            "seconds": float(np.mean([r["seconds"] for r in rows])),
            "seconds_total": float(np.sum([r["seconds"] for r in rows])),
            "per_image": rows}


def speed_claim(admm_rows: list[dict], dmsp_rows: list[dict],
                admm_traces: list[dict[str, list[float]]]) -> dict:
    """How long ADMM takes to reach DMSP's final PSNR, per case and on average.

    The time is ADMM's clock (PSNR bookkeeping excluded) at the first iteration whose
    PSNR is at least DMSP's final PSNR; ``speedup`` is DMSP's total time over it. Cases
    where ADMM never gets there keep ``None``: the means are over the cases that did,
    and ``cases_reached`` says how many that is.
    """
    per_case = []
    for admm, dmsp, trace in zip(admm_rows, dmsp_rows, admm_traces, strict=True):
        hit = next((i for i, p in enumerate(trace["psnr"]) if p >= dmsp["psnr"]), None)
        seconds = None if hit is None else trace["seconds"][hit]
        per_case.append({
            "image": admm["image"], "kernel": admm["kernel"],
            "dmsp_psnr": dmsp["psnr"], "dmsp_seconds": dmsp["seconds"],
            "admm_psnr": admm["psnr"], "admm_seconds": admm["seconds"],
            "admm_iterations_to_reach_dmsp_psnr": None if hit is None else hit + 1,
            "admm_seconds_to_reach_dmsp_psnr": seconds,
            "speedup": None if seconds is None else dmsp["seconds"] / seconds,
            "admm_trace": trace,
        })
    reached = [c for c in per_case if c["speedup"] is not None]
    return {
        "cases": len(per_case), "cases_reached": len(reached),
        "speedup_mean": float(np.mean([c["speedup"] for c in reached])) if reached else None,
        "admm_seconds_to_reach_dmsp_psnr_mean": float(np.mean(
            [c["admm_seconds_to_reach_dmsp_psnr"] for c in reached])) if reached else None,
        "note": "means over the cases_reached cases where ADMM reached DMSP's final PSNR",
        "per_image": per_case,
    }


def plot_convergence(path: Path, convergence: dict) -> None:
    """PSNR against iteration and against seconds for the solvers traced on one case."""
    matplotlib = require("matplotlib", package="matplotlib", extra="eval",
                         purpose="the convergence plot")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (by_iteration, by_time) = plt.subplots(1, 2, figsize=(10, 4))
    for name in ("admm", "hqs", "dmsp"):
        if name in convergence:
            trace = convergence[name]
            iterations = range(1, len(trace["psnr"]) + 1)
            by_iteration.plot(iterations, trace["psnr"], label=name.upper())
            by_time.plot(trace["seconds"], trace["psnr"], label=name.upper())
    for ax, xlabel in ((by_iteration, "iteration"), (by_time, "seconds")):
        ax.set_xscale("log")  # DMSP runs ~40x more iterations than HQS
        ax.set_xlabel(xlabel)
        ax.set_ylabel("PSNR (dB)")
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.suptitle(f"{convergence['image']}, kernel {convergence['kernel']}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _drop_per_image(obj):
    if isinstance(obj, dict):
        return {k: _drop_per_image(v) for k, v in obj.items() if k != "per_image"}
    return obj
