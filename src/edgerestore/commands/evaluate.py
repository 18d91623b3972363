"""``edgerestore eval``: score models with the benchmark protocol (fixed seed, unclipped
noise, PSNR on the 8-bit output), optionally with classical baselines side by side.

``eval denoise`` scores a denoiser; ``eval deblur`` scores plug-and-play deblurring with
the MAP denoiser (ADMM, HQS) against DMSP and the Wiener / BM3D baselines, every method on
the same noisy observations, and times how long ADMM needs to match DMSP's PSNR. The work
is done by :mod:`edgerestore.evaluation`; this module only parses and prints."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from edgerestore.evaluation.deblur import DEBLUR_METHODS, PROTOCOLS
from edgerestore.evaluation.denoise import MODES
from edgerestore.runtime.presets import DMSP_ITERS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a model on a folder of images", description=__doc__)
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    d = kinds.add_parser("denoise", help="denoising PSNR/SSIM on a folder of clean images",
                         description="Add seeded noise to each clean image, denoise, score.")
    d.add_argument("--model", type=Path, required=True,
                   help="weights (.safetensors), or an exported .onnx/.tflite file (scored "
                        "through the torch-free runtime, for parity with the PyTorch path)")
    d.add_argument("--images", type=Path, required=True, help="folder of clean images")
    d.add_argument("--noise", default="gauss:25", help="noise spec, e.g. gauss:25")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--mode", choices=(*MODES, "all"), default="posterior",
                   help="posterior mean with known sigma (default), with estimated sigma, "
                        "prior mean only, or all three")
    d.add_argument("--bm3d", action="store_true", help="also run (C)BM3D at the true sigma")
    d.add_argument("--bm3d-cache", type=Path,
                   help="reuse (C)BM3D outputs for bit-identical noisy inputs from this folder")
    d.add_argument("--limit", type=int, help="only the first N images")
    d.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    d.add_argument("--threads", type=int, help="inference threads for exported files")
    d.add_argument("--no-ssim", action="store_true")
    d.add_argument("--clipped-input", action="store_true",
                   help="clip the noisy images to [0, 1] and round to 8 bits (a real photo)")
    d.add_argument("--json", type=Path, help="write the results here")
    d.add_argument("--card", action="store_true",
                   help="record the mean PSNR/SSIM in the model card (evaluation section)")
    d.set_defaults(func=run_denoise)

    b = kinds.add_parser(
        "deblur", help="non-blind deblurring: PnP-ADMM vs HQS, DMSP and classical baselines",
        description="Blur each clean image with each kernel, add seeded Gaussian noise, run "
                    "every method on the same observations, score PSNR/SSIM/time, and measure "
                    "how fast ADMM reaches DMSP's final PSNR.")
    b.add_argument("--denoiser", type=Path, required=True,
                   help="MAP denoiser (.safetensors, or an exported .onnx/.tflite file)")
    b.add_argument("--images", type=Path, required=True, help="folder of clean images")
    b.add_argument("--kernels", type=Path, required=True,
                   help="all kernels of a .npz (every array) or .mat ('kernels' cell array)")
    b.add_argument("--sigma", type=float, default=2.55, help="noise std, 0-255 (default 2.55)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--protocol", choices=PROTOCOLS, default="dpir",
                   help="dpir: circular blur, circular solvers; authors: valid blur, solvers "
                        "recover the full image, baselines get an edge-tapered observation")
    b.add_argument("--methods", nargs="+", choices=DEBLUR_METHODS, default=list(DEBLUR_METHODS))
    b.add_argument("--dae", type=Path,
                   help="DAE prior for DMSP (default: the DAE the denoiser's card names, "
                        "else the --denoiser)")
    b.add_argument("--limit", type=int, help="only the first N images")
    b.add_argument("--kernel-limit", type=int, help="only the first N kernels")
    b.add_argument("--iters-admm", type=int, help="ADMM iterations (default 75, with early stop)")
    b.add_argument("--iters-dmsp", type=int, default=DMSP_ITERS,
                   help=f"DMSP iterations (default {DMSP_ITERS})")
    b.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    b.add_argument("--threads", type=int,
                   help="torch CPU threads (1 gives steadier timings on a busy machine)")
    b.add_argument("--json", type=Path, help="write the results here")
    b.add_argument("--convergence-plot", type=Path,
                   help="PNG of PSNR vs iteration and vs seconds (ADMM, HQS, DMSP), first case")
    b.set_defaults(func=run_deblur)


def run_denoise(args: argparse.Namespace) -> int:
    from edgerestore.evaluation.denoise import DenoiseEvaluation, evaluate_denoise
    from edgerestore.evaluation.results import drop_per_image

    result = evaluate_denoise(DenoiseEvaluation(
        model=args.model, images=args.images, noise=args.noise, seed=args.seed,
        mode=args.mode, bm3d=args.bm3d, bm3d_cache=args.bm3d_cache, limit=args.limit,
        device=args.device, threads=args.threads, with_ssim=not args.no_ssim,
        clipped_input=args.clipped_input, json=args.json, card=args.card,
        command=args.command_line))
    print(json.dumps(drop_per_image(result), indent=2))
    return 0


def run_deblur(args: argparse.Namespace) -> int:
    from edgerestore.evaluation.deblur import DeblurEvaluation, evaluate_deblur
    from edgerestore.evaluation.results import drop_per_image
    from edgerestore.units import noise_sigma

    result = evaluate_deblur(DeblurEvaluation(
        denoiser=args.denoiser, images=args.images, kernels=args.kernels,
        sigma=noise_sigma(args.sigma), seed=args.seed, protocol=args.protocol,
        methods=tuple(args.methods), dae=args.dae, limit=args.limit,
        kernel_limit=args.kernel_limit, iters_admm=args.iters_admm,
        iters_dmsp=args.iters_dmsp, device=args.device, threads=args.threads,
        json=args.json, convergence_plot=args.convergence_plot, command=args.command_line))
    summary = {k: v for k, v in result.items() if k != "convergence"}
    print(json.dumps(drop_per_image(summary), indent=2))
    return 0
