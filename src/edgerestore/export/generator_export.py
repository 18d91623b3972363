"""Export of a DDE generator: latent ``z [N, latent_dim]`` in, images ``[N, C, H, W]`` out.

The image export stage (tiles, noise levels, denoising parity on photos) does not
fit a generator, whose input is a latent vector, so :func:`run_generator_export`
handles it end to end and :func:`edgerestore.export.pipeline.run_export` hands
generator weights here. Files and report follow the image stage's conventions: one
file per (format, precision) with the card embedded and a ``FILE.json`` sidecar,
an operator audit, and ``report.json``.

* ONNX: TorchScript exporter, dynamic batch, onnxslim, full checker; fp16 through
  onnxconverter-common with float32 I/O.
* TFLite: litert-torch in a fresh worker process (``python -m`` this module, as for
  the image models: the converter caches constants across calls), fixed batch
  :data:`TFLITE_BATCH`; fp16 by ai-edge-quantizer's float casting.
* int8 is not offered: the generator is a few small dense layers, fast in float, and
  its output is the product itself, so there is nothing to win for the error it adds.

Parity: the same seeded latents through PyTorch and through each file; the card's
``latent_dim``/``output_shape``/``batch`` are what :mod:`edgerestore.runtime.generate`
configures itself from.
"""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from edgerestore.console import log, progress
from edgerestore.errors import InputError, require
from edgerestore.export import metadata, onnx_export, op_audit, tflite_export
from edgerestore.models.weights_io import load_card, load_weights, read_config
from edgerestore.runtime.atomic import atomic_write
from edgerestore.runtime.model_files import FORMAT_SUFFIXES
from edgerestore.runtime.model_metadata import read_metadata

GENERATOR_ARCHS = ("dde_generator",)
SUPPORTED = ("fp32", "fp16")
#: Fixed batch of TFLite generator files (``edgerestore generate -n 16`` is one call).
TFLITE_BATCH = 16
INPUT, OUTPUT = "z", "images"
#: Latents compared in the parity check.
PARITY_SAMPLES = 64
TARGETS = {"fp32_psnr_vs_torch": 60.0, "fp16_psnr_vs_torch": 45.0}


def is_generator(weights: Path) -> bool:
    """Whether ``weights`` holds a generator (its config's ``arch``)."""
    return read_config(weights).get("arch") in GENERATOR_ARCHS


class NamedGenerator(nn.Module):
    """Keyword input and dict output, so the TFLite signature carries our names."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, z: Tensor) -> dict[str, Tensor]:
        return {OUTPUT: self.inner(z)}


def run_generator_export(opts: Any) -> dict[str, Any]:
    """Export, audit and parity-check a generator (``opts``: the pipeline's ExportOptions)."""
    precisions = [p for p in opts.precisions if p in SUPPORTED]
    skipped = [p for p in opts.precisions if p not in SUPPORTED]
    if not precisions:
        raise InputError(f"generators export as {' or '.join(SUPPORTED)} only, "
                         f"not {', '.join(opts.precisions)}")
    if skipped:
        log.warning("skipping %s for a generator (supported: %s)", ", ".join(skipped),
                    ", ".join(SUPPORTED))
    start = time.perf_counter()
    gen, config = load_weights(opts.weights)
    card = load_card(opts.weights)
    opts.out.mkdir(parents=True, exist_ok=True)
    timings = {"load": time.perf_counter() - start}
    steps = [(fmt, p) for fmt in ("onnx", "tflite") if fmt in opts.formats for p in precisions]
    files: list[dict[str, Any]] = []
    fp32_tflite: bytes | None = None
    for fmt, precision in progress(steps, desc="export generator", unit="file"):
        t0 = time.perf_counter()
        path = opts.out / f"{opts.weights.stem}_{precision}{FORMAT_SUFFIXES[fmt]}"
        if fmt == "onnx":
            info = _write_onnx(gen, config, card, opts.weights, path, precision)
        else:
            if fp32_tflite is None:
                fp32_tflite = _convert_tflite(opts.weights)
            data = fp32_tflite if precision == "fp32" else tflite_export.to_fp16(fp32_tflite)
            info = _write_tflite(data, config, card, opts.weights, path, precision)
        info["ops"] = (op_audit.audit_tflite(path) if fmt == "tflite"
                       else op_audit.audit_onnx(path))
        info["parity"] = {"latents": parity(gen, path)}
        files.append(info)
        timings[f"{fmt} {precision}"] = time.perf_counter() - t0
        log.info("wrote %s (%.1f s)", path.name, timings[f"{fmt} {precision}"])
    report = {"model": opts.weights.name, "weights_sha256": metadata.file_sha256(opts.weights),
              "task": "generate", "latent_dim": config["latent_dim"],
              "output_shape": config["shape"], "tools": metadata.tool_versions(),
              "exporters": {"onnx": "torch.onnx.export dynamo=False (TorchScript) + onnxslim",
                            "tflite": "litert_torch.convert in a worker process"},
              "targets": TARGETS, "files": files,
              "timings_s": {k: round(v, 2) for k, v in timings.items()}}
    atomic_write(opts.out / "report.json", (json.dumps(report, indent=2) + "\n").encode())
    return report


def build_card(config: dict[str, Any], card: dict[str, Any], weights: Path, fmt: str,
               precision: str, batch: int | None, **extra: Any) -> dict[str, Any]:
    """The card a runtime reads: how to feed the file and where it came from."""
    training_card = weights.with_suffix(".json")
    return {
        "name": card.get("name", weights.stem), "task": "generate", "format": fmt,
        "precision": precision, "method": card.get("method"),
        "inputs": [INPUT], "outputs": [OUTPUT], "latent_dim": config["latent_dim"],
        "latent_distribution": "standard normal", "output_shape": config["shape"],
        "layout": "NCHW" if len(config["shape"]) == 3 else "NC", "batch": batch,
        "value_range": [0.0, 1.0] if config.get("squash") else None,
        "data": (card.get("training") or {}).get("data"), "quality": card.get("quality"),
        "source": {"weights": weights.name, "weights_sha256": metadata.file_sha256(weights),
                   "training_card": training_card.name if training_card.is_file() else None,
                   "training_card_sha256": metadata.file_sha256(training_card)
                   if training_card.is_file() else None},
        "tools": metadata.tool_versions(), **extra,
    }


def _write_onnx(gen: nn.Module, config: dict[str, Any], card: dict[str, Any], weights: Path,
                path: Path, precision: str) -> dict[str, Any]:
    proto = export_onnx(gen)
    quantization = None
    if precision == "fp16":
        proto = onnx_export.to_fp16(proto)
        quantization = {"tool": "onnxconverter_common.float16.convert_float_to_float16",
                        "keep_io_types": True}
    file_card = build_card(config, card, weights, "onnx", precision, None,
                           opset=onnx_export.OPSET, quantization=quantization)
    metadata.embed_onnx(proto, file_card)
    onnx_export.save(proto, path)
    onnx_export.check_runs(path)
    metadata.write_sidecar(path, file_card)
    return _file_info(path, "onnx", precision, None, quantization)


def _write_tflite(data: bytes, config: dict[str, Any], card: dict[str, Any], weights: Path,
                  path: Path, precision: str) -> dict[str, Any]:
    quantization = (None if precision == "fp32" else
                    {"tool": "ai_edge_quantizer float_casting (fp16 weights, DEQUANTIZE)"})
    file_card = build_card(config, card, weights, "tflite", precision, TFLITE_BATCH,
                           quantization=quantization)
    atomic_write(path, metadata.embed_tflite(data, file_card))
    metadata.write_sidecar(path, file_card)
    return _file_info(path, "tflite", precision, TFLITE_BATCH, quantization)


def _file_info(path: Path, fmt: str, precision: str, batch: int | None,
               quantization: dict[str, Any] | None) -> dict[str, Any]:
    return {"file": path.name, "format": fmt, "precision": precision,
            "batch": batch or "dynamic", "size_bytes": path.stat().st_size,
            "quantization": quantization}


def export_onnx(gen: nn.Module) -> Any:
    """The fp32 ``onnx.ModelProto`` of ``gen`` with a dynamic batch, simplified and checked."""
    onnx = require("onnx", package="onnx", extra="export", purpose="ONNX export")
    onnxslim = require("onnxslim", package="onnxslim", extra="export",
                       purpose="simplifying the ONNX graph")
    buffer = io.BytesIO()
    example = torch.zeros(2, gen.latent_dim)
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated, not removed
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(gen.eval(), (example,), buffer, dynamo=False,
                          opset_version=onnx_export.OPSET, input_names=[INPUT],
                          output_names=[OUTPUT],
                          dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}})
    model = onnxslim.slim(onnx.load_model_from_string(buffer.getvalue()))
    onnx.checker.check_model(model, full_check=True)
    return model


def _convert_tflite(weights: Path) -> bytes:
    """fp32 TFLite bytes from a fresh worker process (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="edgerestore-gen-tflite-") as tmp:
        out = Path(tmp) / "fp32.tflite"
        proc = subprocess.run(
            [sys.executable, "-m", "edgerestore.export.generator_export", str(weights),
             str(out)], capture_output=True, text=True, timeout=tflite_export.WORKER_TIMEOUT,
            check=False)
        if proc.returncode != 0 or not out.is_file():
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
            raise tflite_export.ConversionError(f"litert-torch conversion of {weights.name} "
                                                f"failed:\n{tail}")
        return out.read_bytes()


def parity(gen: nn.Module, path: Path) -> dict[str, float]:
    """PyTorch vs the exported file on :data:`PARITY_SAMPLES` seeded latents."""
    from edgerestore.runtime.generate import ExportedGenerator

    exported = ExportedGenerator(path)
    z = exported.latents(PARITY_SAMPLES, seed=0)
    with torch.no_grad():
        ref = gen(torch.from_numpy(z)).numpy()
    out = exported.run(z)
    err = float(np.mean((out - ref) ** 2))
    peak = float(np.ptp(ref)) or 1.0
    return {"samples": PARITY_SAMPLES, "max_abs_diff": float(np.max(np.abs(out - ref))),
            "psnr_vs_torch": math.inf if err == 0 else 10 * math.log10(peak**2 / err),
            "card_task": read_metadata(path)["task"]}


def format_table(report: dict[str, Any]) -> str:
    """The parity table of a generator export: one row per file."""
    header = f"{'file':<44} {'KiB':>8} {'batch':>7} {'max|d|':>9} {'dB vs pt':>8} {'GPU':>4}"
    rows = [header, "-" * len(header)]
    for entry in report["files"]:
        p = entry["parity"]["latents"]
        gpu = entry.get("ops", {}).get("gpu_ready")
        vs = "inf" if math.isinf(p["psnr_vs_torch"]) else f"{p['psnr_vs_torch']:.1f}"
        rows.append(f"{entry['file']:<44} {entry['size_bytes'] / 1024:>8.1f} "
                    f"{entry['batch']!s:>7} {p['max_abs_diff']:>9.2e} {vs:>8} "
                    f"{'-' if gpu is None else ('ok' if gpu else 'NO'):>4}")
    return "\n".join(rows)


def _worker(weights: str, out: str) -> None:
    """Convert ``weights`` to an fp32 TFLite file with a fixed batch (worker process)."""
    import litert_torch

    gen, _ = load_weights(weights)
    sample = {INPUT: torch.zeros(TFLITE_BATCH, gen.latent_dim)}
    litert_torch.convert(NamedGenerator(gen).eval(), sample_kwargs=sample).export(out)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print("usage: python -m edgerestore.export.generator_export WEIGHTS OUT.tflite",
              file=sys.stderr)
        sys.exit(2)
    _worker(sys.argv[1], sys.argv[2])
