"""``edgerestore denoise``: the on-device denoiser, torch-free.

Runs an exported ``.onnx`` / ``.tflite`` file (see ``edgerestore export``) with the
runtime only, so it works on a phone, a board or a server without torch. The file's
own metadata says how to feed it; any image size is tiled. The output is written
atomically and only after the whole image is done.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from edgerestore import argtypes
from edgerestore.batch import is_batch
from edgerestore.commands.model_args import add_batch_args, add_model_args, model_path, run_many
from edgerestore.commands.paths import read_input
from edgerestore.console import log, progress
from edgerestore.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "denoise", help="denoise an image with an exported model (runtime only, no torch)",
        description="Denoise IN with a packaged model (default: the one for the image's "
                    "channels) or an exported .onnx / .tflite file and write OUT; several "
                    "inputs are restored into the OUT folder.")
    p.add_argument("input", type=Path, nargs="+",
                   help="noisy image, or several: files, folders, glob patterns")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="output image (a folder for several inputs)")
    add_model_args(p, "--model", dest="model", what="blind-spot denoiser")
    add_batch_args(p)
    p.add_argument("--sigma", type=argtypes.positive_sigma_255,
                   help="Gaussian noise std, 0-255 (default: estimated from the image)")
    p.add_argument("--threads", type=argtypes.threads,
                   help="inference threads (default: all cores)")
    p.add_argument("--max-tile", type=argtypes.int_range(64, 8192), default=512,
                   help="largest tile side for dynamic-shape models (bounds memory)")
    p.add_argument("--bit-depth", type=int, choices=(8, 16),
                   help="output bit depth (default: 16 for a 16-bit input written as .png)")
    p.add_argument("--in-place", action="store_true", help="allow overwriting the input")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgerestore.runtime.backends import SessionOptions
    from edgerestore.runtime.exported_denoiser import NOISE_FREE_SIGMA, ExportedDenoiser
    from edgerestore.runtime.image_io import write_image
    from edgerestore.runtime.model_metadata import sidecar_path

    if is_batch(args.input, args.output):
        return run_many(args, "denoise")
    args.input = args.input[0]
    model = model_path(args, "denoise")
    image, info = read_input(args, reads=[model, sidecar_path(model)] if model else [])
    model = model or model_path(args, "denoise", image)
    denoiser = ExportedDenoiser(model, SessionOptions(threads=args.threads),
                                max_tile=args.max_tile)
    if image.shape[2] != denoiser.channels:
        raise InputError(f"{model.name} takes {denoiser.channels}-channel images; "
                         f"{args.input} has {image.shape[2]} channel(s)")
    sigma = None if args.sigma is None else denoiser.resolve_sigma(image, args.sigma)
    if sigma is None and denoiser.task.startswith("denoise_"):
        sigma = denoiser.resolve_sigma(image, None)
        if sigma <= NOISE_FREE_SIGMA:
            log.info("the image looks noise-free (estimated sigma below %.3g/255); denoising "
                     "at that floor; pass --sigma to set it", sigma)
        else:
            log.info("estimated noise sigma %.2f/255 (MAD); pass --sigma to set it", sigma)
    start = time.perf_counter()
    total = denoiser.tile_count(*image.shape[:2])
    ticks = progress(range(total), desc="denoise", unit="tile", total=total)
    try:
        out = denoiser.denoise(image, sigma, on_tile=lambda: next(ticks, None))
    finally:
        ticks.close()
    png = args.output.suffix.lower() == ".png"
    bit_depth = args.bit_depth or (16 if info.bit_depth == 16 and png else 8)
    write_image(args.output, out, bit_depth=bit_depth)
    log.info("wrote %s (%s, %s backend, %.2f s)", args.output, model.name,
             denoiser.session.backend, time.perf_counter() - start)
    return 0
