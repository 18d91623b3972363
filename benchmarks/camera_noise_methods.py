"""The camera-noise benchmark's methods (``camera_noise.py``): CBM3D, the learned models,
the shipped sigma-25 model at the sub-image sigma, the CBM3D oracle's sigma search, and
the loop that runs every method on every case."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from camera_noise_cases import Case, ResultCache, file_digest

from edgerestore.errors import require
from edgerestore.runtime.metrics import psnr, ssim

METHODS = ("default", "sigma25_measured", "plain", "apbsn", "camera", "cbm3d_mad",
           "cbm3d_oracle")
#: Learned methods given as a model (packaged name or file) on the command line: flag.
MODEL_FLAGS = {"plain": "--plain-model", "apbsn": "--apbsn-model", "camera": "--camera-model"}
#: The packaged model ``sigma25_measured`` runs.
SIGMA25_MODEL = "blindspot_gauss25_rgb"
#: The oracle's grid: sigma = 2^(k/4) (0-255 units), k in [ORACLE_K_MIN, ORACLE_K_MAX].
ORACLE_K_MIN, ORACLE_K_MAX = 0, 28


def oracle_sigma(k: int) -> float:
    """Grid point ``k`` of the oracle's search, in 0-255 units."""
    return 2.0 ** (k / 4.0)


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
    from edgerestore.units import to_unit

    return resolve(None, task="denoise", channels=3, sigma=to_unit(case.mad_sigma))


def run_oracle(case: Case, cbm3d: Callable[[str, float], tuple[np.ndarray, dict]]
               ) -> tuple[np.ndarray, dict[str, Any]]:
    """CBM3D at the best sigma for the clean image (the search described in the docstring
    of ``camera_noise.py``)."""
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
