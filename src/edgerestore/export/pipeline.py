"""The export stage end to end: weights in, ONNX/TFLite files plus ``report.json`` out.

For one ``.safetensors`` file it writes one model file per (format, precision[, tile]),
each with its card embedded and a sidecar ``FILE.json``, audits the operators, runs
the parity checks on real images, and summarises everything (sizes, parity, op
audit, tool versions, which quantiser made each int8 file, stage timings) in
``report.json``. The command line is a thin wrapper around :func:`run_export`.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgerestore.console import log, progress
from edgerestore.errors import InputError, ModelFileError
from edgerestore.export import (
    FORMATS,
    PRECISIONS,
    metadata,
    onnx_export,
    op_audit,
    parity,
    tflite_export,
)
from edgerestore.export.calibration import (
    calibration_set,
    clean_images,
    level_value,
    samples,
)
from edgerestore.export.graph import GraphSpec, build_graph
from edgerestore.runtime.atomic import atomic_write
from edgerestore.runtime.model_files import FORMAT_SUFFIXES, is_weights

ONNX_INT8 = {"tool": "onnxruntime.quantization.quantize_static", "format": "QDQ",
             "weights": "int8, per-channel, symmetric", "activations": "int8, min-max",
             "float32_part": "Bayesian step (nodes under /bayes/)"}
TFLITE_INT8 = {"tool": "litert_torch PT2EQuantizer (torchao prepare_pt2e/convert_pt2e)",
               "format": "TFLite full-integer network, float32 I/O",
               "weights": "int8, per-channel, symmetric",
               "activations": "int8, histogram observer",
               "float32_part": "Bayesian step; QUANTIZE/DEQUANTIZE at the I/O"}
A16W8 = {"onnx": {**ONNX_INT8, "activations": "int16, min-max (opset 21 QDQ)"},
         "tflite": {"tool": "ai_edge_quantizer static min_max_uniform_quantize",
                    "format": "TFLite 16x8 (int16 activations), float32 I/O",
                    "weights": "int8, per-channel, symmetric",
                    "activations": "int16, symmetric, min-max",
                    "float32_part": "Bayesian step; LEAKY_RELU (no int16 kernel in the "
                                    "quantizer); QUANTIZE/DEQUANTIZE at the I/O"}}
FP16 = {"onnx": {"tool": "onnxconverter_common.float16.convert_float_to_float16",
                 "keep_io_types": True},
        "tflite": {"tool": "ai_edge_quantizer float_casting (fp16 weights, DEQUANTIZE)"}}


@dataclass
class ExportOptions:
    weights: Path
    out: Path
    formats: tuple[str, ...] = FORMATS
    precisions: tuple[str, ...] = PRECISIONS
    tiles: tuple[tuple[int, int], ...] = ((256, 256),)
    calib: Path | None = None
    calib_count: int = 32
    raw: bool = False
    nhwc: bool = False
    data: Path | None = None
    data_limit: int | None = None
    #: Explicit (format, precision) files instead of formats x precisions (the packaged
    #: models need ONNX fp32 + int8 and TFLite int8 only, not a TFLite fp32 conversion).
    pairs: tuple[tuple[str, str], ...] | None = None
    #: R3 passes of an AP-BSN model's exported inference (None: as its weights say).
    r3_steps: int | None = None

    def wanted(self) -> tuple[tuple[str, str], ...]:
        return self.pairs or tuple((f, p) for f in self.formats for p in self.precisions)


@dataclass
class Exported:
    """One written file and what the report says about it."""

    path: Path
    fmt: str
    precision: str
    tile: tuple[int, int] | None
    info: dict[str, Any] = field(default_factory=dict)


class Model:
    """The loaded weights, their card, the graph to export and its training noise."""

    def __init__(self, opts: ExportOptions) -> None:
        from edgerestore.models.weights_io import load_card, load_weights

        if not is_weights(opts.weights):
            raise InputError(f"{opts.weights}: expected a .safetensors weights file")
        self.module, self.config = load_weights(opts.weights)
        if opts.r3_steps is not None:
            if not hasattr(self.module, "set_r3_steps"):
                raise InputError(f"{opts.weights}: --r3 applies to AP-BSN (pixel-shuffle) "
                                 "models only")
            self.module.set_r3_steps(opts.r3_steps)
            self.config = self.module.config()
        try:
            self.card = load_card(opts.weights)
        except ValueError as exc:
            raise ModelFileError(f"{opts.weights.with_suffix('.json')}: model card is not "
                                 f"valid JSON ({exc})") from exc
        self.spec: GraphSpec = build_graph(self.module, self.config, raw=opts.raw,
                                           nhwc=opts.nhwc)
        self.noise = metadata.training_noise(self.module, self.card)
        self.level = level_value(self.noise, (self.noise.low + self.noise.high) / 2)
        self.stem = opts.weights.stem + ("_raw" if opts.raw else "") + \
            ("_nhwc" if opts.nhwc else "")
        self._onnx_fp32: Any = None

    def onnx_fp32(self) -> Any:
        """The fp32 ONNX model, exported once for all precisions."""
        if self._onnx_fp32 is None:
            self._onnx_fp32 = onnx_export.export_fp32(self.spec, self.level)
        return self._onnx_fp32

    def card_for(self, opts: ExportOptions, item: Exported, **extra: Any) -> dict[str, Any]:
        return metadata.build_card(spec=self.spec, model=self.module, card=self.card,
                                   weights=opts.weights, fmt=item.fmt,
                                   precision=item.precision, tile=item.tile, **extra)


def check_options(opts: ExportOptions) -> None:
    for h, w in opts.tiles:
        if not (16 <= h <= 4096 and 16 <= w <= 4096):
            raise InputError(f"--tile {h}x{w}: sides must be between 16 and 4096")
    if opts.calib is not None and not opts.calib.is_dir():
        raise InputError(f"--calib {opts.calib}: not a folder of images")
    if opts.data is not None and not opts.data.is_dir():
        raise InputError(f"--data {opts.data}: not a folder of images")
    if opts.calib_count < 1:
        raise InputError("--calib-count must be at least 1")
    if opts.data_limit is not None and opts.data_limit < 1:
        raise InputError("--data-limit must be at least 1")


def run_export(opts: ExportOptions) -> dict[str, Any]:
    """Export, audit and check every requested file; returns (and writes) the report."""
    check_options(opts)
    from edgerestore.export.generator_export import is_generator, run_generator_export

    if is_weights(opts.weights) and is_generator(opts.weights):
        return run_generator_export(opts)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    model = Model(opts)
    if model.spec.square_multiple:
        bad = [t for t in opts.tiles if t[0] != t[1] or t[0] % model.spec.square_multiple]
        if bad:
            raise InputError(f"Laine's U-Net needs square tiles whose side is a multiple of "
                             f"{model.spec.square_multiple}, got {bad[0][0]}x{bad[0][1]}")
    opts.out.mkdir(parents=True, exist_ok=True)
    timings["load"] = time.perf_counter() - start
    calib_images = None
    if {"int8", "a16w8"} & {p for _, p in opts.wanted()}:
        calib_images = clean_images(opts.calib, model.spec.channels, opts.calib_count)
    steps = _plan(opts)
    written: list[Exported] = []
    for label, action in progress(steps, desc="export", unit="step"):
        t0 = time.perf_counter()
        written.append(action(opts, model, calib_images, written))
        timings[label] = time.perf_counter() - t0
        log.info("wrote %s (%.1f s)", written[-1].path.name, timings[label])
    t0 = time.perf_counter()
    for item in progress(written, desc="op audit", unit="file"):
        item.info["ops"] = (op_audit.audit_tflite(item.path) if item.fmt == "tflite"
                            else op_audit.audit_onnx(item.path))
    timings["op_audit"] = time.perf_counter() - t0
    _parity(opts, model, written, timings)
    report = _report(opts, model, written, timings)
    atomic_write(opts.out / "report.json", (json.dumps(report, indent=2) + "\n").encode())
    return report


def _plan(opts: ExportOptions) -> list[tuple[str, Any]]:
    wanted = opts.wanted()
    steps: list[tuple[str, Any]] = [(f"onnx {precision}", _onnx_step(precision))
                                    for fmt, precision in wanted if fmt == "onnx"]
    for tile in opts.tiles:
        steps += [(f"tflite {precision} {tile[0]}x{tile[1]}", _tflite_step(precision, tile))
                  for fmt, precision in wanted if fmt == "tflite"]
    return steps


def _onnx_step(precision: str):
    def step(opts: ExportOptions, model: Model, calib_images, written: list[Exported]):
        path = opts.out / f"{model.stem}_{precision}{FORMAT_SUFFIXES['onnx']}"
        item = Exported(path, "onnx", precision, None)
        opset = onnx_export.OPSET
        quantization = None
        fp32 = model.onnx_fp32()
        if precision == "fp32":
            proto = fp32
        elif precision == "fp16":
            proto, quantization = onnx_export.to_fp16(fp32), FP16["onnx"]
        else:
            data = calibration_set(calib_images, model.spec, model.noise, opts.tiles[0],
                                   opts.calib_count)
            wide = precision == "a16w8"
            proto = onnx_export.quantize(fp32, data, "int16" if wide else "int8")
            opset = onnx_export.INT16_OPSET if wide else opset
            quantization = {**(A16W8["onnx"] if wide else ONNX_INT8),
                            "calibration": _calib_info(opts, data)}
        card = model.card_for(opts, item, opset=opset, quantization=quantization)
        metadata.embed_onnx(proto, card)
        onnx_export.save(proto, path)
        onnx_export.check_runs(path)
        metadata.write_sidecar(path, card)
        return item

    return step


def _tflite_step(precision: str, tile: tuple[int, int]):
    def step(opts: ExportOptions, model: Model, calib_images, written: list[Exported]):
        name = f"{model.stem}_{precision}_{tile[0]}x{tile[1]}{FORMAT_SUFFIXES['tflite']}"
        item = Exported(opts.out / name, "tflite", precision, tile)
        quantization = None
        calibration = None
        if precision in ("int8", "a16w8"):
            calibration = calibration_set(calib_images, model.spec, model.noise, tile,
                                          opts.calib_count)
        if precision in ("fp16", "a16w8"):
            source = next((w.path for w in written if w.fmt == "tflite"
                           and w.precision == "fp32" and w.tile == tile), None)
            fp32 = source.read_bytes() if source else _fp32_tflite(opts, model, tile)
            if precision == "fp16":
                data, quantization = tflite_export.to_fp16(fp32), FP16["tflite"]
            else:
                data = tflite_export.quantize_a16w8(fp32, samples(calibration))
                quantization = {**A16W8["tflite"], "calibration": _calib_info(opts, calibration)}
        else:
            if precision == "int8":
                quantization = {**TFLITE_INT8, "calibration": _calib_info(opts, calibration)}
            tflite_export.convert(opts.weights, item.path, tile=tile, level=model.level,
                                  raw=opts.raw, nhwc=opts.nhwc, precision=precision,
                                  calibration=calibration)
            data = tflite_export.float_io(item.path.read_bytes())
        card = model.card_for(opts, item, quantization=quantization)
        atomic_write(item.path, metadata.embed_tflite(data, card))
        metadata.write_sidecar(item.path, card)
        return item

    return step


def _fp32_tflite(opts: ExportOptions, model: Model, tile: tuple[int, int]) -> bytes:
    """An fp32 conversion for fp16 when fp32 itself was not requested."""
    with tempfile.TemporaryDirectory(prefix="edgerestore-fp32-") as tmp:
        path = Path(tmp) / "fp32.tflite"
        tflite_export.convert(opts.weights, path, tile=tile, level=model.level, raw=opts.raw,
                              nhwc=opts.nhwc, precision="fp32")
        return path.read_bytes()


def _calib_info(opts: ExportOptions, data: dict[str, np.ndarray]) -> dict[str, Any]:
    first = next(iter(data.values()))
    return {"source": str(opts.calib) if opts.calib else "scikit-image colour samples",
            "crops": int(first.shape[0]), "crop_shape": list(first.shape[1:]),
            "noise": "training noise of the model, seed 0"}


def _parity(opts: ExportOptions, model: Model, written: list[Exported],
            timings: dict[str, float]) -> None:
    sets = [("samples", None, None)]
    if opts.data is not None:
        sets.append((opts.data.name, opts.data, opts.data_limit))
    t0 = time.perf_counter()
    for set_name, folder, limit in sets:
        images = clean_images(folder, model.spec.channels, limit)
        by_tile: dict[tuple[int, int], parity.Tiles] = {}
        for item in progress(written, desc=f"parity {set_name}", unit="file"):
            tile = item.tile or opts.tiles[0]
            if tile not in by_tile:
                by_tile[tile] = parity.Tiles(model.spec, model.noise, images, tile)
            tiles = by_tile[tile]
            if not tiles.items:
                continue
            item.info.setdefault("parity", {})[set_name] = tiles.compare(
                parity.runner_for(item.path))
    timings["parity"] = time.perf_counter() - t0


def _report(opts: ExportOptions, model: Model, written: list[Exported],
            timings: dict[str, float]) -> dict[str, Any]:
    files = []
    for item in written:
        card = json.loads((item.path.parent / (item.path.name + ".json")).read_text())
        files.append({"file": item.path.name, "format": item.fmt, "precision": item.precision,
                      "tile": list(item.tile) if item.tile else "dynamic",
                      "size_bytes": item.path.stat().st_size, "opset": card.get("opset"),
                      "quantization": card.get("quantization"), **item.info})
    return {
        "model": opts.weights.name,
        "weights_sha256": metadata.file_sha256(opts.weights),
        "task": model.spec.task,
        "layout": model.spec.layout,
        "noise": str(model.noise),
        "tools": metadata.tool_versions(),
        "exporters": {"onnx": "torch.onnx.export "
                              + ("dynamo=True" if model.spec.square_multiple
                                 else "dynamo=False (TorchScript)") + " + onnxslim",
                      "tflite": "litert_torch.convert, one worker process per file"},
        "targets": {"fp32_psnr_vs_torch": 60.0, "fp16_psnr_vs_torch": 45.0,
                    "int8_max_denoise_psnr_loss": 0.1},
        "files": files,
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
    }
