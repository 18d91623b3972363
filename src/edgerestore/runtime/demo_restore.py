"""The demo's restoration step, on exported files only: what a device would run.

It lives in the runtime package (numpy + onnxruntime / LiteRT, never torch) so that
``edgerestore demo`` can run it in a child process in which ``import torch`` fails:
that the step completes there is the proof that the exported files are all a device
needs. The parent and the child talk through files only (a job JSON in,
``restore.json`` and 8-bit PNGs out), so nothing torch-side has to be shared.

Two restorations, each with every exported file it is given:

* denoising: the clean inputs plus seeded Gaussian noise (unclipped, the benchmark
  protocol) go through each blind-spot file with the known noise level;
* deblurring: one clean input is blurred by a motion kernel generated in code
  (:func:`~edgerestore.runtime.kernels.motion_kernel`), a little noise is added, and
  plug-and-play ADMM restores it with each MAP-denoiser file as its prior; PSNR is
  recorded at every iteration for the convergence plot.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgerestore.console import progress, setup_logging
from edgerestore.errors import EdgeRestoreError, InputError
from edgerestore.runtime.backends import SessionOptions
from edgerestore.runtime.blur import blur_valid
from edgerestore.runtime.exported_denoiser import ExportedDenoiser
from edgerestore.runtime.image_files import list_images
from edgerestore.runtime.image_io import read_image, write_image
from edgerestore.runtime.kernels import motion_kernel
from edgerestore.runtime.metrics import psnr, ssim
from edgerestore.runtime.model_files import exported_format
from edgerestore.runtime.noise import add_gaussian_noise
from edgerestore.runtime.presets import MAP_DENOISER_SIGMA
from edgerestore.runtime.samples import COLOR_SAMPLES, load_sample
from edgerestore.runtime.tasks import deblur
from edgerestore.units import to_255, to_unit


@dataclass
class DemoInput:
    """One picture to denoise: the noisy version, and the clean one when it is known."""

    name: str
    noisy: np.ndarray
    clean: np.ndarray | None
    sigma: float | None  # the noise std told to the denoiser ([0, 1]); None: estimate it


@dataclass
class Job:
    """Everything the child process needs; written by the parent as JSON.

    ``sigma`` and ``blur_sigma`` are 0-255, as the user gave them and the report shows
    them; :func:`load_inputs` and :func:`deblur_step` convert them (``units.to_unit``).
    """

    out: str
    denoisers: list[str]
    deblurrers: list[str]
    images: str | None = None
    sigma: float | None = 25.0
    seed: int = 0
    limit: int | None = None
    crop: int | None = None
    threads: int = 2
    kernel_size: int = 17
    kernel_seed: int = 0
    blur_sigma: float = 2.55
    deblur_crop: int = 240
    iters: int = 30
    quiet: bool = False

    @classmethod
    def from_json(cls, text: str) -> Job:
        return cls(**json.loads(text))

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2)


def centre_crop(image: np.ndarray, size: int | None) -> np.ndarray:
    """The central ``size x size`` part (or less, along a shorter side)."""
    if size is None:
        return image
    h, w = image.shape[:2]
    top, left = max((h - size) // 2, 0), max((w - size) // 2, 0)
    return image[top:top + size, left:left + size]


def _rgb(image: np.ndarray, name: str) -> np.ndarray:
    """The colour models take RGB: grey is repeated, alpha is refused (no silent flatten)."""
    if image.shape[2] in (2, 4):
        raise InputError(f"{name}: has an alpha channel; flatten it first")
    return np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image


def load_inputs(job: Job) -> list[DemoInput]:
    """The bundled colour samples, or the user's photos (noisy as given unless ``sigma``)."""
    rng = np.random.default_rng(job.seed)
    if job.images is None:
        named = [(name, load_sample(name)) for name in COLOR_SAMPLES[:job.limit]]
        sigma = 25.0 if job.sigma is None else job.sigma
    else:
        named = []
        for path in list_images(job.images, "--images")[:job.limit]:
            pixels, _info = read_image(path)
            named.append((path.stem, _rgb(pixels, path.name)))
        sigma = job.sigma
    inputs = []
    for name, image in named:
        image = np.ascontiguousarray(centre_crop(image, job.crop), np.float32)
        if sigma is None:
            inputs.append(DemoInput(name, image, None, None))
        else:
            level = to_unit(sigma)
            inputs.append(DemoInput(name, add_gaussian_noise(image, level, rng, units="unit"),
                                    image, level))
    return inputs


def unavailable(path: Path) -> str | None:
    """Why this machine cannot run ``path``, or None. Checked up front so one missing
    backend skips its files with a clear reason instead of ending the whole step."""
    if exported_format(path) == "tflite" and importlib.util.find_spec("ai_edge_litert") is None:
        return ("running .tflite files needs the 'ai-edge-litert' package: "
                "pip install 'edgerestore[litert]'")
    if exported_format(path) == "onnx" and importlib.util.find_spec("onnxruntime") is None:
        return "running .onnx files needs the 'onnxruntime' package: pip install edgerestore"
    return None


def _score(clean: np.ndarray | None, image: np.ndarray) -> dict[str, float | None]:
    if clean is None:
        return {"psnr": None, "ssim": None}
    return {"psnr": round(psnr(clean, image), 3), "ssim": round(ssim(clean, image), 4)}


def denoise_step(job: Job, inputs: list[DemoInput], images: Path) -> list[dict[str, Any]]:
    """Each blind-spot file on each input; one result row per (file, image)."""
    for item in inputs:
        write_image(images / f"{item.name}_noisy.png", item.noisy)
        if item.clean is not None:
            write_image(images / f"{item.name}_clean.png", item.clean)
    rows: list[dict[str, Any]] = []
    for file in map(Path, job.denoisers):
        reason = unavailable(file)
        if reason:
            rows.append({"file": file.name, "skipped": reason})
            continue
        denoiser = ExportedDenoiser(file, SessionOptions(threads=job.threads))
        for item in progress(inputs, desc=f"denoise {file.name}", unit="img"):
            start = time.perf_counter()
            restored = denoiser.denoise(item.noisy, item.sigma)
            seconds = time.perf_counter() - start
            picture = f"{item.name}_{file.name.replace('.', '_')}.png"
            write_image(images / picture, restored)
            noisy, out = _score(item.clean, item.noisy), _score(item.clean, restored)
            rows.append({"file": file.name, "image": item.name,
                         "shape": list(item.noisy.shape), "sigma": _sigma_255(item.sigma),
                         "noisy_psnr": noisy["psnr"], "noisy_ssim": noisy["ssim"],
                         "psnr": out["psnr"], "ssim": out["ssim"],
                         "seconds": round(seconds, 3), "picture": picture})
    return rows


def _sigma_255(sigma: float | None) -> float | None:
    """A [0, 1] noise std as the 0-255 number the result file and the report show."""
    return None if sigma is None else to_255(sigma)


def blurred_input(clean: np.ndarray, kernel: np.ndarray, crop: int, sigma: float,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(reference, observation): the 'same'-boundary blur a camera records.

    The observation is the valid blur of a region ``k - 1`` pixels larger than the
    reference, so its borders saw real content outside the frame (no wrap-around that
    would flatter a circular-boundary solver); then seeded Gaussian noise of std
    ``sigma`` ([0, 1] units).
    """
    kh, kw = kernel.shape
    h, w = clean.shape[:2]
    side = min(crop, h - kh + 1, w - kw + 1)
    if side < 32:
        raise InputError(f"image of {h}x{w} is too small to blur with a {kh}x{kw} kernel")
    top, left = (h - side - kh + 1) // 2, (w - side - kw + 1) // 2
    region = clean[top:top + side + kh - 1, left:left + side + kw - 1]
    reference = region[kh // 2:kh // 2 + side, kw // 2:kw // 2 + side]
    observed = add_gaussian_noise(blur_valid(region, kernel).astype(np.float32), sigma, rng,
                                  units="unit")
    return np.ascontiguousarray(reference), observed


def deblur_step(job: Job, clean: np.ndarray, name: str, images: Path) -> dict[str, Any]:
    """ADMM deblurring of one blurred input with each MAP-denoiser file as the prior."""
    kernel = motion_kernel(job.kernel_size, job.kernel_seed)
    reference, observed = blurred_input(clean, kernel, job.deblur_crop, to_unit(job.blur_sigma),
                                        np.random.default_rng(job.seed + 1))
    write_image(images / "deblur_clean.png", reference)
    write_image(images / "deblur_blurred.png", observed)
    write_image(images / "deblur_kernel.png", kernel / kernel.max())
    result: dict[str, Any] = {
        "image": name, "shape": list(reference.shape), "kernel_size": job.kernel_size,
        "kernel_seed": job.kernel_seed, "noise_sigma": job.blur_sigma, "iters": job.iters,
        "boundary": "same", "blurred_psnr": round(psnr(reference, observed), 3),
        "kernel_picture": "deblur_kernel.png", "files": []}
    for file in map(Path, job.deblurrers):
        reason = unavailable(file)
        if reason:
            result["files"].append({"file": file.name, "skipped": reason})
            continue
        denoiser = ExportedDenoiser(file, SessionOptions(threads=job.threads))
        curve: list[float] = []
        bar = iter(progress(range(job.iters), desc=f"deblur {file.name}", unit="iter"))

        def track(_it: int, estimate: np.ndarray, _info: dict[str, float],
                  curve: list[float] = curve, bar=bar) -> None:
            curve.append(round(psnr(reference, estimate), 3))
            next(bar, None)

        start = time.perf_counter()
        # tol=0: run every iteration, so all files' curves cover the same range. A file
        # whose card lacks its training noise gets the paper's 11/255. The time includes
        # the per-iteration PSNR of the callback (one 8-bit PSNR, small next to a call).
        restored = deblur(observed, kernel, denoiser, sigma_n=to_unit(job.blur_sigma),
                          boundary="same", iters=job.iters, tol=0.0,
                          denoiser_sigma=denoiser.strength or MAP_DENOISER_SIGMA,
                          callback=track).x
        seconds = time.perf_counter() - start
        for _ in bar:  # close the progress bar
            pass
        picture = f"deblur_{file.name.replace('.', '_')}.png"
        write_image(images / picture, restored)
        result["files"].append({"file": file.name, **_score(reference, restored),
                                "psnr_per_iter": curve, "seconds": round(seconds, 2),
                                "picture": picture})
    return result


def run_job(job: Job) -> dict[str, Any]:
    """Run both restorations; writes ``restore.json`` and the PNGs under ``job.out``."""
    start = time.perf_counter()
    out = Path(job.out)
    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)
    inputs = load_inputs(job)
    result: dict[str, Any] = {
        "inputs": [{"name": i.name, "shape": list(i.noisy.shape), "sigma": _sigma_255(i.sigma),
                    "has_clean": i.clean is not None} for i in inputs],
        "threads": job.threads,
        "denoise": denoise_step(job, inputs, images) if job.denoisers else [],
        "torch_loaded": "torch" in sys.modules and sys.modules["torch"] is not None,
    }
    if job.deblurrers:
        first = inputs[0]
        clean = first.clean if first.clean is not None else first.noisy
        result["deblur"] = deblur_step(job, clean, first.name, images)
    result["seconds"] = round(time.perf_counter() - start, 2)
    (out / "restore.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def main(argv: list[str]) -> int:
    """``python -m edgerestore.runtime.demo_restore JOB.json``: exit 0, or 2 with a message.

    A user-fixable error (bad ``--images`` folder, unreadable photo) is also written to
    ``restore.json`` as ``{"error": ...}`` so the parent can put it in the report.
    """
    job = Job.from_json(Path(argv[0]).read_text())
    setup_logging(quiet=job.quiet)
    try:
        run_job(job)
    except EdgeRestoreError as exc:
        (Path(job.out) / "restore.json").write_text(json.dumps({"error": str(exc)}) + "\n")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
