"""``edgerestore train``: train the project's networks (needs the ``train`` extra and torch)."""

from __future__ import annotations

import argparse
from pathlib import Path

from edgerestore.commands.train_dde import register_dde
from edgerestore.errors import InputError, require


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a network", description=__doc__)
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    b = kinds.add_parser("blindspot", help="self-supervised blind-spot denoiser (noisy data only)",
                         description="Train the blind-spot denoiser on noisy images only "
                                     "(Laine et al.'s likelihood loss).")
    b.add_argument("--data", type=Path, required=True, help="folder of training images")
    b.add_argument("--out", type=Path, required=True, help="output .safetensors (card beside)")
    b.add_argument("--run-dir", type=Path, help="checkpoints and logs (default: runs/<name>)")
    b.add_argument("--channels", type=int, choices=(1, 3), default=3)
    b.add_argument("--noise", default="gauss25",
                   help="gauss25, gauss5_50, poisson30, poisson5_50 or gauss:S / gauss:LO-HI ...")
    b.add_argument("--sigma-mode", choices=("known", "global", "estimated"), default="known",
                   help="noise level known, one learned global level, or a per-image estimator")
    b.add_argument("--already-noisy", action="store_true",
                   help="the images are real noisy photos: add no synthetic noise")
    b.add_argument("--arch", choices=("dilated_blindspot", "laine_unet"),
                   default="dilated_blindspot")
    b.add_argument("--width", type=int, default=128, help="trunk width (dilated net)")
    b.add_argument("--depth", type=int, default=11, help="trunk depth (dilated net)")
    b.add_argument("--branch-width", type=int, default=18, help="filters per dilated branch")
    b.add_argument("--mix-widths", type=int, nargs="+", default=[99, 99],
                   help="1x1 mixing widths (dilated net)")
    b.add_argument("--base-width", type=int, default=48, help="U-Net width (laine_unet)")
    add_run_options(b, steps=10000, batch=4, patch=64, lr=3e-4)
    b.set_defaults(func=run_blindspot)

    m = kinds.add_parser("map", help="DAE prior R and MAP denoiser D (Bigdeli et al. 2020)",
                         description="Train the DAE prior R and the plug-and-play MAP "
                                     "denoiser D together on clean patches.")
    m.add_argument("--data", type=Path, required=True, help="folder of clean training images")
    m.add_argument("--out", type=Path, required=True, help="MAP denoiser D .safetensors")
    m.add_argument("--dae-out", type=Path,
                   help="DAE prior R .safetensors (required unless --freeze-dae)")
    m.add_argument("--run-dir", type=Path, help="checkpoints (default: runs/<name>)")
    m.add_argument("--channels", type=int, choices=(1, 3), default=3)
    m.add_argument("--sigma-r", type=float, help="DAE noise, 0-255 (default 11 colour, 7 grey)")
    m.add_argument("--sigma-v", type=float, help="D's input noise, 0-255 (default sigma-r)")
    m.add_argument("--rho", type=float, help="data weight (default 2 / sigma_R^2)")
    m.add_argument("--depth", type=int, default=17)
    m.add_argument("--width", type=int, default=64)
    m.add_argument("--dae-depth", type=int, default=17)
    m.add_argument("--dae-width", type=int, default=64)
    m.add_argument("--init-dae", type=Path, help="start R from these DnCNN weights")
    m.add_argument("--init-map", type=Path,
                   help="start D from these DnCNN weights (e.g. the DAE itself)")
    m.add_argument("--freeze-dae", action="store_true",
                   help="keep R fixed (needs --init-dae); trains D only")
    add_run_options(m, steps=20000, batch=16, patch=40, lr=1e-3)
    m.set_defaults(func=run_map)
    register_dde(kinds)


def add_run_options(p: argparse.ArgumentParser, *, steps: int, batch: int, patch: int,
                    lr: float) -> None:
    """Options every trainer shares: schedule, seed, device, checkpoints, dev set."""
    p.add_argument("--steps", type=int, default=steps)
    p.add_argument("--batch", type=int, default=batch)
    p.add_argument("--patch", type=int, default=patch)
    p.add_argument("--lr", type=float, default=lr)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--no-amp", action="store_true", help="disable bf16 autocast on CUDA")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--checkpoint-every", type=int, default=250)
    p.add_argument("--dev-images", type=Path, help="folder for a dev-set PSNR at checkpoints")
    p.add_argument("--dev-count", type=int, default=4)
    p.add_argument("--limit-images", type=int, help="use only the first N training images")
    p.add_argument("--resume", action="store_true", help="continue from the run's checkpoint")


def run_blindspot(args: argparse.Namespace) -> int:
    require("torch", package="torch", extra="train", purpose="training")
    from edgerestore.models.train_blindspot import BlindSpotTraining, train

    if args.arch == "dilated_blindspot":
        backbone = {"width": args.width, "depth": args.depth, "branch_width": args.branch_width,
                    "mix_widths": list(args.mix_widths)}
    else:
        backbone = {"base_width": args.base_width}
    cfg = BlindSpotTraining(
        data=str(args.data), out=str(args.out),
        run_dir=str(args.run_dir or Path("runs") / args.out.stem), channels=args.channels,
        noise=args.noise, sigma_mode=args.sigma_mode, already_noisy=args.already_noisy,
        arch=args.arch, backbone=backbone, steps=args.steps, batch=args.batch,
        patch=args.patch, lr=args.lr, seed=args.seed, device=args.device,
        amp=not args.no_amp, checkpoint_every=args.checkpoint_every,
        dev_images=str(args.dev_images) if args.dev_images else None,
        dev_count=args.dev_count, limit_images=args.limit_images, threads=args.threads)
    train(cfg, resume=args.resume)
    return 0


def run_map(args: argparse.Namespace) -> int:
    require("torch", package="torch", extra="train", purpose="training")
    from edgerestore.models.train_map import MapTraining, train_map

    if args.dae_out is None and not args.freeze_dae:
        raise InputError("--dae-out is required unless --freeze-dae keeps R fixed")
    sigma_r = args.sigma_r if args.sigma_r is not None else (11.0 if args.channels == 3 else 7.0)
    cfg = MapTraining(
        data=str(args.data), out=str(args.out), dae_out=str(args.dae_out or args.init_dae),
        run_dir=str(args.run_dir or Path("runs") / args.out.stem), channels=args.channels,
        sigma_r=sigma_r, sigma_v=args.sigma_v, rho=args.rho, depth=args.depth,
        width=args.width, dae_depth=args.dae_depth, dae_width=args.dae_width,
        init_dae=str(args.init_dae) if args.init_dae else None,
        init_map=str(args.init_map) if args.init_map else None, freeze_dae=args.freeze_dae,
        steps=args.steps, batch=args.batch, patch=args.patch, lr=args.lr, seed=args.seed,
        device=args.device, amp=not args.no_amp, checkpoint_every=args.checkpoint_every,
        dev_images=str(args.dev_images) if args.dev_images else None,
        dev_count=args.dev_count, limit_images=args.limit_images, threads=args.threads)
    train_map(cfg, resume=args.resume)
    return 0
