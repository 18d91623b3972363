"""``edgerestore demo``: the main job in one command, on bundled inputs.

Exports the shipped blind-spot (colour, sigma 25) and MAP-denoiser weights to ONNX
and TFLite at fp32 and int8 with the export stage's parity check; then, with the
device runtime only (in a process where torch cannot be imported), denoises the
bundled scikit-image samples with sigma-25 noise using each blind-spot file and
deblurs one sample blurred by a generated motion kernel with plug-and-play ADMM using
each MAP file; times every file; writes OUT/report.html (self-contained) and
OUT/report.json and prints a summary. A missing optional dependency skips only what
needs it; the report and the exit status (2) say what and how to install it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from edgerestore.console import log


def register(sub: argparse._SubParsersAction) -> None:
    from edgerestore.demo.pipeline import DEFAULT_MAP, FORMATS

    p = sub.add_parser("demo", help="the main job on bundled inputs: export, restore on the "
                                    "device runtime, benchmark, HTML report",
                       description=__doc__)
    p.add_argument("--out", type=Path, default=Path("demo_out"), help="output folder")
    p.add_argument("--images", type=Path,
                   help="folder of your own photos instead of the bundled samples; they are "
                        "taken as already noisy unless --sigma is given")
    p.add_argument("--sigma", type=float,
                   help="add Gaussian noise of this std (0-255 units); default 25 on the "
                        "bundled samples, none on --images")
    p.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS),
                   help="export formats (default: onnx tflite)")
    p.add_argument("--quick", action="store_true",
                   help="a smoke run: the efficient blind-spot model, 2 small crops, 8 ADMM "
                        "iterations, 3 timed runs")
    p.add_argument("--model", help="blind-spot weights: a shipped name or a .safetensors "
                                   "path (default blindspot_gauss25_rgb; --quick: "
                                   "blindspot_eff_gauss25_rgb)")
    p.add_argument("--map", default=DEFAULT_MAP,
                   help=f"MAP-denoiser weights: shipped name or path (default {DEFAULT_MAP})")
    p.add_argument("--threads", type=int, default=2, help="runtime threads (default 2)")
    p.add_argument("--seed", type=int, default=0, help="noise seed")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgerestore.demo.pipeline import (
        DEFAULT_BLINDSPOT,
        QUICK_BLINDSPOT,
        DemoOptions,
        resolve_weights,
        run_demo,
    )
    from edgerestore.demo.report import summary, write_report
    from edgerestore.errors import InputError

    start = time.perf_counter()
    if args.sigma is not None and not 0 < args.sigma < 256:
        raise InputError(f"--sigma must be in (0, 256) (0-255 units), got {args.sigma}")
    if args.threads < 1:
        raise InputError(f"--threads must be >= 1, got {args.threads}")
    if args.images is not None and not args.images.is_dir():
        raise InputError(f"--images {args.images}: not a folder")
    blindspot = args.model or (QUICK_BLINDSPOT if args.quick else DEFAULT_BLINDSPOT)
    for name in (blindspot, args.map):
        resolve_weights(name)  # a typo fails here, before minutes of work
    opts = DemoOptions(out=args.out, images=args.images, sigma=args.sigma, seed=args.seed,
                       formats=tuple(dict.fromkeys(args.formats)), quick=args.quick,
                       blindspot=blindspot, map=args.map, threads=args.threads,
                       quiet=args.quiet)
    demo = run_demo(opts)
    demo.seconds = time.perf_counter() - start
    report = demo.to_json()
    html_path, json_path = write_report(report, args.out)
    print(summary(report))
    incomplete = {k: v.status for k, v in demo.stages.items() if v.status != "ok"}
    print(f"report: {html_path} and {json_path}; total {demo.seconds:.0f} s")
    if incomplete:
        log.error("demo incomplete: %s (reasons above and in the report)",
                  ", ".join(f"{k} {v}" for k, v in incomplete.items()))
        return 2
    return 0
