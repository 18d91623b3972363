"""``edgerestore add-noise``: make noisy test inputs with a seeded noise model.

One image: ``add-noise IMAGE -o OUT --seed S`` uses ``default_rng(S)``. A folder:
``add-noise IN_DIR -o OUT_DIR --seed S`` writes ``OUT_DIR/<stem>.png`` for every image,
image ``i`` (sorted order) noised with ``default_rng([S, i])`` so that a training set can
be regenerated exactly (see :mod:`edgerestore.runtime.noise_files`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edgerestore import argtypes
from edgerestore.console import log
from edgerestore.errors import InputError

if TYPE_CHECKING:
    from edgerestore.runtime.noise import NoiseSpec


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("add-noise", help="add synthetic noise to an image or a folder of images",
                       description=__doc__)
    p.add_argument("image", type=Path, help="input image, or a folder of images")
    p.add_argument("-o", "--out", type=Path, required=True,
                   help="output image (a folder when the input is a folder)")
    p.add_argument("--noise", default="gauss:25",
                   help="gauss:SIGMA, gauss:LO-HI, poisson:LAMBDA, pg:LAMBDA,SIGMA, "
                        "impulse:ALPHA, camera:iso=ISO|LO-HI[,jpeg=Q] (default gauss:25)")
    p.add_argument("--seed", type=argtypes.seed, default=0)
    p.add_argument("--bit-depth", type=int, choices=(8, 16), default=8,
                   help="output bit depth (noise is clipped only when saving)")
    p.add_argument("--in-place", action="store_true", help="allow overwriting the input")
    p.add_argument("--overwrite", action="store_true",
                   help="with a folder: replace outputs that exist (default: refuse)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgerestore.runtime.noise import NoiseSpec

    spec = NoiseSpec.parse(args.noise)
    if args.image.is_dir():
        return _run_folder(args, spec)
    if args.overwrite:
        raise InputError("--overwrite applies to a folder of inputs; one image uses --in-place")
    from edgerestore.runtime.image_io import check_image_output, read_image, write_image

    check_image_output(args.image, args.out, in_place=args.in_place, bit_depth=args.bit_depth)
    image, _info = read_image(args.image)
    noisy, level = spec.apply(image, np.random.default_rng(args.seed))
    write_image(args.out, noisy, bit_depth=args.bit_depth)
    log.info("%s: %s (level %.4g, seed %d) -> %s", args.image, spec.kind, level, args.seed,
             args.out)
    return 0


def _run_folder(args: argparse.Namespace, spec: NoiseSpec) -> int:
    from edgerestore.runtime.noise_files import noise_folder

    if args.in_place:
        raise InputError("--in-place applies to one image; a folder is written into -o")
    written = noise_folder(args.image, args.out, spec, args.seed, overwrite=args.overwrite,
                           bit_depth=args.bit_depth,
                           on_file=lambda src, dst, level: log.info(
                               "%s: level %.4g -> %s", src.name, level, dst))
    log.info("%d image(s) noised with %s (seed %d, image i uses default_rng([%d, i])) -> %s",
             len(written), spec, args.seed, args.seed, args.out)
    return 0
