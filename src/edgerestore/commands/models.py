"""``edgerestore models``: the models that ship inside the package, one row per file.

What a user needs to pick a model without reading the training section: the task,
channels, precision and backend of each file, its size, the network's MACs per
pixel, the PSNR its cards record, the 256x256 latency measured when it was exported,
and which file runs by default (the fastest among the installed backends).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edgerestore.runtime.packaged import PackagedFile, PackagedModel


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the models packaged with edgerestore",
                       description=__doc__)
    p.add_argument("--json", action="store_true", help="print the index as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgerestore.runtime.packaged import (
        choose_file,
        installed_backends,
        packaged_models,
        read_manifest,
    )

    if args.json:
        print(json.dumps(read_manifest(), indent=2))
        return 0
    backends = installed_backends()
    print(format_table(packaged_models(), choose_file, backends))
    print(f"installed backends: {', '.join(backends) or 'none'}; '*' marks the file each "
          "name runs by default (--backend / --precision choose another)")
    return 0


def format_table(models: dict[str, PackagedModel], choose_file: Callable[[str], PackagedFile],
                 backends: tuple[str, ...]) -> str:
    """One row per packaged file; PSNR: the training card's test set, then the file's
    own on the bundled samples (parity run at export)."""
    header = (f"{'name':<26} {'task':<8} {'ch':>2} {'prec':<5} {'backend':<11} {'KiB':>7} "
              f"{'MACs/px':>8} {'PSNR card':>16} {'PSNR file':>9} {'ms/256²':>8}  default")
    rows = [header, "-" * len(header)]
    for model in models.values():
        card = model.entry.get("card_psnr")
        card_text = f"{card['psnr']:.2f} {card['set']}" if card else "-"
        chosen = choose_file(model.name) if backends else None
        for f in model.files:
            own = (f.parity or {}).get("denoise_psnr")
            role = "" if chosen != f else (
                f"* ({model.default_for} {model.task} default)" if model.default_for else "*")
            rows.append(
                f"{model.name:<26} {model.task:<8} {model.channels:>2} {f.precision:<5} "
                f"{f.backend:<11} {f.size_bytes / 1024:>7.0f} "
                f"{model.entry.get('macs_per_pixel', 0):>8,} {card_text:>16} "
                f"{'-' if own is None else f'{own:.2f}':>9} "
                f"{'-' if f.ms_256 is None else f'{f.ms_256:.0f}':>8}  {role}")
    return "\n".join(rows)
