"""``edgerestore add-noise``: make a noisy test input with a seeded, unclipped noise model."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from edgerestore import argtypes
from edgerestore.commands.paths import check_output
from edgerestore.console import log


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("add-noise", help="add synthetic noise to an image",
                       description=__doc__)
    p.add_argument("image", type=Path, help="input image")
    p.add_argument("-o", "--out", type=Path, required=True, help="output image")
    p.add_argument("--noise", default="gauss:25",
                   help="gauss:SIGMA, gauss:LO-HI, poisson:LAMBDA, pg:LAMBDA,SIGMA, "
                        "impulse:ALPHA (default gauss:25)")
    p.add_argument("--seed", type=argtypes.seed, default=0)
    p.add_argument("--bit-depth", type=int, choices=(8, 16), default=8,
                   help="output bit depth (noise is clipped only when saving)")
    p.add_argument("--in-place", action="store_true", help="allow overwriting the input")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgerestore.runtime.image_io import read_image, write_image
    from edgerestore.runtime.noise import NoiseSpec

    spec = NoiseSpec.parse(args.noise)
    check_output(args.image, args.out, in_place=args.in_place)
    image, _info = read_image(args.image)
    noisy, level = spec.apply(image, np.random.default_rng(args.seed))
    write_image(args.out, noisy, bit_depth=args.bit_depth)
    log.info("%s: %s (level %.4g, seed %d) -> %s", args.image, spec.kind, level, args.seed,
             args.out)
    return 0
