"""The card every exported file carries: what it computes and where it came from.

A phone runtime has only the file, so the file has to say how to feed it: task
(``denoise_posterior``, ``denoise_raw_prior``, ``map_denoiser`` or ``dae``), input
names and layout, value range, tile size or dynamic shape, the receptive field a
tiler needs as overlap, the multiple tile origins must be (``tile_align``: AP-BSN's
stride and R3 mask period), the noise model and the sigma it was trained at. Provenance
(sha256 of the source weights and of its training card, tool versions, precision,
opset, quantiser) makes a file traceable to the run that made it. The network's own
facts (receptive field, tile alignment, square multiple, task, assumed training noise)
are asked of the model (:mod:`edgerestore.models.image_network`), never re-derived here
from its config.

The reader lives in :mod:`edgerestore.runtime.model_metadata` (torch-free); this
module builds the card and writes it into ONNX ``metadata_props``, into the TFLite
flatbuffer's ``metadata`` and into the sidecar ``FILE.json``.
"""

from __future__ import annotations

import hashlib
import json
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from edgerestore.console import log
from edgerestore.export.graph import GraphSpec
from edgerestore.models.image_network import DenoisingNetwork
from edgerestore.runtime.atomic import atomic_write
from edgerestore.runtime.model_card import SCHEMA_VERSION
from edgerestore.runtime.model_metadata import METADATA_KEY, sidecar_path
from edgerestore.runtime.noise import NoiseSpec

#: Distributions whose versions every card records (absent ones are left out).
TOOLS = ("edgerestore", "torch", "onnx", "onnxruntime", "onnxslim", "onnxconverter-common",
         "onnxscript", "litert-torch", "ai-edge-litert", "ai-edge-quantizer")


def tool_versions() -> dict[str, str]:
    """Installed versions of the export tool chain, read from package metadata only."""
    versions = {}
    for name in TOOLS:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return versions


def training_noise(model: DenoisingNetwork, card: dict[str, Any]) -> NoiseSpec:
    """The noise the network was trained on, from its training card.

    The card's ``noise`` spec (blind-spot training writes it), else its ``sigma`` for a
    Gaussian-noise model (MAP / DAE training writes only that), else what the network
    assumes (:attr:`DenoisingNetwork.assumed_training_noise`, logged).
    """
    if isinstance(card.get("noise"), str):
        return NoiseSpec.parse(card["noise"])
    sigma = card.get("sigma")
    if (model.noise_model == "gauss" and isinstance(sigma, (int, float))
            and not isinstance(sigma, bool) and sigma > 0):
        return NoiseSpec("gauss", float(sigma), float(sigma))
    log.warning("model card records no training noise; assuming %s",
                model.assumed_training_noise)
    return NoiseSpec.parse(model.assumed_training_noise)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_card(*, spec: GraphSpec, model: DenoisingNetwork, card: dict[str, Any],
               weights: Path, fmt: str, precision: str, tile: tuple[int, int] | None,
               opset: int | None = None, quantization: dict[str, Any] | None = None,
               ) -> dict[str, Any]:
    """The JSON card of one exported file (see the module docstring for the fields).

    What the network is (receptive field, tile alignment, square multiple, noise-level
    stride) is asked of ``model``; provenance comes from the files.
    """
    config = model.config()
    noise = training_noise(model, card)
    level_input = spec.level_input
    card_file = weights.with_suffix(".json")
    if tile is None:
        shape = (f"square, side a multiple of {spec.square_multiple}" if spec.square_multiple
                 else "any")
    else:
        shape = f"fixed {tile[0]}x{tile[1]}"
    return {
        "schema": SCHEMA_VERSION,
        "model_name": card.get("name", weights.stem),
        "task": spec.task,
        "format": fmt,
        "precision": precision,
        "arch": config.get("arch"),
        "backbone": (config.get("backbone") or {}).get("arch"),
        "inputs": list(spec.input_names),
        "output": spec.output_name,
        "layout": spec.layout,
        "channels": spec.channels,
        "out_channels": spec.out_channels,
        "value_range": [0.0, 1.0],
        "tile": list(tile) if tile else None,
        "dynamic_shape": tile is None,
        "input_shape": shape,
        "square_multiple": spec.square_multiple,
        "receptive_field": model.receptive_field,
        "tile_align": model.tile_align,
        "input_blend": None if model.input_blend is None else [list(p) for p in model.input_blend],
        "noise": {
            "model": noise.kind,
            "spec": str(noise),
            "training_sigma": noise.low if noise.kind == "gauss" and not noise.is_range
            else None,
            "level_range": [noise.low, noise.high],
            "level_units": {"gauss": "0-255 (sigma)", "camera": "ISO"}.get(noise.kind, "lambda"),
            "level_input": level_input,
            "level_input_units": None if level_input is None else
            ("noise std in [0, 1] units" if level_input == "sigma" else "lambda"),
            "sigma_mode": config.get("sigma_mode"),
            # The sub-image stride of the runtime's MAD estimate when no sigma is given.
            "sigma_estimate_stride": model.estimate_stride,
        },
        "source": {
            "weights": weights.name,
            "weights_sha256": file_sha256(weights),
            "training_card": card_file.name if card_file.is_file() else None,
            "training_card_sha256": file_sha256(card_file) if card_file.is_file() else None,
        },
        "opset": opset,
        "quantization": quantization,
        "tools": tool_versions(),
    }


def write_sidecar(path: Path, card: dict[str, Any]) -> None:
    atomic_write(sidecar_path(path), (json.dumps(card, indent=2) + "\n").encode())


def embed_onnx(model: Any, card: dict[str, Any]) -> None:
    """Put ``card`` into an ``onnx.ModelProto``'s ``metadata_props`` (replacing ours)."""
    kept = [p for p in model.metadata_props if p.key != METADATA_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(card)


def embed_tflite(data: bytes, card: dict[str, Any]) -> bytes:
    """``data`` with ``card`` as the flatbuffer metadata entry :data:`METADATA_KEY`.

    TFLite files have a generic name -> buffer metadata table (the TFLite Support
    "model card" is one such entry); interpreters ignore names they do not know.
    """
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(data))
    model.metadata = [m for m in (model.metadata or [])
                      if (m.name.decode() if isinstance(m.name, bytes) else m.name)
                      != METADATA_KEY]
    buffer = schema.BufferT()
    buffer.data = list(json.dumps(card).encode())
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = METADATA_KEY
    entry.buffer = len(model.buffers) - 1
    model.metadata.append(entry)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))
