"""``edgerestore bench``: latency of exported models on this device, torch-free.

Times each exported ``.onnx`` / ``.tflite`` file at each input size and thread count
with the runtime only, so the same command runs on a server, an ARM board or in
Termux on a phone and prints the same table. Every variant gets its own worker
process (its peak RSS is then its own) and the variants are run round-robin so load
from other processes hits them alike. Inputs larger than a file's tile are run the
way ``edgerestore denoise`` runs a photo: tiled, with the tile overlap paid for.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from edgerestore import argtypes
from edgerestore.console import log


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="latency of exported models on this device (no torch)",
                       description=__doc__)
    p.add_argument("models", type=Path, nargs="+", metavar="MODEL",
                   help="exported .onnx / .tflite files (from `edgerestore export`)")
    p.add_argument("--size", nargs="+", default=None, metavar="WxH",
                   help="input sizes, e.g. 256 512 1920x1080 (default: the file's fixed "
                        "tile, else 256)")
    p.add_argument("--threads", type=argtypes.threads, nargs="+", default=[1], metavar="N",
                   help="thread counts to time (default 1)")
    p.add_argument("--runs", type=argtypes.int_range(1, 100000), default=10,
                   help="timed runs per variant (default 10)")
    p.add_argument("--warmup", type=argtypes.int_range(0, 100000), default=2,
                   help="untimed runs after the first run (default 2)")
    p.add_argument("--max-tile", type=argtypes.int_range(64, 8192), default=512,
                   help="largest tile side for dynamic-shape files (as in `denoise`)")
    p.add_argument("--macs-per-pixel", type=argtypes.float_range(0.0, 1e12, low_open=True),
                   help="model MACs per pixel, for GMAC/s (default: from the file's card, "
                        "if it records them)")
    p.add_argument("--json", type=Path, help="write the results here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgerestore.runtime.atomic import atomic_write
    from edgerestore.runtime.atomic import check_output as check_writable
    from edgerestore.runtime.bench import (
        file_variant,
        format_table,
        machine_info,
        measure,
        parse_size,
    )
    from edgerestore.runtime.model_metadata import read_metadata

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        check_writable(args.json, reads=args.models)
    variants = []
    for path in args.models:
        card = read_metadata(path)  # missing / non-model files fail here, before any worker
        if args.size:
            sizes = [parse_size(s) for s in args.size]
        else:
            sizes = [tuple(card["tile"]) if card.get("tile") else (256, 256)]
        for height, width in sizes:
            for threads in args.threads:
                variants.append(file_variant(path, threads, height, width,
                                             max_tile=args.max_tile,
                                             macs_per_pixel=args.macs_per_pixel))
    log.info("timing %d variant(s): 1 first run, %d warm-up, %d timed runs each, round-robin",
             len(variants), args.warmup, args.runs)
    rows = measure(variants, args.runs, args.warmup, on_round=log.debug)
    print(format_table(rows))
    if args.json:
        report = {"command": "edgerestore bench", "machine": machine_info(),
                  "settings": {"runs": args.runs, "warmup": args.warmup,
                               "threads": args.threads, "max_tile": args.max_tile},
                  "results": rows}
        atomic_write(args.json, (json.dumps(report, indent=2) + "\n").encode())
        log.info("wrote %s", args.json)
    return 0
