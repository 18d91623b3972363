"""``edgerestore deblur | inpaint | upscale``: plug-and-play restoration of one image.

Each command reads an opaque image (8 or 16 bit), runs a numpy solver of
:mod:`edgerestore.runtime` with a trained denoiser standing in for the image prior
(ADMM with the MAP denoiser of Bigdeli et al. 2020 by default; HQS; for deblurring
also the DMSP baseline) and writes the result atomically, never over its input unless
``--in-place`` says so. Noise levels are given in 0-255 units like everywhere else in
the CLI; ``--rho`` is in the solvers' [0, 1] intensity units, where it defaults to
``1 / sigma_d^2`` with ``sigma_d`` the denoiser's training level from its model card.
Each file goes through :func:`edgerestore.api.restore_file`, the path of ``denoise`` and
of every file of a folder too.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from edgerestore import argtypes
from edgerestore.batch import is_batch
from edgerestore.commands.model_args import (
    add_batch_args,
    add_model_args,
    one_input,
    run_many,
    run_one,
)
from edgerestore.errors import InputError
from edgerestore.runtime.model_files import MODEL_SUFFIXES
from edgerestore.runtime.presets import INPAINT_SIGMA_N

KERNEL_HELP = "blur kernel: K.png, K.npy, FILE.npz:NAME or FILE.mat:INDEX (1-based)"


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("deblur", help="remove a known blur (plug-and-play ADMM, HQS or DMSP)",
                       description="Non-blind deblurring with a trained denoiser as the prior.")
    _common_args(d)
    d.add_argument("--kernel", required=True, help=KERNEL_HELP)
    d.add_argument("--sigma", type=argtypes.sigma_255,
                   help="noise std, 0-255 (default: estimated from the image, noise-blind)")
    d.add_argument("--method", choices=("admm", "hqs", "dmsp"), default="admm",
                   help="ADMM with the MAP denoiser (default), HQS, or the DMSP baseline")
    d.add_argument("--dae", type=Path,
                   help="DAE prior for --method dmsp (default: the DAE the denoiser's model "
                        "card names, else the --denoiser itself)")
    d.add_argument("--boundary", choices=("same", "circular", "valid"), default="same",
                   help="same: a photo, output of the same size (default); circular: "
                        "synthetic periodic blur; valid: output k-1 pixels larger")
    d.set_defaults(func=run_deblur)

    i = sub.add_parser("inpaint", help="fill in missing pixels given a mask",
                       description="Inpainting with a trained denoiser as the prior.")
    _common_args(i)
    i.add_argument("--mask", type=Path, required=True,
                   help="mask image of the same size: white = known pixel, black = fill in")
    i.add_argument("--sigma", type=argtypes.sigma_255,
                   help="noise std of the known pixels, 0-255 (default "
                        f"{INPAINT_SIGMA_N * 255:g}, the authors' example)")
    i.add_argument("--method", choices=("admm", "hqs"), default="admm")
    i.set_defaults(func=run_inpaint)

    u = sub.add_parser("upscale", help="super-resolve by an integer factor",
                       description="Super-resolution with a trained denoiser as the prior.")
    _common_args(u)
    u.add_argument("--scale", type=int, choices=(2, 3, 4), required=True)
    u.add_argument("--kernel", help=f"anti-aliasing {KERNEL_HELP} (default: Gaussian, "
                                    "std scale/2)")
    u.add_argument("--sigma", type=argtypes.sigma_255,
                   help="noise std, 0-255 (default: estimated from the image)")
    u.add_argument("--method", choices=("admm", "hqs"), default="admm")
    u.set_defaults(func=run_upscale)


def _common_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", type=Path, nargs="+",
                   help="input image (deblur: several files, folders or glob patterns)")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="output image (a folder for several inputs)")
    add_model_args(p, "--denoiser", "--model", dest="denoiser", what="the prior (MAP denoiser)",
                   files=", ".join(MODEL_SUFFIXES))
    add_batch_args(p)
    p.add_argument("--iters", type=argtypes.int_range(1, 100000),
                   help="solver iterations (default: the method's own)")
    p.add_argument("--rho", type=argtypes.float_range(0.0, 1e12, low_open=True),
                   help="ADMM penalty in [0,1] units (default 1/sigma_d^2, sigma_d from the card)")
    p.add_argument("--bit-depth", type=int, choices=(8, 16),
                   help="output bit depth (default: 16 for a 16-bit input written as .png, else 8)")
    p.add_argument("--in-place", action="store_true", help="allow overwriting the input")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="torch device for .safetensors denoisers")
    p.add_argument("--threads", type=argtypes.threads,
                   help="inference threads for .onnx/.tflite denoisers (default: all cores)")


def run_deblur(args: argparse.Namespace) -> int:
    from edgerestore.api import check_solver_options

    check_solver_options(args.method, rho=args.rho, dae=args.dae)
    solver = {"kernel": args.kernel, "method": args.method, "iters": args.iters,
              "rho": args.rho, "boundary": args.boundary}
    if is_batch(args.input, args.output):
        if args.method == "dmsp":
            raise InputError("--method dmsp restores one image at a time")
        from edgerestore.runtime.kernels import load_kernel, validate_kernel

        # Read once: every file of the batch is deblurred with this kernel.
        kernel = validate_kernel(load_kernel(args.kernel), name=f"kernel {args.kernel}")
        return run_many(args, "deblur", **{**solver, "kernel": kernel})
    return run_one(args, "deblur", **solver, dae=args.dae)


def run_inpaint(args: argparse.Namespace) -> int:
    from edgerestore.api import check_solver_options

    check_solver_options(args.method, rho=args.rho)
    args.input = [one_input(args)]
    return run_one(args, "inpaint", mask=args.mask, method=args.method, iters=args.iters,
                   rho=args.rho)


def run_upscale(args: argparse.Namespace) -> int:
    from edgerestore.api import check_solver_options

    check_solver_options(args.method, rho=args.rho)
    args.input = [one_input(args)]
    return run_one(args, "upscale", scale=args.scale, kernel=args.kernel, method=args.method,
                   iters=args.iters, rho=args.rho)
