"""``edgerestore deblur | inpaint | upscale``: plug-and-play restoration of one image.

Each command reads an opaque image (8 or 16 bit), runs a numpy solver of
:mod:`edgerestore.runtime` with a trained denoiser standing in for the image prior
(ADMM with the MAP denoiser of Bigdeli et al. 2020 by default; HQS; for deblurring
also the DMSP baseline) and writes the result atomically, never over its input unless
``--in-place`` says so. Noise levels are given in 0-255 units like everywhere else in
the CLI; ``--rho`` is in the solvers' [0, 1] intensity units, where it defaults to
``1 / sigma_d^2`` with ``sigma_d`` the denoiser's training level from its model card.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from edgerestore import argtypes
from edgerestore.batch import is_batch
from edgerestore.commands.model_args import (
    add_batch_args,
    add_model_args,
    model_path,
    one_input,
    run_many,
)
from edgerestore.commands.paths import read_input
from edgerestore.console import log, progress
from edgerestore.errors import InputError
from edgerestore.loading import DENOISER_SUFFIXES, load_dae_prior, load_denoiser
from edgerestore.units import noise_sigma

if TYPE_CHECKING:
    import numpy as np

    from edgerestore.runtime.image_io import ImageInfo
    from edgerestore.runtime.pnp import Callback, Result

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
    i.add_argument("--sigma", type=argtypes.sigma_255, default=2.55,
                   help="noise std of the known pixels, 0-255 (default 2.55)")
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
                   files=", ".join(DENOISER_SUFFIXES))
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
    from edgerestore.runtime.dmsp import dmsp_deblur
    from edgerestore.runtime.kernels import load_kernel, validate_kernel
    from edgerestore.runtime.pnp import deblur

    _check_options(args, dmsp=args.method == "dmsp")
    if is_batch(args.input, args.output):
        if args.method == "dmsp":
            raise InputError("--method dmsp restores one image at a time")
        kernel = validate_kernel(load_kernel(args.kernel), name=f"kernel {args.kernel}")
        return run_many(args, "deblur", kernel=kernel, iters=args.iters, rho=args.rho,
                        method=args.method, boundary=args.boundary)
    args.input = args.input[0]
    args.denoiser = model_path(args, "prior", dest="denoiser")
    image, info = read_input(args, reads=_reads(args))
    args.denoiser = args.denoiser or model_path(args, "prior", image, dest="denoiser")
    kernel = validate_kernel(load_kernel(args.kernel), image.shape, name=f"kernel {args.kernel}")
    sigma_n = noise_sigma(args.sigma)
    den = load_denoiser(args.denoiser, args.device, args.threads)
    if args.method == "dmsp":
        _, dae = load_dae_prior(args.denoiser, den, args.dae, args.device, args.threads)
        iters = {} if args.iters is None else {"iters": args.iters}
        with iteration_progress("dmsp", args.iters) as tick:
            result = dmsp_deblur(image, kernel, dae.denoise, sigma_n=sigma_n,
                                 boundary=args.boundary, sigma_dae=dae.sigma, callback=tick,
                                 **iters)
    else:
        with iteration_progress(args.method, args.iters) as tick:
            result = deblur(image, kernel, den.denoise, sigma_n=sigma_n, boundary=args.boundary,
                            method=args.method, iters=args.iters, rho=args.rho,
                            denoiser_sigma=den.sigma, callback=tick)
    _write(args, result, info)
    return 0


def run_inpaint(args: argparse.Namespace) -> int:
    from edgerestore.runtime.pnp import inpaint

    _check_options(args)
    args.input = one_input(args)
    args.denoiser = model_path(args, "prior", dest="denoiser")
    image, info = read_input(args, reads=_reads(args))
    args.denoiser = args.denoiser or model_path(args, "prior", image, dest="denoiser")
    mask = _read_mask(args.mask, image.shape)
    den = load_denoiser(args.denoiser, args.device, args.threads)
    with iteration_progress(args.method, args.iters) as tick:
        result = inpaint(image, mask, den.denoise, sigma_n=noise_sigma(args.sigma),
                         method=args.method, iters=args.iters, rho=args.rho,
                         denoiser_sigma=den.sigma, callback=tick)
    _write(args, result, info)
    return 0


def run_upscale(args: argparse.Namespace) -> int:
    from edgerestore.runtime.kernels import load_kernel
    from edgerestore.runtime.pnp import upscale

    _check_options(args)
    args.input = one_input(args)
    args.denoiser = model_path(args, "prior", dest="denoiser")
    image, info = read_input(args, reads=_reads(args))
    args.denoiser = args.denoiser or model_path(args, "prior", image, dest="denoiser")
    kernel = load_kernel(args.kernel) if args.kernel else None
    sigma_n = noise_sigma(args.sigma)
    den = load_denoiser(args.denoiser, args.device, args.threads)
    with iteration_progress(args.method, args.iters) as tick:
        result = upscale(image, args.scale, den.denoise, kernel=kernel, sigma_n=sigma_n,
                         method=args.method, iters=args.iters, rho=args.rho,
                         denoiser_sigma=den.sigma, callback=tick)
    _write(args, result, info)
    return 0


@contextmanager
def iteration_progress(desc: str, total: int | None) -> Iterator[Callback]:
    """A solver callback that advances the shared progress bar once per iteration.

    It drives :func:`edgerestore.console.progress` by hand, so the bar looks like every
    other one and ``--quiet`` silences it; without a known total it just counts.
    """
    ticks = progress(itertools.count() if total is None else range(total), desc=desc,
                     total=total, unit="it")

    def tick(_iteration: int, _estimate: np.ndarray, _info: dict[str, float]) -> None:
        next(ticks, None)

    try:
        yield tick
    finally:
        ticks.close()


def _reads(args: argparse.Namespace) -> list[Path]:
    """Every file the command reads besides its input; the output may replace none."""
    from edgerestore.runtime.kernels import kernel_file
    from edgerestore.runtime.model_metadata import sidecar_path

    files = [] if args.denoiser is None else [  # None: the packaged default, chosen later
        args.denoiser, args.denoiser.with_suffix(".json"), sidecar_path(args.denoiser)]
    files += [p for p in (getattr(args, "dae", None), getattr(args, "mask", None)) if p]
    if getattr(args, "kernel", None):
        files.append(kernel_file(args.kernel))
    return files


def _check_options(args: argparse.Namespace, *, dmsp: bool = False) -> None:
    """Refuse options the chosen method would silently ignore."""
    if args.rho is not None and args.method != "admm":
        raise InputError("--rho only applies to --method admm")
    if getattr(args, "dae", None) and not dmsp:
        raise InputError("--dae only applies to --method dmsp")


def _read_mask(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    """A boolean HxWx1 (or per-channel HxWxC) mask: white (>= 0.5) marks known pixels."""
    import numpy as np

    from edgerestore.runtime.image_io import read_image

    pixels, info = read_image(path)
    if info.has_alpha:
        raise InputError(f"{path}: mask has an alpha channel; save it as plain black and white")
    if pixels.shape[:2] != shape[:2]:
        raise InputError(f"{path}: mask is {pixels.shape[1]}x{pixels.shape[0]}, "
                         f"the image is {shape[1]}x{shape[0]}")
    if pixels.shape[2] == 3 and np.all(pixels == pixels[:, :, :1]):
        pixels = pixels[:, :, :1]
    return pixels >= 0.5


def _write(args: argparse.Namespace, result: Result, info: ImageInfo) -> None:
    from edgerestore.runtime.image_io import write_image

    bit_depth = args.bit_depth or (
        16 if info.bit_depth == 16 and args.output.suffix.lower() == ".png" else 8)
    write_image(args.output, result.x, bit_depth=bit_depth)
    # Only ADMM has a tolerance; HQS and DMSP always run their full schedule.
    state = ("" if args.method != "admm" else
             ", converged" if result.converged else ", not converged within --iters")
    log.info("wrote %s (%d iterations%s, noise sigma %.2f/255)", args.output,
             result.iterations, state, result.sigma_n * 255.0)
