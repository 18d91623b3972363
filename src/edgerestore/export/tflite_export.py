"""TFLite export with litert-torch: fixed tiles, fp32, fp16 and int8 with float I/O.

* Fixed tiles only (default 256x256): LiteRT's GPU delegate and most NPUs need static
  shapes, and litert-torch's dynamic-shape output does not run reliably; the runtime
  tiles images (with the receptive field from the card as overlap).
* fp32 is converted in a fresh worker process per file
  (:mod:`edgerestore.export.tflite_worker`): litert-torch caches constants across
  ``convert()`` calls and can give a later model an earlier one's weights.
* fp16 is the standard TFLite float16 format made from the fp32 file by
  ai-edge-quantizer's float-casting recipe: fp16 weights behind DEQUANTIZE ops,
  which the GPU delegate folds into fp16 compute and CPUs run in fp32.
* int8 is PT2E full-integer quantisation in the worker (see there). The converter
  then makes int8 whatever tensor a Quantize op feeds, graph inputs and outputs
  included, so :func:`float_io` puts float32 QUANTIZE/DEQUANTIZE boundaries back:
  callers feed and read float32 in [0, 1] whatever the precision.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from edgerestore.errors import require

#: Seconds one conversion may take before the worker is considered stuck.
WORKER_TIMEOUT = 1800


class ConversionError(RuntimeError):
    """litert-torch failed; the message carries the end of the worker's output."""


def convert(weights: Path, out: Path, *, tile: tuple[int, int], level: float, raw: bool,
            nhwc: bool, precision: str, calibration: dict[str, np.ndarray] | None = None,
            ) -> None:
    """Convert ``weights`` to an fp32 or int8 ``.tflite`` at ``out`` in a worker process."""
    with tempfile.TemporaryDirectory(prefix="edgerestore-tflite-") as tmp:
        calib_path = None
        if calibration is not None:
            calib_path = str(Path(tmp) / "calibration.npz")
            np.savez(calib_path, **calibration)
        job = {"weights": str(weights), "raw": raw, "nhwc": nhwc, "tile": list(tile),
               "level": level, "precision": precision, "calibration": calib_path,
               "out": str(out)}
        job_path = Path(tmp) / "job.json"
        job_path.write_text(json.dumps(job))
        proc = subprocess.run(
            [sys.executable, "-m", "edgerestore.export.tflite_worker", str(job_path)],
            capture_output=True, text=True, timeout=WORKER_TIMEOUT, check=False)
    if proc.returncode != 0 or not out.is_file():
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
        raise ConversionError(f"litert-torch conversion to {out.name} failed:\n{tail}")


def to_fp16(data: bytes) -> bytes:
    """fp16 weights (DEQUANTIZE to float32 at run time) from an fp32 model."""
    quantizer = require("ai_edge_quantizer.quantizer", package="ai-edge-quantizer",
                        extra="export", purpose="fp16 TFLite export")
    recipe = [{"regex": ".*", "operation": "*", "algorithm_key": "float_casting",
               "op_config": {"weight_tensor_config": {"num_bits": 16, "dtype": "FLOAT"},
                             "compute_precision": "FLOAT", "explicit_dequantize": True}}]
    with tempfile.TemporaryDirectory(prefix="edgerestore-fp16-") as tmp:
        src = Path(tmp) / "fp32.tflite"
        src.write_bytes(data)
        result = quantizer.Quantizer(str(src), recipe).quantize(
            enable_progress_bar=False, enable_progress_report=False)
    return bytes(result.quantized_model)


def quantize_a16w8(data: bytes, calibration: list[dict[str, np.ndarray]]) -> bytes:
    """int16 activations, per-channel int8 weights, from an fp32 model (ai-edge-quantizer).

    litert-torch's converter cannot make this variant (it has no int16 CONCATENATION),
    so ai-edge-quantizer quantises the converted fp32 file instead, min-max calibrated
    with the interpreter; ops it has no int16 kernel for (LEAKY_RELU) stay float
    between QUANTIZE/DEQUANTIZE pairs, and the Bayesian step (tensors named after
    ``GaussianPosterior``) is excluded. Inputs/outputs come back int16: see
    :func:`float_io`.
    """
    quantizer = require("ai_edge_quantizer.quantizer", package="ai-edge-quantizer",
                        extra="export", purpose="a16w8 TFLite export")
    tensor = {"symmetric": True, "dtype": "INT"}
    recipe = [{"regex": ".*", "operation": "*", "algorithm_key": "min_max_uniform_quantize",
               "op_config": {
                   "activation_tensor_config": {**tensor, "num_bits": 16,
                                                "granularity": "TENSORWISE"},
                   "weight_tensor_config": {**tensor, "num_bits": 8,
                                            "granularity": "CHANNELWISE"},
                   "compute_precision": "INTEGER", "explicit_dequantize": False}},
              {"regex": "GaussianPosterior", "operation": "*", "algorithm_key": "no_quantize",
               "op_config": {}}]
    with tempfile.TemporaryDirectory(prefix="edgerestore-a16w8-") as tmp:
        src = Path(tmp) / "fp32.tflite"
        src.write_bytes(data)
        engine = quantizer.Quantizer(str(src), recipe)
        ranges = engine.calibrate({"serving_default": calibration})
        result = engine.quantize(ranges, enable_progress_bar=False,
                                 enable_progress_report=False)
    return float_io(bytes(result.quantized_model))


def float_io(data: bytes) -> bytes:
    """Give integer graph inputs/outputs float32 twins behind QUANTIZE/DEQUANTIZE ops."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(data))
    graph = model.subgraphs[0]
    integer = {schema.TensorType.INT8: 2, schema.TensorType.INT16: 3}  # -> op version
    remap: dict[int, int] = {}

    def opcode(builtin: int, version: int) -> int:
        for index, code in enumerate(model.operatorCodes):
            if flatbuffer_utils.get_builtin_code_from_operator_code(code) == builtin:
                code.version = max(code.version, version)
                return index
        code = schema.OperatorCodeT()
        code.builtinCode, code.deprecatedBuiltinCode, code.version = builtin, builtin, version
        model.operatorCodes.append(code)
        return len(model.operatorCodes) - 1

    def float_twin(index: int) -> int:
        source = graph.tensors[index]
        twin = schema.TensorT()
        twin.name, twin.shape, twin.shapeSignature = source.name, source.shape, \
            source.shapeSignature
        twin.type, twin.buffer = schema.TensorType.FLOAT32, 0
        source.name = (source.name.decode() if isinstance(source.name, bytes)
                       else source.name) + "_quantized"
        graph.tensors.append(twin)
        remap[index] = len(graph.tensors) - 1
        return remap[index]

    def boundary_op(builtin: int, version: int, src: int, dst: int) -> Any:
        op = schema.OperatorT()
        op.opcodeIndex, op.inputs, op.outputs = opcode(builtin, version), [src], [dst]
        return op

    for position, index in enumerate(list(graph.inputs)):
        version = integer.get(graph.tensors[index].type)
        if version:
            graph.inputs[position] = float_twin(index)
            graph.operators.insert(0, boundary_op(schema.BuiltinOperator.QUANTIZE, version,
                                                  remap[index], index))
    for position, index in enumerate(list(graph.outputs)):
        version = integer.get(graph.tensors[index].type)
        if version:
            graph.outputs[position] = float_twin(index)
            graph.operators.append(boundary_op(schema.BuiltinOperator.DEQUANTIZE, version,
                                               index, remap[index]))
    if not remap:
        return data
    for signature in model.signatureDefs or []:
        for entry in [*signature.inputs, *signature.outputs]:
            entry.tensorIndex = remap.get(entry.tensorIndex, entry.tensorIndex)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))
