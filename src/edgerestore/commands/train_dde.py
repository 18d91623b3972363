"""``edgerestore train dde``: a generator trained by KL minimisation with two DDEs."""

from __future__ import annotations

import argparse
from pathlib import Path

from edgerestore.argtypes import int_range
from edgerestore.commands.run_options import add_run_options, run_options, shape_flags
from edgerestore.errors import InputError, require

#: Generator shape flags -> (config key in a generator file, default without --init-from).
GENERATOR_SHAPE = {"latent_dim": ("latent_dim", 16), "gen_width": ("width", 256),
                   "gen_depth": ("depth", 2)}


def register_dde(kinds: argparse._SubParsersAction) -> None:
    """Add the ``dde`` kind to ``edgerestore train`` (with every trainer's run options)."""
    d = kinds.add_parser(
        "dde", help="generator from denoising density estimators (Bigdeli et al. 2020)",
        description="Train a generator by minimising KL(q||p) between Gaussian-smoothed "
                    "densities, each given by a denoising density estimator (DDE): one on "
                    "the data, one on the generator's samples.")
    d.add_argument("--data", default="digits",
                   help="digits (scikit-learn's bundled 8x8 digits), a folder of photos "
                        "(random --crop crops; the last 10%% of the images are held out), or a "
                        "2-D toy density: two_spirals, eight_gaussians, checkerboard, rings")
    d.add_argument("--crop", type=int_range(4, 1024), dest="patch", metavar="N",
                   default=argparse.SUPPRESS,
                   help="crop size for a folder of photos (same as --patch; default 32)")
    d.add_argument("--out", type=Path, required=True, help="generator .safetensors (card beside)")
    d.add_argument("--run-dir", type=Path, help="checkpoints (default: runs/<name>)")
    d.add_argument("--latent-dim", type=int,
                   help="latent size (default 16, or --init-from's)")
    d.add_argument("--gen-width", type=int, help="generator width (default 256, or --init-from's)")
    d.add_argument("--gen-depth", type=int, help="generator depth (default 2, or --init-from's)")
    d.add_argument("--dde-kind", choices=("conv", "mlp"),
                   help="DDE network (default conv for images, mlp for toy data)")
    d.add_argument("--dde-width", type=int, default=32)
    d.add_argument("--sigma", type=float, default=0.3,
                   help="DDE noise std in data units (digits: [0, 1] pixels)")
    d.add_argument("--sigma-end", type=float,
                   help="anneal sigma linearly to this value over --steps/--images")
    d.add_argument("--gen-every", type=int, default=2,
                   help="one generator step every K batches (K DDE steps each)")
    d.add_argument("--gen-lr", type=float, default=3e-4,
                   help="generator learning rate (--lr is the DDEs'; both follow the ramps)")
    add_run_options(d, steps=3000, batch=128, patch=32, lr=1e-3)
    d.set_defaults(func=run_dde)


def run_dde(args: argparse.Namespace) -> int:
    require("torch", package="torch", extra="train", purpose="training")
    from edgerestore.models.train_dde import DdeTraining, train_generator

    if args.dev_images is not None:
        raise InputError("train dde scores its samples against held-out data at every "
                         "checkpoint; --dev-images is for the denoisers")
    image_data = args.data == "digits" or Path(args.data).is_dir()
    kind = args.dde_kind or ("conv" if image_data else "mlp")
    options = run_options(args)
    cfg = DdeTraining(
        data=args.data, out=str(args.out),
        run_dir=str(args.run_dir or Path("runs") / args.out.stem),
        **shape_flags(args, GENERATOR_SHAPE), dde_kind=kind, dde_width=args.dde_width,
        sigma=args.sigma,
        sigma_end=args.sigma_end, gen_every=args.gen_every, gen_lr=args.gen_lr,
        crop=options.pop("patch"), **options)
    train_generator(cfg, resume=args.resume)
    return 0
