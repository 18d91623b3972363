"""Operator audit: which ops each exported file uses, and which would leave the phone GPU.

The LiteRT GPU delegate takes a graph prefix of supported ops; the first op it
rejects sends the rest to the CPU, so one stray op can cost most of the speed-up.
This is a static check against the delegate's op table (``model_builder.cc`` of
the LiteRT GPU delegate) plus its general limits: tensors of rank above 4,
dynamic shapes and 64-bit types. Some supported ops have parameter limits the
delegate only checks on the device; delegating on a phone remains the final word.

Dilated convolutions matter here: TensorFlow's converter used to lower them to
SPACE_TO_BATCH_ND + CONV_2D + BATCH_TO_SPACE_ND, which the delegate rejects;
litert-torch emits CONV_2D with dilation factors, which it runs.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

#: Builtin ops the LiteRT GPU delegate parses (OpenCL/OpenGL/Metal backends).
GPU_OPS = frozenset({
    "ABS", "ADD", "AVERAGE_POOL_2D", "BATCH_MATMUL", "CAST", "CONCATENATION", "CONV_2D",
    "COS", "CUMSUM", "DENSIFY", "DEPTH_TO_SPACE", "DEPTHWISE_CONV_2D", "DEQUANTIZE", "DIV",
    "ELU", "EQUAL", "EXP", "FLOOR", "FLOOR_DIV", "FLOOR_MOD", "FULLY_CONNECTED", "GATHER",
    "GREATER", "GREATER_EQUAL", "HARD_SWISH", "LEAKY_RELU", "LESS", "LESS_EQUAL", "LOG",
    "LOGICAL_AND", "LOGISTIC", "LSTM", "MAX_POOL_2D", "MAXIMUM", "MEAN", "MINIMUM",
    "MIRROR_PAD", "MUL", "NEG", "NOT_EQUAL", "ONE_HOT", "PACK", "PAD", "PADV2", "POW",
    "PRELU", "QUANTIZE", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD", "RELU", "RELU6",
    "RELU_N1_TO_1", "RELU_0_TO_1", "RESHAPE", "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR",
    "RSQRT", "SELECT_V2", "SIGN", "SIN", "SLICE", "SOFTMAX", "SPACE_TO_DEPTH", "SPLIT",
    "SPLIT_V", "SQRT", "SQUARE", "SQUARED_DIFFERENCE", "STRIDED_SLICE", "SUB", "SUM", "TANH",
    "TILE", "TRANSPOSE", "TRANSPOSE_CONV",
})
#: Why the usual offenders are rejected (anything else outside GPU_OPS gets a generic reason).
KNOWN_REASONS = {
    "GATHER_ND": "GATHER_ND is not supported by the GPU delegate",
    "SPACE_TO_BATCH_ND": "dilated conv lowered to SPACE_TO_BATCH_ND; the GPU delegate "
                         "rejects it",
    "BATCH_TO_SPACE_ND": "dilated conv lowered to BATCH_TO_SPACE_ND; the GPU delegate "
                         "rejects it",
    "BROADCAST_TO": "BROADCAST_TO is not in the GPU delegate's op table",
    "REVERSE_V2": "REVERSE_V2 (from torch.rot90/flip) is not in the GPU delegate's op table",
}
_64_BIT = {"INT64", "FLOAT64", "UINT64", "COMPLEX64"}


def audit_tflite(path: Path) -> dict[str, Any]:
    """``{"ops": {name: count}, "flags": [...], "gpu_ready": bool}`` for one ``.tflite``.

    ``ops`` also counts ``"CONV_2D (dilated)"``: the dilated convs that stayed single ops.
    """
    from ai_edge_litert import schema_py_generated as schema

    op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if k.isupper()}
    type_names = {v: k for k, v in vars(schema.TensorType).items() if k.isupper()}
    model = schema.ModelT.InitFromPackedBuf(bytearray(path.read_bytes()), 0)
    ops: Counter[str] = Counter()
    problems: Counter[tuple[str, str]] = Counter()
    for graph in model.subgraphs:
        for op in graph.operators:
            code = model.operatorCodes[op.opcodeIndex]
            name = op_names.get(max(code.builtinCode, code.deprecatedBuiltinCode), "CUSTOM")
            ops[name] += 1
            options = op.builtinOptions
            if name == "CONV_2D" and max(options.dilationHFactor, options.dilationWFactor) > 1:
                ops["CONV_2D (dilated)"] += 1
            if name not in GPU_OPS:
                problems[name, KNOWN_REASONS.get(
                    name, f"{name} is not in the GPU delegate's op table")] += 1
            for index in [*op.inputs, *op.outputs]:
                if index < 0:
                    continue
                tensor = graph.tensors[index]
                if tensor.shape is not None and len(tensor.shape) > 4:
                    problems[name, f"rank-{len(tensor.shape)} tensor (the GPU delegate "
                                   "handles rank <= 4)"] += 1
                if tensor.shapeSignature is not None and -1 in list(tensor.shapeSignature):
                    problems[name, "dynamic tensor shape"] += 1
                if type_names.get(tensor.type) in _64_BIT:
                    problems[name, f"{type_names[tensor.type]} tensor"] += 1
    flags = [{"op": op, "reason": reason, "count": count}
             for (op, reason), count in sorted(problems.items())]
    return {"ops": dict(sorted(ops.items())), "flags": flags, "gpu_ready": not flags}


def audit_onnx(path: Path) -> dict[str, Any]:
    """Operator counts of an ``.onnx`` file (its runtimes take any standard op)."""
    import onnx

    graph = onnx.load_model(str(path), load_external_data=False).graph
    return {"ops": dict(sorted(Counter(node.op_type for node in graph.node).items()))}
