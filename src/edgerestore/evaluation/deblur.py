"""Non-blind deblurring evaluation: our solvers against DMSP and classical baselines.

Every clean image is blurred by every kernel and noised from one seeded generator;
each method then restores the *same* observations, with the true noise level, and is
scored on PSNR / SSIM / time. Two protocols: ``dpir`` (circular blur, circular
solvers, full-image scores) and ``authors`` (the DMSP / MAP-denoiser papers' setting:
valid blur, solvers that recover the full scene, scores on the scene behind the
observation). The speed claim measures how long ADMM needs to match DMSP's PSNR.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from edgerestore.console import log, progress
from edgerestore.errors import InputError, require
from edgerestore.evaluation.baselines import (
    bm3d_deblur,
    unsupervised_wiener_deblur,
    wiener_deblur,
)
from edgerestore.evaluation.results import Run, plot_convergence, summarise, write_result
from edgerestore.loading import LoadedDenoiser, load_dae_prior, load_denoiser
from edgerestore.runtime.metrics import psnr, ssim
from edgerestore.runtime.presets import DMSP_ITERS
from edgerestore.runtime.solvers import Result

DEBLUR_METHODS = ("admm", "hqs", "dmsp", "wiener", "uwiener", "bm3d")
PROTOCOLS = ("dpir", "authors")


@dataclass(frozen=True)
class DeblurEvaluation:
    """One ``eval deblur`` run. ``sigma`` is the noise std in [0, 1] units."""

    denoiser: Path
    images: Path
    kernels: Path
    sigma: float
    seed: int = 0
    protocol: str = "dpir"
    methods: tuple[str, ...] = DEBLUR_METHODS
    dae: Path | None = None
    limit: int | None = None
    kernel_limit: int | None = None
    iters_admm: int | None = None
    iters_dmsp: int = DMSP_ITERS
    device: str = "auto"
    threads: int | None = None
    json: Path | None = None
    convergence_plot: Path | None = None
    command: str = ""


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


def evaluate_deblur(run: DeblurEvaluation) -> dict:
    """Run every method on every case; write the JSON / plot asked for; return the result."""
    _check(run)
    methods = list(dict.fromkeys(run.methods))
    kernels = load_kernel_set(run.kernels, run.kernel_limit)
    images = clean_images(run.images, run.limit)
    cases = blurred_cases(images, kernels, run.sigma, run.seed, run.protocol)
    den = load_denoiser(run.denoiser, run.device, run.threads)
    dae_path, dae = (load_dae_prior(run.denoiser, den, run.dae, run.device, run.threads)
                     if "dmsp" in methods else (run.denoiser, den))
    if run.threads:
        import torch

        torch.set_num_threads(run.threads)
    for loaded in {id(den): den, id(dae): dae}.values():
        # One untimed call, so torch's one-off set-up is not charged to the first method.
        loaded.denoise(np.zeros(cases[0].clean.shape, np.float32), loaded.sigma)
    solvers = deblur_methods(run, den, dae)
    rows: dict[str, list[dict]] = {m: [] for m in methods}
    traces: list[dict[str, dict[str, list[float]]]] = []
    for case in progress(cases, desc="eval deblur", unit="case"):
        traces.append({})
        for method in methods:
            done = solvers[method](case)
            rows[method].append({"image": case.image, "kernel": case.kernel_name,
                                 "psnr": case.psnr(done.x), "ssim": case.ssim(done.x),
                                 "iterations": done.iterations, "seconds": done.seconds})
            if done.trace is not None:
                traces[-1][method] = done.trace
    result: dict = {
        "denoiser": str(run.denoiser), "denoiser_sigma": den.sigma * 255.0,
        "dae": str(dae_path), "dae_sigma": dae.sigma * 255.0,
        "images": str(run.images), "kernels": str(run.kernels), "protocol": run.protocol,
        "boundary": boundary(run.protocol),
        "scored": "full image" if run.protocol == "dpir" else
                  "image cropped by the kernel's valid margins (the scene behind the observation)",
        "sigma": round(run.sigma * 255.0, 6), "seed": run.seed,
        "count": len(cases), "image_count": len(images), "kernel_count": len(kernels),
        "methods": {m: summarise(rows[m]) for m in methods},
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
    if run.convergence_plot:
        plot_convergence(run.convergence_plot, result["convergence"])
    if run.json:
        write_result(run.json, result, run.command)
    return result


def _check(run: DeblurEvaluation) -> None:
    """Refuse settings that would fail late or compare nothing."""
    if not run.sigma > 0:
        raise InputError("--sigma must be positive: the methods are compared on noisy data")
    for name in ("limit", "kernel_limit", "threads"):
        if getattr(run, name) is not None and getattr(run, name) < 1:
            raise InputError(f"--{name.replace('_', '-')} must be at least 1")
    if run.protocol not in PROTOCOLS:
        raise InputError(f"protocol must be one of {PROTOCOLS}, got {run.protocol!r}")
    if run.convergence_plot and not {"admm", "hqs", "dmsp"} & set(run.methods):
        raise InputError("--convergence-plot needs admm, hqs or dmsp among --methods")


def boundary(protocol: str) -> str:
    """The blur boundary a protocol's observations have."""
    return "circular" if protocol == "dpir" else "valid"


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


def clean_images(folder: Path, limit: int | None) -> list[tuple[str, np.ndarray]]:
    """(file name, float64 pixels) of the first ``limit`` opaque images of ``folder``."""
    from edgerestore.runtime.image_files import list_images
    from edgerestore.runtime.image_io import read_opaque

    images = []
    for path in list_images(folder, "--images")[:limit]:
        pixels, _info = read_opaque(path)
        images.append((path.name, pixels.astype(np.float64)))
    return images


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


def deblur_methods(run: DeblurEvaluation, den: LoadedDenoiser, dae: LoadedDenoiser
                   ) -> dict[str, Callable[[Case], Run]]:
    """Each method as ``Case -> Run``, all solving the same observation with the true sigma.

    Our solvers handle the boundary themselves; the classical baselines assume circular
    blur, so under the authors' protocol they get the full-size observation our solvers
    start from (edge-replicated, then edge-tapered).
    """
    from edgerestore.runtime.dmsp import dmsp_deblur
    from edgerestore.runtime.forward_blur import blur_model
    from edgerestore.runtime.tasks import deblur

    sigma, blur_boundary = run.sigma, boundary(run.protocol)

    def pnp(method: str, iters: int | None) -> Callable[[Case], Run]:
        return lambda case: _traced(case, lambda callback: deblur(
            case.y, case.kernel, den.denoise, sigma_n=sigma, boundary=blur_boundary,
            method=method, iters=iters, denoiser_sigma=den.sigma, callback=callback))

    def dmsp(case: Case) -> Run:
        return _traced(case, lambda callback: dmsp_deblur(
            case.y, case.kernel, dae.denoise, sigma_n=sigma, boundary=blur_boundary,
            sigma_dae=dae.sigma, iters=run.iters_dmsp, seed=run.seed, callback=callback))

    def full_size(case: Case) -> np.ndarray:
        if run.protocol == "dpir":
            return case.y
        return blur_model(case.kernel, sigma, "valid").init(case.y)

    return {
        "admm": pnp("admm", run.iters_admm),
        "hqs": pnp("hqs", None),
        "dmsp": dmsp,
        "wiener": lambda case: wiener_deblur(full_size(case), case.kernel, sigma),
        "uwiener": lambda case: unsupervised_wiener_deblur(full_size(case), case.kernel,
                                                           run.seed),
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


def _traced(case: Case, solve: Callable[[_Trace], Result]) -> Run:
    trace = _Trace(case)
    result = solve(trace)
    seconds = trace.elapsed()
    return Run(result.x, result.iterations, seconds,
               {"psnr": trace.psnr, "seconds": trace.seconds})


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
