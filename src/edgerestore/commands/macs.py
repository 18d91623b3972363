"""``edgerestore macs``: multiply-accumulates per pixel and parameters, side by side.

By default it compares the faithful dilated blind-spot net (paper defaults) with
Laine et al.'s four-rotation U-Net; ``--model`` adds trained weights files.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from edgerestore import argtypes
from edgerestore.errors import InputError, require


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("macs", help="MACs per pixel and parameters of models",
                       description=__doc__)
    p.add_argument("--model", type=Path, nargs="*", default=[], help="weights files to add")
    p.add_argument("--size", type=argtypes.int_range(1, 16384), nargs=2, default=(256, 256),
                   metavar=("H", "W"),
                   help="input size for the totals (default 256 256)")
    p.add_argument("--channels", type=int, choices=(1, 3), default=3,
                   help="image channels of the two reference networks (weights files say "
                        "their own)")
    p.add_argument("--no-reference", action="store_true",
                   help="only the given models, not the two reference networks")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    require("torch", package="torch", extra="train", purpose="counting MACs")
    from edgerestore.models import gaussian_head
    from edgerestore.models.blindspot import DilatedBlindSpotNet
    from edgerestore.models.image_network import ImageNetwork
    from edgerestore.models.laine_unet import LaineBlindSpotUNet
    from edgerestore.models.macs import count, format_table
    from edgerestore.models.weights_io import load_weights

    h, w = args.size
    outputs = gaussian_head.out_channels_for(args.channels)
    rows = []
    if not args.no_reference:
        rows.append(("dilated blind-spot (paper defaults)",
                     count(DilatedBlindSpotNet(args.channels, outputs), args.channels, h, w)))
        rows.append(("Laine U-Net (4 rotations)",
                     count(LaineBlindSpotUNet(args.channels, outputs), args.channels, h, w)))
    for path in args.model:
        model, config = load_weights(path)
        if not isinstance(model, ImageNetwork):
            raise InputError(f"{path}: a {config.get('arch')} network does not map images to "
                             "images; macs counts image networks")
        rows.append((path.stem, count(model, model.in_channels, h, w)))
    print(format_table(rows))
    return 0
