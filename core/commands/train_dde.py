"""``edgerestore train dde``: a generator trained by KL minimisation with two DDEs."""

from __future__ import annotations

import argparse
from pathlib import Path

from edgerestore.errors import require


def register_dde(kinds: argparse._SubParsersAction) -> None:
    """Add the ``dde`` kind to ``edgerestore train``."""
    d = kinds.add_parser(
        "dde", help="generator from denoising density estimators (Bigdeli et al. 2020)",
        description="Train a generator by minimising KL(q||p) between Gaussian-smoothed "
                    "densities, each given by a denoising density estimator (DDE): one on "
                    "the data, one on the generator's samples.")
    d.add_argument("--data", default="digits",
                   help="digits (scikit-learn's bundled 8x8 digits), a folder of photos "
                        "(random --crop crops; the last 10%% of the images are held out), or a "
                        "2-D toy density: two_spirals, eight_gaussians, checkerboard, rings")
    d.add_argument("--crop", type=int, default=32, help="crop size for a folder of photos")
    d.add_argument("--out", type=Path, required=True, help="generator .safetensors (card beside)")
    d.add_argument("--run-dir", type=Path, help="checkpoints (default: runs/<name>)")
    d.add_argument("--latent-dim", type=int, default=16)
    d.add_argument("--gen-width", type=int, default=256)
    d.add_argument("--gen-depth", type=int, default=2)
    d.add_argument("--dde-kind", choices=("conv", "mlp"),
                   help="DDE network (default conv for images, mlp for toy data)")
    d.add_argument("--dde-width", type=int, default=32)
    d.add_argument("--sigma", type=float, default=0.3,
                   help="DDE noise std in data units (digits: [0, 1] pixels)")
    d.add_argument("--sigma-end", type=float,
                   help="anneal sigma linearly to this value over the run")
    d.add_argument("--gen-every", type=int, default=2,
                   help="one generator step every K batches (K DDE steps each)")
    d.add_argument("--steps", type=int, default=3000)
    d.add_argument("--batch", type=int, default=128)
    d.add_argument("--lr", type=float, default=1e-3, help="DDE learning rate")
    d.add_argument("--gen-lr", type=float, default=3e-4, help="generator learning rate")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    d.add_argument("--threads", type=int, help="torch CPU threads")
    d.add_argument("--checkpoint-every", type=int, default=250)
    d.add_argument("--limit-images", type=int, help="use only the first N training samples")
    d.add_argument("--resume", action="store_true", help="continue from the run's checkpoint")
    d.set_defaults(func=run_dde)


def run_dde(args: argparse.Namespace) -> int:
    require("torch", package="torch", extra="train", purpose="training")
    from edgerestore.models.train_dde import DdeTraining, train_generator

    image_data = args.data == "digits" or Path(args.data).is_dir()
    kind = args.dde_kind or ("conv" if image_data else "mlp")
    cfg = DdeTraining(
        data=args.data, out=str(args.out),
        run_dir=str(args.run_dir or Path("runs") / args.out.stem),
        latent_dim=args.latent_dim, gen_width=args.gen_width, gen_depth=args.gen_depth,
        dde_kind=kind, dde_width=args.dde_width, sigma=args.sigma, sigma_end=args.sigma_end,
        gen_every=args.gen_every, steps=args.steps, batch=args.batch, lr=args.lr,
        gen_lr=args.gen_lr, seed=args.seed, device=args.device, amp=False,
        checkpoint_every=args.checkpoint_every, limit_images=args.limit_images,
        threads=args.threads, crop=args.crop)
    train_generator(cfg, resume=args.resume)
    return 0
