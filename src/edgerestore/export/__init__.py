"""Conversion of trained models to ONNX and TFLite (needs the ``export`` extra).

Importing this package is cheap and torch-free (the CLI reads the choices below);
the modules that do the work import torch and the export tool chain.
"""

FORMATS = ("onnx", "tflite")
#: What ``--precision all`` exports.
PRECISIONS = ("fp32", "fp16", "int8")
#: Opt-in extra: int8 per-channel weights with int16 activations, for when int8 loses too
#: much (NPUs/DSPs and CPUs run it; the phone GPU does not).
EXTRA_PRECISIONS = ("a16w8",)
