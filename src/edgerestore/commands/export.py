"""``edgerestore export``: turn trained weights into ONNX / TFLite files for devices.

Writes one file per (format, precision) (TFLite: per tile size too), each carrying
its model card, plus ``report.json`` with parity against PyTorch on real images,
file sizes, the operator audit for the phone GPU, tool versions and the quantiser
used, and prints the parity table. Needs the ``export`` extra (and torch).
"""

from __future__ import annotations

import argparse
import importlib.util
import math
from pathlib import Path

from edgerestore.argtypes import int_range
from edgerestore.errors import InputError, MissingDependencyError, require
from edgerestore.export import EXTRA_PRECISIONS, FORMATS, PRECISIONS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export weights to ONNX / TFLite with parity checks",
                       description=__doc__)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", type=Path, help="weights (.safetensors)")
    which.add_argument("--shipped", nargs="*", metavar="NAME",
                       help="rebuild the models packaged with edgerestore (all, or the NAMEs) "
                            "from the shipped weights; models whose files match their weights "
                            "hash are skipped")
    p.add_argument("--force", action="store_true",
                   help="with --shipped: re-export even models that are up to date")
    p.add_argument("--format", choices=(*FORMATS, "all"), default="all")
    p.add_argument("--precision", nargs="+", choices=(*PRECISIONS, *EXTRA_PRECISIONS, "all"),
                   default=["all"], help="one or more; all = fp32 fp16 int8 (a16w8, int16 "
                                         "activations, is opt-in)")
    p.add_argument("--tile", action="append", type=_tile, metavar="N|HxW",
                   help="TFLite tile size, repeatable (default 256); the first one is also "
                        "the calibration crop and parity tile size")
    p.add_argument("--calib", type=Path,
                   help="folder of clean images for int8 calibration (default: the bundled "
                        "scikit-image samples)")
    p.add_argument("--calib-count", type=int, default=32, help="calibration crops (default 32)")
    p.add_argument("--raw", action="store_true",
                   help="blind-spot models: export the raw prior parameters instead of the "
                        "posterior mean (the runtime then does the Bayesian step in numpy)")
    p.add_argument("--nhwc", action="store_true", help="channel-last image input and output")
    p.add_argument("--r3", type=int_range(0, 64), metavar="N",
                   help="AP-BSN models: R3 refinement passes of the exported inference "
                        "(0 = pixel-shuffle output only; default: as the weights say)")
    p.add_argument("--data", type=Path,
                   help="also check parity on this folder of clean images (read in place)")
    p.add_argument("--data-limit", type=int, help="only the first N images of --data")
    p.add_argument("--out", type=Path,
                   help="output folder (required with --model; --shipped writes into the "
                        "package)")
    p.set_defaults(func=run)


def _tile(text: str) -> tuple[int, int]:
    height, _, width = text.lower().partition("x")
    try:
        return int(height), int(width or height)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad tile {text!r}: use N or HxW") from None


def run(args: argparse.Namespace) -> int:
    if args.shipped is not None:
        return run_shipped(args)
    if args.out is None:
        raise InputError("--out is required with --model")
    formats = FORMATS if args.format == "all" else (args.format,)
    precisions = tuple(dict.fromkeys(
        p for choice in args.precision for p in (PRECISIONS if choice == "all" else (choice,))))
    require("torch", package="torch", extra="train", purpose="exporting .safetensors models")
    needed = [("onnx", "onnx"), ("onnxslim", "onnxslim"),
              ("onnxconverter_common", "onnxconverter-common")] if "onnx" in formats else []
    if "tflite" in formats:
        needed += [("litert_torch", "litert-torch"), ("ai_edge_litert", "ai-edge-litert"),
                   ("ai_edge_quantizer", "ai-edge-quantizer")]
    for module, package in needed:
        # find_spec, not import: litert-torch must only ever be imported by its workers.
        if importlib.util.find_spec(module) is None:
            raise MissingDependencyError(package, "export", f"{'/'.join(formats)} export")
    from edgerestore.export.pipeline import ExportOptions, run_export

    if not args.model.is_file():
        raise InputError(f"{args.model}: no such weights file")
    report = run_export(ExportOptions(
        weights=args.model, out=args.out, formats=formats, precisions=precisions,
        tiles=tuple(dict.fromkeys(args.tile or [(256, 256)])), calib=args.calib,
        calib_count=args.calib_count, raw=args.raw, nhwc=args.nhwc, data=args.data,
        data_limit=args.data_limit, r3_steps=args.r3))
    if report["task"] == "generate":
        from edgerestore.export.generator_export import format_table as generator_table

        print(generator_table(report))
    else:
        print(format_table(report))
    print(f"report: {args.out / 'report.json'}")
    return 0


def run_shipped(args: argparse.Namespace) -> int:
    """Rebuild the packaged models; prints one line per model and the total time."""
    import time

    require("torch", package="torch", extra="train", purpose="exporting the packaged models")
    for module, package in (("onnx", "onnx"), ("onnxslim", "onnxslim"),
                            ("litert_torch", "litert-torch"), ("ai_edge_litert", "ai-edge-litert")):
        if importlib.util.find_spec(module) is None:
            raise MissingDependencyError(package, "export", "exporting the packaged models")
    from edgerestore.export.shipped import export_shipped
    from edgerestore.runtime.packaged import PACKAGED_DIR

    start = time.perf_counter()
    outcomes = export_shipped(tuple(args.shipped), force=args.force,
                              out=args.out or PACKAGED_DIR,
                              formats=FORMATS if args.format == "all" else (args.format,))
    for o in outcomes:
        print(f"{o.name:<28} {o.status:<11} {o.seconds:6.0f} s  {o.detail}".rstrip())
    print(f"packaged models: {args.out or PACKAGED_DIR} "
          f"({time.perf_counter() - start:.0f} s in all)")
    failed = [o.name for o in outcomes if o.status == "failed"]
    if failed:
        raise InputError(f"export failed for {', '.join(failed)}; their previous files are kept")
    return 0


def format_table(report: dict) -> str:
    """The parity table: one row per (file, image set)."""
    header = (f"{'file':<44} {'set':<9} {'KiB':>8} {'max|d|':>9} {'dB vs pt':>8} "
              f"{'PSNR pt':>8} {'PSNR':>7} {'delta':>7} {'GPU':>4}")
    rows = [header, "-" * len(header)]
    for entry in report["files"]:
        gpu = entry.get("ops", {}).get("gpu_ready")
        gpu_text = "-" if gpu is None else ("ok" if gpu else "NO")
        for set_name, p in (entry.get("parity") or {"-": None}).items():
            if p is None:
                rows.append(f"{entry['file']:<44} {'-':<9} {entry['size_bytes'] / 1024:>8.1f}")
                continue
            vs = "inf" if math.isinf(p["psnr_vs_torch"]) else f"{p['psnr_vs_torch']:.1f}"
            rows.append(f"{entry['file']:<44} {set_name[:9]:<9} "
                        f"{entry['size_bytes'] / 1024:>8.1f} {p['max_abs_diff']:>9.2e} "
                        f"{vs:>8} {p['denoise_psnr_torch']:>8.2f} {p['denoise_psnr']:>7.2f} "
                        f"{p['denoise_psnr_delta']:>+7.3f} {gpu_text:>4}")
    return "\n".join(rows)
