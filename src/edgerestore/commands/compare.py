"""``edgerestore compare``: PSNR/SSIM of images against a reference (benchmark protocol)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from edgerestore.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="PSNR and SSIM of images against a reference",
                       description=__doc__)
    p.add_argument("reference", type=Path, help="clean reference image")
    p.add_argument("images", type=Path, nargs="+", help="images to score")
    p.add_argument("--no-ssim", action="store_true", help="skip SSIM (needs scikit-image)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgerestore.runtime.image_io import read_image
    from edgerestore.runtime.metrics import psnr, ssim

    ref, ref_info = read_image(args.reference)
    rows = []
    for path in args.images:
        img, _info = read_image(path)
        if img.shape != ref.shape:
            raise InputError(f"{path}: size {img.shape} differs from the reference {ref.shape}")
        row = {"image": str(path), "psnr": round(psnr(ref, img), 4)}
        if not args.no_ssim:
            row["ssim"] = round(ssim(ref, img), 5)
        rows.append(row)
    if args.json:
        print(json.dumps({"reference": ref_info.path, "results": rows}, indent=2))
    else:
        for row in rows:
            extra = f"  SSIM {row['ssim']:.4f}" if "ssim" in row else ""
            print(f"{row['image']}: PSNR {row['psnr']:.2f} dB{extra}")
    return 0
