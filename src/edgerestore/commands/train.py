"""``edgerestore train``: train the project's networks (needs the ``train`` extra and torch)."""

from __future__ import annotations

import argparse
from pathlib import Path

from edgerestore.argtypes import float_range, int_range
from edgerestore.commands.run_options import add_run_options, run_options
from edgerestore.commands.train_dde import register_dde
from edgerestore.commands.train_distill import register_distill
from edgerestore.errors import InputError, require

#: Dilated-net defaults (the paper's faithful configuration), used unless --init-from.
DILATED_DEFAULTS = {"width": 128, "depth": 11, "branch_width": 18, "mix_widths": [99, 99]}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a network", description=__doc__)
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    b = kinds.add_parser("blindspot", help="self-supervised blind-spot denoiser (noisy data only)",
                         description="Train the blind-spot denoiser on noisy images only "
                                     "(Laine et al.'s likelihood loss).")
    b.add_argument("--data", type=Path, nargs="+", required=True,
                   help="folder(s) of training images (decoded lazily: any number of photos)")
    b.add_argument("--out", type=Path, required=True, help="output .safetensors (card beside)")
    b.add_argument("--run-dir", type=Path, help="checkpoints and logs (default: runs/<name>)")
    b.add_argument("--channels", type=int, choices=(1, 3), default=3)
    b.add_argument("--noise", default="gauss25",
                   help="gauss25, gauss5_50, poisson30, poisson5_50 or gauss:S / gauss:LO-HI ...")
    b.add_argument("--sigma-mode", choices=("known", "global", "estimated", "measured"),
                   default="known",
                   help="noise level known, one learned global level, a per-image estimator "
                        "net, or measured on each image (sub-image MAD: camera photos)")
    b.add_argument("--already-noisy", action="store_true",
                   help="the images are real noisy photos: add no synthetic noise")
    b.add_argument("--arch", choices=("dilated_blindspot", "laine_unet"),
                   default="dilated_blindspot", help="ignored with --init-from (taken from it)")
    b.add_argument("--width", type=int_range(1, 1024),
                   help="trunk width (dilated net; default 128, or --init-from's)")
    b.add_argument("--depth", type=int_range(1, 64), help="trunk depth (dilated net; default 11)")
    b.add_argument("--branch-width", type=int_range(1, 1024),
                   help="filters per dilated branch (default 18)")
    b.add_argument("--mix-widths", type=int_range(1, 4096), nargs="+",
                   help="1x1 mixing widths (dilated net; default 99 99)")
    b.add_argument("--hole", type=int_range(0, 8),
                   help="blind patch for camera noise (dilated net): never see the pixels "
                        "within this distance of the centre (1 = the 3x3; default 0)")
    b.add_argument("--pd-stride", type=int_range(2, 16),
                   help="AP-BSN for camera noise: train on pixel-shuffle sub-images of this "
                        "stride (5); inference at stride 2 with R3")
    b.add_argument("--base-width", type=int_range(1, 1024),
                   help="U-Net width (laine_unet; default 48)")
    add_run_options(b, steps=10000, batch=4, patch=64, lr=3e-4)
    b.set_defaults(func=run_blindspot)

    m = kinds.add_parser("map", help="DAE prior R and MAP denoiser D (Bigdeli et al. 2020)",
                         description="Train the DAE prior R and the plug-and-play MAP "
                                     "denoiser D together on clean patches.")
    m.add_argument("--data", type=Path, nargs="+", required=True,
                   help="folder(s) of clean training images")
    m.add_argument("--out", type=Path, required=True, help="MAP denoiser D .safetensors")
    m.add_argument("--dae-out", type=Path,
                   help="DAE prior R .safetensors (required unless --freeze-dae)")
    m.add_argument("--run-dir", type=Path, help="checkpoints (default: runs/<name>)")
    m.add_argument("--channels", type=int, choices=(1, 3), default=3)
    m.add_argument("--sigma-r", type=float_range(0, 255, low_open=True),
                   help="DAE noise, 0-255 (default 11 colour, 7 grey)")
    m.add_argument("--sigma-v", type=float_range(0, 255, low_open=True),
                   help="D's input noise, 0-255 (default sigma-r)")
    m.add_argument("--rho", type=float_range(0, 1e9, low_open=True),
                   help="data weight (default 2 / sigma_R^2)")
    m.add_argument("--depth", type=int_range(2, 64), default=17)
    m.add_argument("--width", type=int_range(1, 1024), default=64)
    m.add_argument("--dae-depth", type=int_range(2, 64), default=17)
    m.add_argument("--dae-width", type=int_range(1, 1024), default=64)
    m.add_argument("--init-dae", type=Path, help="start R from these DnCNN weights")
    m.add_argument("--init-map", type=Path,
                   help="start D from these DnCNN weights (e.g. the DAE itself)")
    m.add_argument("--freeze-dae", action="store_true",
                   help="keep R fixed (needs --init-dae); trains D only")
    add_run_options(m, steps=20000, batch=16, patch=40, lr=1e-3)
    m.set_defaults(func=run_map)
    register_dde(kinds)
    register_distill(kinds)


def data_folders(args: argparse.Namespace) -> str | list[str]:
    """One folder as a string (as older cards record it), several as a list."""
    folders = [str(d) for d in args.data]
    return folders[0] if len(folders) == 1 else folders


def blindspot_architecture(args: argparse.Namespace) -> tuple[str, dict]:
    """Architecture from the flags, or from --init-from's weights where flags are absent."""
    arch, backbone = args.arch, {}
    if args.init_from is not None:
        from edgerestore.models.weights_io import read_config

        config = read_config(args.init_from)
        inner = config.get("backbone", {})
        arch = inner.get("arch", arch)
        backbone = {k: v for k, v in inner.items()
                    if k not in ("arch", "in_channels", "out_channels")}
    if arch == "dilated_blindspot":
        flags = {"width": args.width, "depth": args.depth, "branch_width": args.branch_width,
                 "mix_widths": list(args.mix_widths) if args.mix_widths else None,
                 "hole": args.hole}
        base = backbone or DILATED_DEFAULTS
    else:
        flags, base = {"base_width": args.base_width}, backbone or {"base_width": 48}
    return arch, {**base, **{k: v for k, v in flags.items() if v is not None}}


def run_blindspot(args: argparse.Namespace) -> int:
    require("torch", package="torch", extra="train", purpose="training")
    from edgerestore.models.train_blindspot import BlindSpotTraining, train

    arch, backbone = blindspot_architecture(args)
    cfg = BlindSpotTraining(
        data=data_folders(args), out=str(args.out),
        run_dir=str(args.run_dir or Path("runs") / args.out.stem), channels=args.channels,
        noise=args.noise, sigma_mode=args.sigma_mode, already_noisy=args.already_noisy,
        arch=arch, backbone=backbone, pd_stride=args.pd_stride, **run_options(args))
    train(cfg, resume=args.resume)
    return 0


def run_map(args: argparse.Namespace) -> int:
    require("torch", package="torch", extra="train", purpose="training")
    from edgerestore.models.train_map import MapTraining, train_map

    if args.dae_out is None and not args.freeze_dae:
        raise InputError("--dae-out is required unless --freeze-dae keeps R fixed")
    sigma_r = args.sigma_r if args.sigma_r is not None else (11.0 if args.channels == 3 else 7.0)
    cfg = MapTraining(
        data=data_folders(args), out=str(args.out), dae_out=str(args.dae_out or args.init_dae),
        run_dir=str(args.run_dir or Path("runs") / args.out.stem), channels=args.channels,
        sigma_r=sigma_r, sigma_v=args.sigma_v, rho=args.rho, depth=args.depth,
        width=args.width, dae_depth=args.dae_depth, dae_width=args.dae_width,
        init_dae=str(args.init_dae) if args.init_dae else None,
        init_map=str(args.init_map) if args.init_map else None, freeze_dae=args.freeze_dae,
        **run_options(args))
    train_map(cfg, resume=args.resume)
    return 0
