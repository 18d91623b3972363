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

from edgerestore.commands.paths import read_input
from edgerestore.console import log, progress
from edgerestore.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "denoise", help="denoise an image with an exported model (runtime only, no torch)",
        description="Denoise IN with an exported .onnx or .tflite model and write OUT.")
    p.add_argument("input", type=Path, help="noisy image")
    p.add_argument("-o", "--output", type=Path, required=True, help="output image")
    p.add_argument("--model", type=Path, required=True,
                   help="exported model (.onnx or .tflite from `edgerestore export`)")
    p.add_argument("--sigma", type=float,
                   help="Gaussian noise std, 0-255 (default: estimated from the image)")
    p.add_argument("--threads", type=int, help="inference threads (default: all cores)")
    p.add_argument("--max-tile", type=int, default=512,
                   help="largest tile side for dynamic-shape models (bounds memory)")
    p.add_argument("--bit-depth", type=int, choices=(8, 16),
                   help="output bit depth (default: 16 for a 16-bit input written as .png)")
    p.add_argument("--in-place", action="store_true", help="allow overwriting the input")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgerestore.runtime.backends import SessionOptions
    from edgerestore.runtime.exported_denoiser import ExportedDenoiser
    from edgerestore.runtime.image_io import write_image

    if args.max_tile < 64:
        raise InputError(f"--max-tile must be at least 64, got {args.max_tile}")
    image, info = read_input(args)
    denoiser = ExportedDenoiser(args.model, SessionOptions(threads=args.threads),
                                max_tile=args.max_tile)
    if image.shape[2] != denoiser.channels:
        kind = "grey" if denoiser.channels == 1 else "colour"
        raise InputError(f"{args.model.name} is a {kind} model; {args.input} has "
                         f"{image.shape[2]} channel(s)")
    sigma = None if args.sigma is None else denoiser.resolve_sigma(image, args.sigma)
    if sigma is None and denoiser.task.startswith("denoise_"):
        sigma = denoiser.resolve_sigma(image, None)
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
    log.info("wrote %s (%s, %s backend, %.2f s)", args.output, args.model.name,
             denoiser.session.backend, time.perf_counter() - start)
    return 0
