"""The model card inside an exported file, read back without torch.

Every ``.onnx`` / ``.tflite`` written by ``edgerestore export`` carries a JSON card
(task, layout, tile size, noise model, training sigma, precision, provenance) so a
runtime can configure itself from the file alone. It lives in three places:

* ONNX: ``metadata_props`` under the key :data:`METADATA_KEY`, read here through
  onnxruntime (the device install has it; the ``onnx`` package is export-only);
* TFLite: a flatbuffer ``metadata`` entry of the same name, parsed with the schema
  module of ``ai-edge-litert`` when that is installed;
* a sidecar ``FILE.json`` next to every exported file (``model.tflite.json``), the
  fallback when the embedded copy cannot be read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgerestore.errors import ModelFileError, one_line
from edgerestore.runtime.model_card import ModelCard, parse_card, parse_card_text
from edgerestore.runtime.model_files import exported_format

METADATA_KEY = "edgerestore"


def sidecar_path(path: str | Path) -> Path:
    """``model.onnx`` -> ``model.onnx.json`` (the suffix stays, so formats never collide)."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The card of an exported ``.onnx`` or ``.tflite`` file (embedded, else the sidecar).

    It is validated against the one schema of :mod:`.model_card` whichever copy it came
    from; the whole JSON object is returned (provenance fields included).
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    fmt = exported_format(path)
    if fmt is None:
        raise ModelFileError(f"{path}: expected an .onnx or .tflite file")
    text = _embedded_onnx(path) if fmt == "onnx" else _embedded_tflite(path)
    if text is None:
        sidecar = sidecar_path(path)
        if not sidecar.is_file():
            raise ModelFileError(f"{path}: carries no edgerestore metadata and has no "
                                 f"{sidecar.name} beside it; re-export it with edgerestore")
        try:
            text = sidecar.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise ModelFileError(f"{sidecar}: cannot read it ({exc})") from exc
    return parse_card_text(text, str(path)).raw


def read_card(path: str | Path) -> ModelCard:
    """The validated, typed card of an exported file (see :mod:`.model_card`)."""
    path = Path(path)
    return parse_card(read_metadata(path), str(path))


def _embedded_onnx(path: Path) -> str | None:
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
        raise ModelFileError(f"{path}: not a loadable ONNX model ({one_line(exc)})") from exc
    return session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)


def _embedded_tflite(path: Path) -> str | None:
    try:
        from ai_edge_litert import schema_py_generated as schema
    except ImportError:
        return None
    data = path.read_bytes()
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ModelFileError(f"{path}: not a TFLite flatbuffer (no TFL3 identifier)")
    try:
        model = schema.Model.GetRootAsModel(data, 0)
        for i in range(model.MetadataLength()):
            entry = model.Metadata(i)
            if (entry.Name() or b"").decode() != METADATA_KEY:
                continue
            buffer = model.Buffers(entry.Buffer())
            if buffer.Offset() > 1:  # large models keep buffers after the flatbuffer
                return data[buffer.Offset() : buffer.Offset() + buffer.Size()].decode()
            return buffer.DataAsNumpy().tobytes().decode()
    except Exception as exc:  # flatbuffers reads arbitrary offsets of a damaged file
        raise ModelFileError(f"{path}: not a readable TFLite flatbuffer ({exc})") from exc
    return None
