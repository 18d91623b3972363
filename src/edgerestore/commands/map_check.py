"""``edgerestore check-map``: measure the MAP guarantee of a trained (D, R) pair.

Reports, on clean images with seeded noise at D's training level, the MAP objective
and the R-estimated gradient at D(v), at v and at R(v) (see
:mod:`edgerestore.models.map_check`), and optionally records them in D's card.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from edgerestore import argtypes
from edgerestore.errors import InputError, require


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check-map", help="check that D(v) minimises the MAP objective",
                       description=__doc__)
    p.add_argument("--map", type=Path, required=True, help="MAP denoiser D (.safetensors)")
    p.add_argument("--dae", type=Path, required=True, help="its DAE prior R (.safetensors)")
    p.add_argument("--images", type=Path, required=True, help="folder of clean images")
    p.add_argument("--limit", type=argtypes.int_range(1), default=4)
    p.add_argument("--seed", type=argtypes.seed, default=0)
    p.add_argument("--card", action="store_true", help="record the result in D's card")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    require("torch", package="torch", extra="train", purpose="the MAP check")
    from edgerestore.models.map_check import check_map
    from edgerestore.models.patches import convert_channels, list_images
    from edgerestore.models.weights_io import card_path, load_card, load_weights
    from edgerestore.runtime.atomic import atomic_write
    from edgerestore.runtime.image_io import read_image

    den, dcfg = load_weights(args.map)
    dae, rcfg = load_weights(args.dae)
    if dcfg.get("role") != "map" or rcfg.get("role") != "dae":
        raise InputError("--map must be a MAP denoiser and --dae a DAE (see their cards)")
    card = load_card(args.map)
    training = card.get("training", {})
    if "sigma_r_unit" not in training:
        raise InputError(f"{args.map}: card lacks the training sigma_R/rho of the pair")
    clean = [convert_channels(read_image(p)[0], dcfg["channels"], str(p))
             for p in list_images(args.images)[:args.limit]]
    report = check_map(den, dae, clean, training["sigma_v_unit"], training["sigma_r_unit"],
                       training["rho"], seed=args.seed)
    report["images_folder"] = args.images.name
    if args.card:
        card["map_check"] = report
        atomic_write(card_path(args.map), (json.dumps(card, indent=2) + "\n").encode())
    print(json.dumps(report, indent=2))
    return 0
