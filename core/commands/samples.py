"""``edgerestore samples``: write the bundled public-domain sample images to a folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from edgerestore.console import log, progress


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("samples", help="write scikit-image's bundled sample images as PNG",
                       description=__doc__)
    p.add_argument("-o", "--out", type=Path, required=True, help="output folder (created)")
    p.add_argument("--names", nargs="+", help="which samples (default: all)")
    p.add_argument("--gray", action="store_true", help="only the grey samples")
    p.add_argument("--color", action="store_true", help="only the colour samples")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgerestore.runtime.image_io import write_image
    from edgerestore.runtime.samples import COLOR_SAMPLES, GRAY_SAMPLES, load_sample, sample_names

    names = args.names or (GRAY_SAMPLES if args.gray else COLOR_SAMPLES if args.color
                           else sample_names())
    args.out.mkdir(parents=True, exist_ok=True)
    for name in progress(names, desc="samples", unit="img"):
        write_image(args.out / f"{name}.png", load_sample(name))
    log.info("wrote %d images to %s", len(names), args.out)
    return 0
