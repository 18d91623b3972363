"""``edgerestore adapt``: fine-tune the real-noise denoiser on your own noisy photos.

No clean image is used anywhere: the model keeps learning from the noisy photos
themselves (AP-BSN's self-supervised loss), then is exported as one runtime file
for ``edgerestore denoise --model`` and the phone demo. Needs the ``train`` and
``export`` extras (torch).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from edgerestore.argtypes import float_range, int_range, threads
from edgerestore.errors import require
from edgerestore.runtime.model_files import exported_format


def register(sub: argparse._SubParsersAction) -> None:
    from edgerestore.adaptation import DEFAULT_BASE, DEFAULT_BATCH, DEFAULT_LR, DEFAULT_PATCH

    p = sub.add_parser("adapt", help="fine-tune the real-noise model on your own noisy photos",
                       description=__doc__)
    p.add_argument("input", type=Path, nargs="+", metavar="NOISY",
                   help="noisy photos: files and/or folders (no clean images needed)")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="runtime model to write: MODEL.onnx or MODEL.tflite")
    p.add_argument("--from", dest="base", default=DEFAULT_BASE, metavar="NAME_OR_PATH",
                   help=f"model to start from: shipped name or .safetensors (default "
                        f"{DEFAULT_BASE})")
    p.add_argument("--budget-minutes", type=float_range(0, 1e6, low_open=True), default=5.0,
                   help="training wall time (default 5)")
    p.add_argument("--steps", type=int_range(1), help="stop after this many steps instead")
    p.add_argument("--precision", choices=("fp32", "int8"), default="fp32",
                   help="of the exported .onnx (a .tflite is int8)")
    p.add_argument("--weights-out", type=Path,
                   help="adapted .safetensors (default: beside OUTPUT); continue with --from")
    p.add_argument("--run-dir", type=Path, help="checkpoints (default: a temporary folder)")
    p.add_argument("--lr", type=float_range(0, 1, low_open=True), default=DEFAULT_LR)
    p.add_argument("--patch", type=int_range(16, 1024), default=DEFAULT_PATCH)
    p.add_argument("--batch", type=int_range(1, 4096), default=DEFAULT_BATCH)
    p.add_argument("--train-precision", choices=("auto", "fp32", "bf16"), default="auto",
                   help="training autocast (auto: bf16 where the CPU computes it natively)")
    p.add_argument("--threads", type=threads, help="torch CPU threads (default: all cores)")
    p.add_argument("--seed", type=int_range(0), default=0)
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    require("torch", package="torch", extra="train", purpose="adapting a model")
    from edgerestore.adaptation import adapt

    if exported_format(args.output) == "tflite":
        args.precision = "int8"
    result = adapt(args.input, args.output, base=args.base, budget_minutes=args.budget_minutes
                   if args.steps is None else None, steps=args.steps, run_dir=args.run_dir,
                   weights_out=args.weights_out, lr=args.lr, patch=args.patch,
                   batch=args.batch, precision=args.precision,
                   train_precision=args.train_precision, threads=args.threads,
                   seed=args.seed, overwrite=args.overwrite)
    print(f"adapted on {result.patches} patches in {result.minutes:.1f} min: {result.model} "
          f"(weights {result.weights})")
    return 0
