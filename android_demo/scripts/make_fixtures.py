"""Reference outputs of the Python side for the browser tests (build/fixtures/fixtures.json).

For the same inputs the web app gets, this runs the exported files with the Python
runtime: every denoiser file of the manifest (ONNX fp32/int8 on onnxruntime, TFLite
fp32/int8 on ai-edge-litert) through ``ExportedDenoiser``, which tiles as the page
does, and the project's own plug-and-play solver (``edgerestore.runtime.pnp.admm``
with a ``CircularBlur`` problem), so the tests can require the browser's results to
match the Python runtime's. Images come from scikit-image's bundled samples; arrays
are stored as base64 float32, planar CHW. It also writes a 12-megapixel JPEG whose
EXIF orientation (6: rotate 90 degrees clockwise) the page must apply.

The real-noise models (``denoise_direct`` with the real noise kind) get a camera-noise
photo instead (a scikit-image sample through the project's simulated camera pipeline,
``edgerestore.runtime.camera_noise``): every file of theirs restored with the one-call
API (``edgerestore.load_model`` + ``edgerestore.denoise``: tiling aligned to the
card's ``tile_align``, the ``input_blend`` weight applied on the whole image), the noise
level and weight the runtime measures, and an ONNX run in small tiles
(``ExportedDenoiser(max_tile=REAL_TILE)``) whose aligned, longer last tile the page
must reproduce.
"""

from __future__ import annotations

import argparse
import base64
import json
from pathlib import Path

import numpy as np
import onnxruntime as rt

import edgerestore
from PIL import Image
from skimage import data

from edgerestore.runtime.backends import SessionOptions
from edgerestore.runtime.blur import blur_circular
from edgerestore.runtime.camera_noise import CameraSpec
from edgerestore.runtime.input_blend import blend_weight
from edgerestore.runtime.sigma_estimate import CORRELATED_NOISE_STRIDE, estimate_sigma
from edgerestore.runtime.exported_denoiser import NOISE_FREE_SIGMA, ExportedDenoiser
from edgerestore.runtime.kernels import gaussian_kernel
from edgerestore.runtime.metrics import psnr
from edgerestore.runtime.pnp import CircularBlur, admm

DENOISE_SIGMA = 25.0 / 255.0
DEBLUR_STD = 1.6
DEBLUR_NOISE = 0.01
DEBLUR_ITERS = 20
#: The full-resolution photo: 4000x3000 stored, shown 3000x4000 (EXIF orientation 6).
PHOTO_SIZE = (4000, 3000)
EXIF_ORIENTATION = 0x0112
#: ExportedDenoiser.denoise's sigma unit, 0-255 or [0, 1] (the runtime is moving to
#: [0, 1] units): its noise-free floor (0.255/255) tells which.
SIGMA_SCALE = 255.0 if NOISE_FREE_SIGMA > 0.1 else 1.0
#: The camera-noise photo: a crop of that size (H, W: odd width, so the fixed-tile last
#: tile is unaligned and the dynamic one a pixel longer), ISO and JPEG quality.
REAL_SIZE = (190, 301)
REAL_NOISE = "iso=3200"
#: Tile side of the small-tile ONNX reference (several aligned tiles on REAL_SIZE).
REAL_TILE = 160


def b64(chw: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(chw, dtype="<f4").tobytes()).decode()


def chw(hwc: np.ndarray) -> np.ndarray:
    return np.transpose(hwc, (2, 0, 1))


def image_entry(hwc: np.ndarray) -> dict:
    h, w, c = hwc.shape
    return {"c": c, "h": h, "w": w, "data": b64(chw(hwc))}


def decode_chw(entry: dict) -> np.ndarray:
    arr = np.frombuffer(base64.b64decode(entry["data"]), "<f4").reshape(entry["c"], entry["h"], entry["w"])
    return np.transpose(arr, (1, 2, 0))


def resized(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(Image.fromarray(img).resize(size, Image.LANCZOS), dtype=np.float32) / 255.0


def session(path: Path) -> rt.InferenceSession:
    opts = rt.SessionOptions()
    opts.intra_op_num_threads = 1
    return rt.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models", type=Path, required=True, help="web/models folder")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    listed = json.loads((args.models / "models.json").read_text())["models"]
    onnx32 = [m for m in listed if m["format"] == "onnx" and m["precision"] == "fp32"]
    manifest = {m["role"]: m for m in reversed(onnx32)}  # the first of each role
    # The Gaussian-noise fixture runs the first denoiser with a noise-level input.
    manifest["denoise"] = next(m for m in onnx32 if m["role"] == "denoise" and len(m["inputs"]) > 1)

    # Denoising: a 128x128 crop of the astronaut at half size, Gaussian noise sigma 25.
    clean = resized(data.astronaut(), (256, 256))[16:144, 64:192]
    rng = np.random.default_rng(0)
    noisy = (clean + DENOISE_SIGMA * rng.standard_normal(clean.shape)).astype(np.float32)
    bs = manifest["denoise"]
    sess = session(args.models / bs["file"])
    feeds = {bs["inputs"][0]: chw(noisy)[None],
             bs["inputs"][1]: np.array([DENOISE_SIGMA], np.float32)}
    denoised = np.transpose(sess.run([bs["output"]], feeds)[0][0], (1, 2, 0))
    # Every denoiser file through the Python runtime, tiled as the page tiles it.
    per_file = {}
    for m in listed:
        if m["id"] != bs["id"]:
            continue
        runtime = ExportedDenoiser(args.models / m["file"], SessionOptions(threads=1))
        out = runtime.denoise(noisy, sigma=DENOISE_SIGMA * SIGMA_SCALE)
        per_file[m["file"]] = {"reference": image_entry(out),
                               "psnr_reference": psnr(clean, out, quantize=False)}

    # Deblurring: 64x64 of the cat, circular Gaussian blur std 1.6, noise 0.01, ADMM-MAP.
    sharp = resized(data.chelsea(), (150, 113))[24:88, 40:104]
    kernel = gaussian_kernel(DEBLUR_STD)
    rng = np.random.default_rng(1)
    blurred = (blur_circular(sharp, kernel) + DEBLUR_NOISE * rng.standard_normal(sharp.shape))
    blurred = blurred.astype(np.float32)
    mp = manifest["map_denoiser"]
    dsess = session(args.models / mp["file"])

    def denoiser(img: np.ndarray, sigma: float | None) -> np.ndarray:
        out = dsess.run([mp["output"]], {mp["inputs"][0]: chw(img)[None].astype(np.float32)})[0]
        return np.transpose(out[0], (1, 2, 0))

    result = admm(blurred, CircularBlur(kernel, DEBLUR_NOISE), denoiser, iters=DEBLUR_ITERS, tol=0)

    real = real_fixture(args.models, listed)

    fixtures = {
        "real": real,
        "denoise": {
            "model": bs["file"], "sigma": DENOISE_SIGMA,
            "clean": image_entry(clean), "noisy": image_entry(noisy),
            "reference": image_entry(denoised),
            "psnr_noisy": psnr(clean, noisy, quantize=False),
            "psnr_reference": psnr(clean, denoised, quantize=False),
            "files": per_file,
        },
        "deblur": {
            "model": mp["file"], "kernel_std": DEBLUR_STD, "sigma_n": DEBLUR_NOISE,
            "iters": DEBLUR_ITERS,
            "kernel": {"kh": kernel.shape[0], "kw": kernel.shape[1],
                       "data": base64.b64encode(kernel.astype("<f8").tobytes()).decode()},
            "sharp": image_entry(sharp), "blurred": image_entry(blurred),
            "blurred_clean": image_entry(blur_circular(sharp, kernel).astype(np.float32)),
            "reference": image_entry(result.x),
            "psnr_blurred": psnr(sharp, blurred, quantize=False),
            "psnr_reference": psnr(sharp, result.x, quantize=False),
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "fixtures.json").write_text(json.dumps(fixtures))
    # The camera-noise photo as a file the page picks (8-bit PNG, what a phone saves).
    Image.fromarray(np.round(np.clip(decode_chw(real["noisy"]), 0, 1) * 255).astype(np.uint8)).save(
        args.out / "camera_photo.png")
    photo = Image.fromarray(data.astronaut()).resize(PHOTO_SIZE, Image.LANCZOS)
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    photo.save(args.out / "photo_12mp_exif6.jpg", quality=90, exif=exif)
    den, deb = fixtures["denoise"], fixtures["deblur"]
    print(f"make_fixtures: denoise {den['psnr_noisy']:.2f} -> {den['psnr_reference']:.2f} dB, "
          f"deblur {deb['psnr_blurred']:.2f} -> {deb['psnr_reference']:.2f} dB; "
          + ", ".join(f"{k}: {v['psnr_reference']:.2f} dB" for k, v in per_file.items()))
    print(f"make_fixtures: camera-noise photo {real['psnr_noisy']:.2f} dB, level "
          f"{real['level']:.3f}/255, weight {real['weight']:.3f} (clean crop: {real['low']['level']:.3f}/255, "
          f"weight {real['low']['weight']:.3f}); "
          + ", ".join(f"{k}: {v['psnr_reference']:.2f} dB" for k, v in real["files"].items()))


def real_fixture(models: Path, listed: list[dict]) -> dict:
    """The camera-noise photo and the Python runtime's output of every real-noise file."""
    h, w = REAL_SIZE
    clean = data.chelsea()[60:60 + h, 100:100 + w].astype(np.float32) / 255.0
    noisy = CameraSpec.parse(f"camera:{REAL_NOISE}", REAL_NOISE).apply(
        clean, np.random.default_rng(3)).astype(np.float32)
    level = estimate_sigma(noisy, CORRELATED_NOISE_STRIDE) * 255.0
    files = {}
    tiled = {}
    for m in listed:
        if m["role"] != "denoise" or len(m["inputs"]) != 1:
            continue
        path = models / m["file"]
        model = edgerestore.load_model(path, threads=1)
        out = edgerestore.denoise(noisy, model=model)
        table = m.get("input_blend")
        files[m["file"]] = {"id": m["id"], "reference": image_entry(out),
                            "psnr_reference": psnr(clean, out, quantize=False),
                            "weight": blend_weight(level, tuple(map(tuple, table))) if table else None}
        if m["format"] == "onnx" and m["precision"] == "fp32":
            runner = ExportedDenoiser(path, SessionOptions(threads=1), max_tile=REAL_TILE)
            small = np.clip(runner.denoise(noisy), 0.0, 1.0)
            tiled[m["file"]] = {"tile": REAL_TILE, "tiles": runner.tile_count(h, w),
                                "reference": image_entry(small)}
    table = next((m["input_blend"] for m in listed if m.get("input_blend")), None)
    # The clean crop as a photo with little noise (its texture reads ~5/255): the input
    # blend keeps part of the input there, which the page must reproduce.
    low = {"noisy": image_entry(clean), "level": estimate_sigma(clean, CORRELATED_NOISE_STRIDE) * 255.0}
    low["weight"] = blend_weight(low["level"], tuple(map(tuple, table))) if table else None
    low["files"] = {}
    for m in listed:
        if m["role"] == "denoise" and m.get("input_blend") and m["format"] == "onnx" and m["precision"] == "fp32":
            out = edgerestore.denoise(clean, model=edgerestore.load_model(models / m["file"], threads=1))
            low["files"][m["file"]] = {"reference": image_entry(out)}
    return {"low": low,"noise": f"camera:{REAL_NOISE}", "clean": image_entry(clean), "noisy": image_entry(noisy),
            "psnr_noisy": psnr(clean, noisy, quantize=False), "level": level,
            "weight": blend_weight(level, tuple(map(tuple, table))) if table else None,
            "levels_plain": estimate_sigma(noisy, 1) * 255.0,
            "files": files, "tiled": tiled}


if __name__ == "__main__":
    main()
