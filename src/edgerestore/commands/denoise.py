"""``edgerestore denoise``: the on-device denoiser, torch-free.

Runs an exported ``.onnx`` / ``.tflite`` file (see ``edgerestore export``) with the
runtime only, so it works on a phone, a board or a server without torch. The file's
own metadata says how to feed it; any image size is tiled. Every file, alone or in a
folder, goes through :func:`edgerestore.api.restore_file`: written atomically and only
after the whole image is done, with the input's EXIF and ICC profile.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from edgerestore import argtypes
from edgerestore.batch import is_batch
from edgerestore.commands.model_args import add_batch_args, add_model_args, run_many, run_one
from edgerestore.runtime.packaged import NOISE_KINDS
from edgerestore.runtime.tiling import DEFAULT_MAX_TILE


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
    p.add_argument("--noise", choices=NOISE_KINDS,
                   help="picks the default model: auto (the default without --sigma: "
                        "measured on the image), real (a camera's photo: the real-noise "
                        "model) or gaussian (white noise; what --sigma implies)")
    p.add_argument("--threads", type=argtypes.threads,
                   help="inference threads (default: all cores)")
    p.add_argument("--max-tile", type=argtypes.int_range(64, 8192), default=DEFAULT_MAX_TILE,
                   help="largest tile side for dynamic-shape models (bounds memory)")
    p.add_argument("--bit-depth", type=int, choices=(8, 16),
                   help="output bit depth (default: 16 for a 16-bit input written as .png)")
    p.add_argument("--in-place", action="store_true", help="allow overwriting the input")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if is_batch(args.input, args.output):
        return run_many(args, "denoise", noise=args.noise)
    return run_one(args, "denoise", noise=args.noise)
