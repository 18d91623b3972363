"""ONNX export: fp32 with dynamic shapes, fp16 and int8 derived from it.

Exporter choice. The dilated blind-spot net, the posterior/raw graphs and DnCNN go
through the TorchScript exporter (``dynamo=False``): it traces the module,
constant-folds the centreless kernels (built with ``torch.cat`` at forward time) into
plain Conv initialisers, and with ``dynamic_axes`` gives a graph that takes any
batch, height and width with nothing but Conv/LeakyRelu/Concat (plus the Bayesian
step's Slice/Mul/Add/Sub/Div/Max). The torch.export-based exporter produces the same
ops, but takes seconds longer and needs onnxscript.

Laine's U-Net needs the torch.export-based exporter (``dynamo=True``): the
TorchScript one has no ``aten::rot90``. Its rotations also require a square input,
and the exported ceil-to-32 padding is wrong for sides that are not multiples of 32
(onnxscript lowers Python's floor division of a negative size as a truncating
``Div``), so it is exported for square inputs whose side is a multiple of 32; the
runtime pads to that.

Every file is simplified with onnxslim and passes ``onnx.checker`` (full check).
fp16 uses onnxconverter-common with float32 inputs/outputs kept, so the calling
code does not change. int8 is onnxruntime's static QDQ quantisation (per-channel
symmetric int8 weights, int8 activations, min-max calibration) after its
``quant_pre_process``; the Bayesian step (nodes under ``/bayes/``) stays float32.
``activations="int16"`` gives the 16-bit-activation variant (opset 21 QDQ).
"""

from __future__ import annotations

import io
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgerestore.errors import ModelFileError, require
from edgerestore.export.calibration import samples
from edgerestore.export.graph import GraphSpec

#: Default opset: the newest every mainstream runtime (ORT Mobile, TensorRT, OpenVINO,
#: NNAPI and CoreML execution providers) accepts; int16 QDQ needs 21.
OPSET = 17
INT16_OPSET = 21
#: Name prefix of the nodes that int8/int16 quantisation leaves in float32.
FLOAT_SCOPE = "/bayes/"


def _onnx() -> Any:
    return require("onnx", package="onnx", extra="export", purpose="ONNX export")


def export_fp32(spec: GraphSpec, level: float, opset: int = OPSET) -> Any:
    """The fp32 ``onnx.ModelProto`` of ``spec``: exported, simplified and checked."""
    onnx = _onnx()
    onnxslim = require("onnxslim", package="onnxslim", extra="export",
                       purpose="simplifying the ONNX graph")
    side = 2 * spec.square_multiple if spec.square_multiple else 64
    example = spec.example_inputs(side, side, level)
    if spec.square_multiple:
        model = _export_dynamo(spec, example, opset)
    else:
        model = _export_torchscript(spec, example, opset)
    model = onnxslim.slim(model)
    onnx.checker.check_model(model, full_check=True)
    return model


def _export_torchscript(spec: GraphSpec, example: tuple[torch.Tensor, ...], opset: int) -> Any:
    h_axis, w_axis = (1, 2) if spec.layout == "NHWC" else (2, 3)
    image_axes = {0: "batch", h_axis: "height", w_axis: "width"}
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated, not removed
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(spec.module, example, buffer, dynamo=False, opset_version=opset,
                          input_names=list(spec.input_names), output_names=[spec.output_name],
                          dynamic_axes={spec.input_names[0]: image_axes,
                                        spec.output_name: image_axes})
    return _onnx().load_model_from_string(buffer.getvalue())


def _export_dynamo(spec: GraphSpec, example: tuple[torch.Tensor, ...], opset: int) -> Any:
    require("onnxscript", package="onnxscript", extra="export",
            purpose="exporting Laine's U-Net (torch.export-based ONNX exporter)")
    side = spec.square_multiple * torch.export.Dim("blocks", min=1, max=256)
    h_axis, w_axis = (1, 2) if spec.layout == "NHWC" else (2, 3)
    shapes: list[Any] = [{h_axis: side, w_axis: side}] + [None] * (len(example) - 1)
    program = torch.onnx.export(spec.module, example, dynamo=True, opset_version=max(opset, 18),
                                input_names=list(spec.input_names),
                                output_names=[spec.output_name], dynamic_shapes=tuple(shapes),
                                verbose=False)
    return program.model_proto


def to_fp16(model: Any) -> Any:
    """fp16 weights and compute, float32 inputs/outputs (Cast nodes at the boundary)."""
    float16 = require("onnxconverter_common.float16", package="onnxconverter-common",
                      extra="export", purpose="fp16 ONNX export")
    half = float16.convert_float_to_float16(model, keep_io_types=True)
    _onnx().checker.check_model(half, full_check=True)
    return half


class CalibrationReader:
    """onnxruntime's ``CalibrationDataReader`` protocol: one feed dict per sample."""

    def __init__(self, data: dict[str, np.ndarray]) -> None:
        self._feeds = iter(samples(data))

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)


def quantize(model: Any, data: dict[str, np.ndarray], activations: str = "int8") -> Any:
    """Static QDQ quantisation of an fp32 model (see the module docstring)."""
    onnx = _onnx()
    quant = require("onnxruntime.quantization", package="onnxruntime", extra="export",
                    purpose="int8 ONNX export")
    from onnxruntime.quantization.shape_inference import quant_pre_process

    reader = CalibrationReader(data)
    if activations == "int16":
        model = onnx.version_converter.convert_version(model, INT16_OPSET)
    with tempfile.TemporaryDirectory(prefix="edgerestore-quant-") as tmp:
        src, pre, out = (Path(tmp) / name for name in ("fp32.onnx", "pre.onnx", "q.onnx"))
        onnx.save_model(model, src)
        # Symbolic shape inference (meant for transformers) fails on the dynamic-shape
        # conv graphs and then drops a debug model into the *working directory*; ONNX's
        # own shape inference, which quant_pre_process still runs, is all a conv net needs.
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        float_nodes = [n.name for n in onnx.load_model(pre).graph.node
                       if FLOAT_SCOPE in n.name]
        quant.quantize_static(
            str(pre), str(out), reader, quant_format=quant.QuantFormat.QDQ, per_channel=True,
            activation_type=quant.QuantType.QInt16 if activations == "int16"
            else quant.QuantType.QInt8,
            weight_type=quant.QuantType.QInt8, nodes_to_exclude=float_nodes,
            calibrate_method=quant.CalibrationMethod.MinMax)
        quantized = onnx.load_model(out)
    onnx.checker.check_model(quantized, full_check=True)
    return quantized


def save(model: Any, path: Path) -> None:
    """Write ``model`` atomically as one self-contained file."""
    from edgerestore.runtime.atomic import atomic_write

    onnx = _onnx()
    atomic_write(path, lambda tmp: onnx.save_model(model, tmp))


def check_runs(path: Path) -> None:
    """Load ``path`` in onnxruntime: a file that does not load is an export failure."""
    import onnxruntime as ort

    try:
        ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises untyped errors for invalid graphs
        raise ModelFileError(f"{path}: onnxruntime cannot load the exported file ({exc})") \
            from exc
