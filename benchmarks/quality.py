"""Quality side of the benchmarks: denoising PSNR per model, noise level and precision,
deblurring tables, and the PSNR cost of quantisation.

``run`` scores what is not on disk yet, each job one ``edgerestore eval denoise`` call
whose command line is stored with its JSON (``benchmarks/results/quality/``):

* every shipped denoiser at sigma 15 and 50 with (C)BM3D on the same noisy images
  (sigma 25 on the full sets is ``benchmarks/blindspot_eval.py``'s
  ``results/*_CBSD68.json`` etc.). (C)BM3D costs about 25 s per colour image on this
  CPU, so these two levels use the first ``--limit`` images of CBSD68 / BSD68 and all
  of Set12; the tables say so.
* every exported precision (ONNX Runtime and LiteRT fp32 / fp16 / int8) of the
  faithful and the efficient blind-spot model, scored through the torch-free runtime
  on the same noisy images as the PyTorch model (same seed and order).

``collect`` gathers those JSON files, the full-set sigma-25 results, the export
reports (parity on 4 CBSD68 images per precision) and the deblurring results another
job writes (``results/deblur_set3c_*.json``) into ``results/quality.json``, which
``benchmarks/report.py`` renders.

    python benchmarks/quality.py run --data-root /work/shared/data --limit 4
    python benchmarks/quality.py collect
"""

from __future__ import annotations

import argparse
import json
import shlex
import time
from pathlib import Path
from typing import Any

from edgerestore.cli import main as cli

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
OUT = RESULTS / "quality"
WEIGHTS = ROOT / "src" / "edgerestore" / "models" / "weights"
EXPORTS = ROOT / "runs" / "bench" / "export"
SIGMAS = (15, 25, 50)
#: Shipped denoiser -> evaluation sets (colour models on CBSD68, grey on BSD68 and Set12).
DENOISERS = {
    "blindspot_gauss25_rgb": ("CBSD68",),
    "blindspot_eff_gauss25_rgb": ("CBSD68",),
    "blindspot_gauss5_50_rgb": ("CBSD68",),
    "blindspot_gauss25_gray": ("BSD68", "Set12"),
}
#: Models whose exported precisions are scored against their PyTorch weights.
EXPORTED = ("blindspot_gauss25_rgb", "blindspot_eff_gauss25_rgb")
PRECISION_FILES = {
    "onnx fp32": "{m}_fp32.onnx", "onnx fp16": "{m}_fp16.onnx", "onnx int8": "{m}_int8.onnx",
    "tflite fp32": "{m}_fp32_256x256.tflite", "tflite fp16": "{m}_fp16_256x256.tflite",
    "tflite int8": "{m}_int8_256x256.tflite",
}


def jobs(data_root: Path, limit: int) -> list[tuple[Path, list[str]]]:
    """(output JSON, ``edgerestore`` arguments) for every quality measurement.

    Colour sigma 15 / 50 first, then the exported precisions, then the grey model, so
    that a run cut short keeps the colour results and the quantisation cost.
    """
    out, grey = [], []
    cache = ROOT / "runs" / "bm3d_cache"
    for model, sets in DENOISERS.items():
        for dataset in sets:
            for sigma in (15, 50):
                args = ["eval", "denoise", "--model", str(WEIGHTS / f"{model}.safetensors"),
                        "--images", str(data_root / "eval" / dataset), "--noise",
                        f"gauss:{sigma}", "--seed", "0", "--bm3d", "--bm3d-cache", str(cache)]
                if dataset != "Set12":
                    args += ["--limit", str(limit)]
                target = grey if "gray" in model else out
                target.append((OUT / f"{model}_{dataset}_s{sigma}.json", args))
    for model in EXPORTED:
        images = str(data_root / "eval" / "CBSD68")
        common = ["--images", images, "--noise", "gauss:25", "--seed", "0", "--limit", str(limit)]
        out.append((OUT / f"{model}_CBSD68_s25_torch.json",
                    ["eval", "denoise", "--model", str(WEIGHTS / f"{model}.safetensors"),
                     *common]))
        for label, pattern in PRECISION_FILES.items():
            path = EXPORTS / model / pattern.format(m=model)
            if path.is_file():
                out.append((OUT / f"{model}_CBSD68_s25_{label.replace(' ', '_')}.json",
                            ["eval", "denoise", "--model", str(path), "--threads", "1",
                             *common]))
    return out + grey


def run(args: argparse.Namespace) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for path, cli_args in jobs(args.data_root, args.limit):
        if path.is_file():
            continue
        start = time.perf_counter()
        if cli(["-q", *cli_args, "--json", str(path)]):
            raise SystemExit(f"failed: edgerestore {shlex.join(cli_args)}")
        result = json.loads(path.read_text())
        result["command"] = _relative(
            "edgerestore " + shlex.join([*cli_args, "--json", str(path)]))
        result["wall_s"] = round(time.perf_counter() - start, 1)
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"{path.name}: {result['wall_s']} s")


def _relative(command: str) -> str:
    """A command line as run from the repository root (no machine-specific prefix)."""
    return command.replace(f"{ROOT}/", "")


def _psnr(result: dict[str, Any]) -> float | None:
    if "psnr" in result:
        return result["psnr"]
    modes = result.get("modes", {})
    return modes.get("posterior", {}).get("psnr")


def _baseline(result: dict[str, Any]) -> tuple[str | None, float | None]:
    for name in ("cbm3d", "bm3d"):
        if name in result:
            return name.upper(), result[name]["psnr"]
    return None, None


def denoising_rows() -> list[dict[str, Any]]:
    """One row per (model, set, sigma): PSNR of the model and of (C)BM3D, image count."""
    rows = []
    for model, sets in DENOISERS.items():
        for dataset in sets:
            for sigma in SIGMAS:
                path = (RESULTS / f"{model}_{dataset}.json" if sigma == 25
                        else OUT / f"{model}_{dataset}_s{sigma}.json")
                if not path.is_file():
                    continue
                result = json.loads(path.read_text())
                name, base = _baseline(result)
                rows.append({"model": model, "dataset": dataset, "sigma": sigma,
                             "images": result["count"], "psnr": _psnr(result),
                             "baseline": name, "baseline_psnr": base,
                             "source": str(path.relative_to(ROOT)),
                             "command": _relative(result.get(
                                 "command", "python benchmarks/blindspot_eval.py "
                                 "--data-root /work/shared/data"))})
    return rows


def precision_rows() -> list[dict[str, Any]]:
    """PSNR of each exported precision vs its PyTorch model on the same noisy images."""
    rows = []
    for model in EXPORTED:
        torch_path = OUT / f"{model}_CBSD68_s25_torch.json"
        if not torch_path.is_file():
            continue
        reference = json.loads(torch_path.read_text())
        rows.append({"model": model, "variant": "pytorch fp32", "images": reference["count"],
                     "psnr": reference["psnr"], "delta": 0.0,
                     "command": _relative(reference["command"])})
        for label in PRECISION_FILES:
            path = OUT / f"{model}_CBSD68_s25_{label.replace(' ', '_')}.json"
            if path.is_file():
                r = json.loads(path.read_text())
                rows.append({"model": model, "variant": label, "images": r["count"],
                             "psnr": r["psnr"], "delta": r["psnr"] - reference["psnr"],
                             "command": _relative(r["command"])})
    return rows


def export_parity_rows() -> list[dict[str, Any]]:
    """Quantisation cost from ``edgerestore export``'s reports (parity on real images)."""
    rows = []
    for path in sorted(RESULTS.glob("export_*.json")):
        report = json.loads(path.read_text())
        for entry in report.get("files", []):
            parity = entry.get("parity", {})
            data = parity.get("CBSD68") or parity.get("BSD68") or parity.get("samples") or {}
            rows.append({"model": Path(report["model"]).stem, "file": entry["file"],
                         "precision": entry["precision"], "format": entry["format"],
                         "size_bytes": entry["size_bytes"],
                         "set": next((k for k in ("CBSD68", "BSD68", "samples") if k in parity),
                                     None),
                         "images": data.get("images"), "psnr_vs_torch": data.get("psnr_vs_torch"),
                         "denoise_psnr": data.get("denoise_psnr"),
                         "denoise_psnr_delta": data.get("denoise_psnr_delta"),
                         "source": str(path.relative_to(ROOT))})
    return rows


def deblur_results() -> list[dict[str, Any]]:
    """The deblurring runs present on disk (``deblur_set3c_*.json``), summarised."""
    out = []
    for path in sorted(RESULTS.glob("deblur_*.json")):
        result = json.loads(path.read_text())
        methods = {name: {k: m.get(k) for k in ("psnr", "ssim", "iterations", "seconds")}
                   for name, m in result.get("methods", {}).items()}
        out.append({"source": str(path.relative_to(ROOT)), "sigma": result.get("sigma"),
                    "images": result.get("images"), "image_count": result.get("image_count"),
                    "kernel_count": result.get("kernel_count"), "methods": methods,
                    "command": result.get("command")})
    return out


def collect(_args: argparse.Namespace) -> None:
    summary = {"denoising": denoising_rows(), "precisions": precision_rows(),
               "export_parity": export_parity_rows(), "deblurring": deblur_results()}
    target = RESULTS / "quality.json"
    target.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {target}: " + ", ".join(f"{k} {len(v)}" for k, v in summary.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="action", required=True)
    r = sub.add_parser("run", help="score what is missing")
    r.add_argument("--data-root", type=Path, required=True)
    r.add_argument("--limit", type=int, default=8,
                   help="images of CBSD68 / BSD68 for the subset runs (default 4)")
    r.set_defaults(func=run)
    sub.add_parser("collect", help="gather results into results/quality.json").set_defaults(
        func=collect)
    args = ap.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
