"""The one suffix table of model files (``edgerestore.runtime.model_files``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from edgerestore.errors import InputError
from edgerestore.runtime.model_files import (
    EXPORTED_FORMATS,
    FORMAT_SUFFIXES,
    MODEL_SUFFIXES,
    WEIGHTS_SUFFIX,
    exported_format,
    is_exported,
    is_model_file,
    is_weights,
)

SRC = Path(__file__).resolve().parents[1] / "src" / "edgerestore"
#: Modules whose ``.safetensors`` literal is not a user's model file (cache chunks,
#: snapshot names), and the table itself.
NOT_MODEL_FILES = {"runtime/model_files.py", "models/train_distill.py",
                   "models/training_run.py"}


def test_the_table():
    assert WEIGHTS_SUFFIX == ".safetensors"
    assert EXPORTED_FORMATS == {".onnx": "onnx", ".tflite": "tflite"}
    assert FORMAT_SUFFIXES == {"onnx": ".onnx", "tflite": ".tflite"}
    assert MODEL_SUFFIXES == (".safetensors", ".onnx", ".tflite")


@pytest.mark.parametrize(("name", "fmt"), [
    ("m.onnx", "onnx"), ("M.ONNX", "onnx"), ("dir/m_int8_256x256.TFLite", "tflite"),
    ("m.tflite", "tflite"), ("m.safetensors", None), ("m.onnx.json", None), ("onnx", None),
    ("m", None)])
def test_exported_format_ignores_case(name, fmt):
    assert exported_format(name) == fmt
    assert exported_format(Path(name)) == fmt
    assert is_exported(name) is (fmt is not None)


def test_weights_and_model_files_ignore_case():
    assert is_weights("w.safetensors") and is_weights(Path("W.SafeTensors"))
    assert not is_weights("w.onnx") and not is_weights("w.safetensors.json")
    assert all(is_model_file(f"m{s.upper()}") for s in MODEL_SUFFIXES)
    assert not is_model_file("m.png")


def test_the_suffixes_are_spelled_in_one_place():
    """No other module compares against or builds a model-file suffix literal."""
    spelled = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        if rel in NOT_MODEL_FILES:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and node.value in MODEL_SUFFIXES):
                spelled.append(f"{rel}:{node.lineno} {node.value}")
    assert not spelled


def test_upper_case_names_take_the_same_paths(tmp_path):
    from edgerestore.adaptation import resolve_base
    from edgerestore.demo.report import file_label
    from edgerestore.runtime.demo_restore import unavailable

    with pytest.raises(InputError, match="an exported file cannot be trained"):
        resolve_base(str(tmp_path / "model.ONNX"))
    assert file_label("m_int8_256x256.TFLITE") == "TFLite int8"
    assert unavailable(Path("m.ONNX")) is None  # onnxruntime is in the base install
