"""Which files are models: the one suffix table for weights and exported files.

Trained weights are ``.safetensors`` (read through torch); exported models are
``.onnx`` or ``.tflite`` (read by the torch-free runtime, the backend chosen by the
suffix). Every place that accepts, dispatches on or names such a file asks here, so a
new exported format is one entry in :data:`EXPORTED_FORMATS` and a file the user named
``MODEL.ONNX`` is treated as ``model.onnx`` everywhere or nowhere.
"""

from __future__ import annotations

from pathlib import Path

#: Trained weights (torch); the JSON card sits beside them as ``NAME.json``.
WEIGHTS_SUFFIX = ".safetensors"
#: Exported model files (torch-free runtime): suffix -> format name.
EXPORTED_FORMATS = {".onnx": "onnx", ".tflite": "tflite"}
#: The suffix of each exported format name (``"onnx"`` -> ``".onnx"``).
FORMAT_SUFFIXES = {fmt: suffix for suffix, fmt in EXPORTED_FORMATS.items()}
EXPORTED_SUFFIXES = tuple(EXPORTED_FORMATS)
#: Every model file a command accepts: weights first, then the exported formats.
MODEL_SUFFIXES = (WEIGHTS_SUFFIX, *EXPORTED_SUFFIXES)


def model_suffix(path: str | Path) -> str:
    """The suffix of ``path`` in lower case (``""`` when it has none)."""
    return Path(path).suffix.lower()


def exported_format(path: str | Path) -> str | None:
    """``"onnx"`` / ``"tflite"`` for an exported file name (any case), else None."""
    return EXPORTED_FORMATS.get(model_suffix(path))


def is_exported(path: str | Path) -> bool:
    """An ``.onnx`` / ``.tflite`` name (any case)."""
    return exported_format(path) is not None


def is_weights(path: str | Path) -> bool:
    """A ``.safetensors`` name (any case)."""
    return model_suffix(path) == WEIGHTS_SUFFIX


def is_model_file(path: str | Path) -> bool:
    """Any suffix of :data:`MODEL_SUFFIXES` (any case)."""
    return model_suffix(path) in MODEL_SUFFIXES
