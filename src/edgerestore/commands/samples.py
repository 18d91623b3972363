"""``edgerestore samples``: write the bundled public-domain sample images to a folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from edgerestore.console import log, progress
from edgerestore.errors import OutputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("samples", help="write scikit-image's bundled sample images as PNG",
                       description=__doc__)
    p.add_argument("-o", "--out", type=Path, required=True, help="output folder (created)")
    p.add_argument("--names", nargs="+", help="which samples (default: all)")
    p.add_argument("--gray", action="store_true", help="only the grey samples")
    p.add_argument("--color", action="store_true", help="only the colour samples")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgerestore.runtime.atomic import check_output as check_writable
    from edgerestore.runtime.image_io import write_image
    from edgerestore.runtime.samples import COLOR_SAMPLES, GRAY_SAMPLES, load_sample, sample_names

    names = args.names or (GRAY_SAMPLES if args.gray else COLOR_SAMPLES if args.color
                           else sample_names())
    if args.out.exists() and not args.out.is_dir():
        raise OutputError(f"{args.out}: exists and is not a folder; -o names a folder")
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{args.out}: cannot create the folder ({exc.strerror})") from exc
    check_writable(args.out / f"{names[0]}.png")
    for name in progress(names, desc="samples", unit="img"):
        write_image(args.out / f"{name}.png", load_sample(name))
    log.info("wrote %d images to %s", len(names), args.out)
    return 0
