"""Reference outputs of the Python side for the browser tests (build/fixtures/fixtures.json).

For the same inputs the web app gets, this runs the exported files with the Python
runtime: every denoiser file of the manifest (ONNX fp32/int8 on onnxruntime, TFLite
fp32/int8 on ai-edge-litert) through ``ExportedDenoiser``, which tiles as the page
does, and the project's own plug-and-play solver (``edgerestore.runtime.pnp.admm``
with a ``CircularBlur`` problem), so the tests can require the browser's results to
match the Python runtime's. Images come from scikit-image's bundled samples; arrays
are stored as base64 float32, planar CHW. It also writes a 12-megapixel JPEG whose
EXIF orientation (6: rotate 90 degrees clockwise) the page must apply.
"""

from __future__ import annotations

import argparse
import base64
import json
from pathlib import Path

import numpy as np
import onnxruntime as rt
from PIL import Image
from skimage import data

from edgerestore.runtime.backends import SessionOptions
from edgerestore.runtime.blur import blur_circular
from edgerestore.runtime.exported_denoiser import ExportedDenoiser
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


def b64(chw: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(chw, dtype="<f4").tobytes()).decode()


def chw(hwc: np.ndarray) -> np.ndarray:
    return np.transpose(hwc, (2, 0, 1))


def image_entry(hwc: np.ndarray) -> dict:
    h, w, c = hwc.shape
    return {"c": c, "h": h, "w": w, "data": b64(chw(hwc))}


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
    manifest = {m["role"]: m for m in listed if m["format"] == "onnx" and m["precision"] == "fp32"}

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
        if m["role"] != "denoise":
            continue
        runtime = ExportedDenoiser(args.models / m["file"], SessionOptions(threads=1))
        out = runtime.denoise(noisy, sigma=DENOISE_SIGMA * 255.0)
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

    fixtures = {
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
    photo = Image.fromarray(data.astronaut()).resize(PHOTO_SIZE, Image.LANCZOS)
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    photo.save(args.out / "photo_12mp_exif6.jpg", quality=90, exif=exif)
    den, deb = fixtures["denoise"], fixtures["deblur"]
    print(f"make_fixtures: denoise {den['psnr_noisy']:.2f} -> {den['psnr_reference']:.2f} dB, "
          f"deblur {deb['psnr_blurred']:.2f} -> {deb['psnr_reference']:.2f} dB; "
          + ", ".join(f"{k}: {v['psnr_reference']:.2f} dB" for k, v in per_file.items()))


if __name__ == "__main__":
    main()
