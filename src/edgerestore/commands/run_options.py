"""The options every ``edgerestore train`` kind shares (run length, schedule, precision,
device, checkpoints, dev set, warm starts) and their translation into ``RunSettings``
fields. Their own module, so each trainer's command module imports them without an
import cycle through ``train``, which registers the kinds."""

from __future__ import annotations

import argparse
from pathlib import Path

from edgerestore.argtypes import float_range, int_range, seed, threads
from edgerestore.errors import InputError


def add_run_options(p: argparse.ArgumentParser, *, steps: int, batch: int, patch: int,
                    lr: float) -> None:
    """Options every trainer shares: length, schedule, precision, device, checkpoints, dev set."""
    p.add_argument("--steps", type=int_range(1),
                   help=f"optimiser steps (default {steps} unless --images/--budget-minutes)")
    p.add_argument("--images", type=int_range(1),
                   help="run length in training patches seen (sets --steps = IMAGES / batch)")
    p.add_argument("--budget-minutes", type=float_range(0, 1e9, low_open=True),
                   help="stop after this much wall time; the LR ramps are laid over it")
    p.add_argument("--batch", type=int_range(1, 4096), default=batch,
                   help="global batch (split over torchrun processes)")
    p.add_argument("--patch", type=int_range(8, 1024), default=patch)
    p.add_argument("--lr", type=float_range(0, 1, low_open=True), default=lr)
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                   help="bf16 autocast (auto: where the CPU/GPU computes bf16 natively)")
    p.add_argument("--no-amp", action="store_true", help="same as --precision fp32")
    p.add_argument("--no-channels-last", action="store_true",
                   help="keep NCHW tensors (NHWC is faster with oneDNN and cuDNN)")
    p.add_argument("--threads", type=threads,
                   help="torch CPU threads (default: all cores, shared between processes)")
    p.add_argument("--checkpoint-every", type=int_range(1), default=250)
    p.add_argument("--keep-snapshots", action="store_true",
                   help="also keep each checkpoint's weights in RUN_DIR/snapshots (a learning "
                        "curve on any test set afterwards)")
    p.add_argument("--dev-images", type=Path, help="folder for a dev-set PSNR at checkpoints")
    p.add_argument("--dev-count", type=int_range(1), default=8)
    p.add_argument("--limit-images", type=int_range(1), help="use only the first N training images")
    p.add_argument("--init-from", type=Path,
                   help="start from these weights (new optimiser; the card keeps the lineage)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.add_argument("--resume", action="store_true", help="continue from the run's checkpoint")
    p.set_defaults(default_steps=steps)


def run_length(args: argparse.Namespace) -> int | None:
    """Steps from --steps or --images; none (time only) when only a budget is given."""
    if args.steps is not None and args.images is not None:
        raise InputError("give --steps or --images, not both")
    if args.images is not None:
        return -(-args.images // args.batch)
    if args.steps is None and args.budget_minutes is not None:
        return None
    return args.steps if args.steps is not None else args.default_steps


def run_options(args: argparse.Namespace) -> dict:
    """The RunSettings fields every trainer takes from the shared options."""
    return dict(
        seed=args.seed, device=args.device, amp=not args.no_amp, precision=args.precision,
        channels_last=not args.no_channels_last, checkpoint_every=args.checkpoint_every,
        dev_images=str(args.dev_images) if args.dev_images else None,
        dev_count=args.dev_count, limit_images=args.limit_images, threads=args.threads,
        budget_minutes=args.budget_minutes,
        init_from=str(args.init_from) if args.init_from else None, overwrite=args.overwrite,
        keep_snapshots=args.keep_snapshots,
        steps=run_length(args), batch=args.batch, patch=args.patch, lr=args.lr)


def shape_flags(args: argparse.Namespace, flags: dict[str, tuple[str, object]]
                ) -> dict[str, object]:
    """A network's shape flags (flag -> (config key, default)): as given, else the
    ``--init-from`` file's config value, else the default; so a warm start keeps its
    shape unless a flag changes it."""
    saved: dict = {}
    if args.init_from is not None:
        from edgerestore.models.weights_io import read_config

        saved = read_config(args.init_from)
    return {flag: getattr(args, flag) if getattr(args, flag) is not None
            else saved.get(key, default) for flag, (key, default) in flags.items()}
