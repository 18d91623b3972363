"""``edgerestore train distill``: a small plain CNN learns a blind-spot teacher's output."""

from __future__ import annotations

import argparse
from pathlib import Path

from edgerestore.argtypes import float_range, int_range
from edgerestore.commands.run_options import add_run_options, run_options, shape_flags
from edgerestore.errors import InputError, require

#: Student shape flag -> (config key, default without --init-from): about 54,000 MACs/px.
STUDENT_SHAPE = {"width": ("width", 48), "depth": ("depth", 12), "scale": ("scale", 2)}


def register_distill(kinds: argparse._SubParsersAction) -> None:
    """Add the ``distill`` kind to ``edgerestore train`` (with every trainer's run options)."""
    d = kinds.add_parser(
        "distill", help="distil a blind-spot teacher into a small plain CNN (noisy data only)",
        description="Train a small plain CNN (pixel-unshuffle, 3x3 convs, shuffle back) to "
                    "give a self-supervised teacher's output on noisy images: no clean image "
                    "is used anywhere.")
    d.add_argument("--teacher", type=Path, required=True, help="teacher .safetensors")
    d.add_argument("--data", type=Path, nargs="+", required=True,
                   help="folder(s) of clean images (noise added as the teacher's was) or, "
                        "with --already-noisy, of real noisy photos")
    d.add_argument("--out", type=Path, required=True, help="student .safetensors (card beside)")
    d.add_argument("--run-dir", type=Path,
                   help="checkpoints and the teacher's cached outputs (default: runs/<name>)")
    d.add_argument("--channels", type=int, choices=(1, 3), default=3)
    d.add_argument("--student", choices=("plain",), default="plain",
                   help="student architecture: plain = FFDNet-shaped plain conv stack")
    d.add_argument("--width", type=int_range(1, 512), help="student width (default 48)")
    d.add_argument("--depth", type=int_range(2, 64), help="student conv layers (default 12)")
    d.add_argument("--scale", type=int_range(1, 8),
                   help="pixel-unshuffle factor (default 2; 1 = a DnCNN-like stack)")
    d.add_argument("--noise", help="synthetic noise for the inputs (default: the teacher "
                                   "card's training noise)")
    d.add_argument("--already-noisy", action="store_true",
                   help="the images are real noisy photos: add no noise")
    d.add_argument("--clipped-fraction", type=float_range(0, 1), default=0.25,
                   help="share of synthetic-noise inputs clipped and rounded to 8 bits")
    d.add_argument("--teacher-r3", type=int_range(0, 64),
                   help="R3 passes of an AP-BSN teacher (default: its file's)")
    d.add_argument("--teacher-ensemble", type=int, choices=(1, 2, 4, 8), default=1,
                   help="average the teacher over this many flips/rotations")
    d.add_argument("--teacher-precision", choices=("fp32", "bf16"), default="fp32",
                   help="the teacher's arithmetic when computing targets")
    add_run_options(d, steps=20000, batch=16, patch=96, lr=1e-3)
    d.set_defaults(func=run_distill)


def run_distill(args: argparse.Namespace) -> int:
    require("torch", package="torch", extra="train", purpose="training")
    from edgerestore.models.train_distill import DistillTraining, train_distill

    if args.already_noisy and args.noise:
        raise InputError("--noise adds synthetic noise; --already-noisy photos get none")
    folders = [str(d) for d in args.data]
    cfg = DistillTraining(
        data=folders[0] if len(folders) == 1 else folders, out=str(args.out),
        run_dir=str(args.run_dir or Path("runs") / args.out.stem), channels=args.channels,
        teacher=str(args.teacher), student=shape_flags(args, STUDENT_SHAPE), noise=args.noise,
        already_noisy=args.already_noisy, clipped_fraction=args.clipped_fraction,
        teacher_r3=args.teacher_r3, teacher_ensemble=args.teacher_ensemble,
        teacher_precision=args.teacher_precision, **run_options(args))
    train_distill(cfg, resume=args.resume)
    return 0
