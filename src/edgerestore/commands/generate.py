"""``edgerestore generate``: sample an exported generator into an image grid (no torch)."""

from __future__ import annotations

import argparse
from pathlib import Path

from edgerestore import argtypes
from edgerestore.console import log


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="sample an exported generator (.onnx/.tflite) to a grid",
                       description=__doc__)
    p.add_argument("--model", type=Path, required=True,
                   help="exported generator (.onnx or .tflite, from edgerestore export)")
    p.add_argument("-n", type=argtypes.int_range(1), default=16,
                   help="number of samples (default 16)")
    p.add_argument("-o", "--out", type=Path, required=True, help="output grid image (.png)")
    p.add_argument("--seed", type=argtypes.seed, default=0,
                   help="latent seed (same seed, same grid)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgerestore.runtime.generate import generate_grid

    generate_grid(args.model, args.n, args.out, args.seed)
    log.info("wrote %d samples of %s to %s", args.n, args.model.name, args.out)
    return 0
