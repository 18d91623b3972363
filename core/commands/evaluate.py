"""``edgerestore eval``: score models with the benchmark protocol (fixed seed, unclipped
noise, PSNR on the 8-bit output), optionally with classical baselines side by side."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from edgerestore.console import log
from edgerestore.errors import InputError, require

MODES = ("posterior", "estimated", "prior")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a model on a folder of images", description=__doc__)
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    d = kinds.add_parser("denoise", help="denoising PSNR/SSIM on a folder of clean images",
                         description="Add seeded noise to each clean image, denoise, score.")
    d.add_argument("--model", type=Path, required=True, help="weights (.safetensors)")
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
    d.add_argument("--no-ssim", action="store_true")
    d.add_argument("--json", type=Path, help="write the results here")
    d.add_argument("--card", action="store_true",
                   help="record the mean PSNR/SSIM in the model card (evaluation section)")
    d.set_defaults(func=run_denoise)


def run_denoise(args: argparse.Namespace) -> int:
    require("torch", package="torch", extra="train", purpose="evaluating .safetensors models")
    from edgerestore.models.bm3d_baseline import bm3d_denoiser
    from edgerestore.models.evaluate import noisy_set, score, torch_denoiser
    from edgerestore.models.run_state import resolve_device
    from edgerestore.models.weights_io import load_weights
    from edgerestore.runtime.noise import NoiseSpec

    if args.model.suffix != ".safetensors":
        raise InputError(f"{args.model}: expected a .safetensors weights file")
    if not args.images.is_dir():
        raise InputError(f"{args.images}: not a folder of images")
    spec = NoiseSpec.parse(args.noise)
    device = resolve_device(args.device)
    model, config = load_weights(args.model, device)
    if config.get("arch") != "blindspot_denoiser":
        raise InputError(f"{args.model}: not a denoiser ({config.get('arch')})")
    if spec.kind != config["noise_model"]:
        raise InputError(f"{args.model} models {config['noise_model']} noise, not {spec.kind}")
    items = noisy_set(args.images, spec, args.seed, config["channels"], args.limit)
    modes = MODES if args.mode == "all" else (args.mode,)
    result: dict = {"model": str(args.model), "images": str(args.images), "noise": str(spec),
                    "seed": args.seed, "count": len(items)}
    for mode in modes:
        scored = score(torch_denoiser(model, mode, spec.kind, device), items, desc=mode,
                       with_ssim=not args.no_ssim)
        if len(modes) == 1:
            result.update(mode=mode, **scored)
        else:
            result.setdefault("modes", {})[mode] = scored
        log.info("%s %s: PSNR %.2f dB", args.model.name, mode, scored["psnr"])
    if args.bm3d:
        if spec.kind != "gauss":
            raise InputError("the BM3D baseline needs Gaussian noise")
        name = "cbm3d" if config["channels"] == 3 else "bm3d"
        timings: list[float] = []
        result[name] = score(bm3d_denoiser(args.bm3d_cache, timings), items, desc=name,
                             with_ssim=not args.no_ssim)
        for row, seconds in zip(result[name]["per_image"], timings, strict=True):
            row["seconds"] = round(seconds, 4)  # compute time, also for cached outputs
        result[name]["seconds"] = float(sum(timings))
        log.info("%s: PSNR %.2f dB", name, result[name]["psnr"])
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    if args.card:
        record_in_card(args.model, args.images.name, result)
    print(json.dumps(_drop_per_image(result), indent=2))
    return 0


def record_in_card(model: Path, dataset: str, result: dict) -> None:
    """Add ``{dataset: {noise: {mode: {psnr, ssim}}}}`` to the model card, atomically."""
    from edgerestore.models.weights_io import card_path, load_card

    card = load_card(model)
    if not card:
        raise InputError(f"{model}: has no model card to record the evaluation in")
    modes = result.get("modes") or {result["mode"]: result}
    entry = card.setdefault("evaluation", {}).setdefault(dataset, {}).setdefault(
        result["noise"], {})
    for mode, scored in modes.items():
        entry[mode] = {k: round(scored[k], 4) for k in ("psnr", "ssim") if k in scored}
        entry[mode]["seed"] = result["seed"]
    for base in ("cbm3d", "bm3d"):
        if base in result:
            entry[base] = {k: round(result[base][k], 4) for k in ("psnr", "ssim")
                           if k in result[base]}
    path = card_path(model)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(card, indent=2) + "\n")
    tmp.replace(path)


def _drop_per_image(obj):
    if isinstance(obj, dict):
        return {k: _drop_per_image(v) for k, v in obj.items() if k != "per_image"}
    return obj
