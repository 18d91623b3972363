"""Shipped weights: safetensors with the architecture config inside, plus a JSON model card.

The config travels in the safetensors metadata so a weights file alone is enough to
rebuild its network; the card (``NAME.json`` beside ``NAME.safetensors``) records how
the weights were made and how good they are. Loading checks every tensor's name and
shape, so a file that does not match its architecture is a clear error, not a
silently half-initialised model.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from edgerestore.errors import ModelFileError
from edgerestore.models.registry import build_model, check_config
from edgerestore.runtime.atomic import atomic_write
from edgerestore.runtime.model_card import json_object, read_json_object

CONFIG_KEY = "edgerestore_config"


def card_path(weights: str | Path) -> Path:
    """The model card that belongs to a weights file."""
    return Path(weights).with_suffix(".json")


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def save_weights(model: nn.Module, config: dict[str, Any], path: str | Path,
                 card: dict[str, Any] | None = None) -> None:
    """Write ``path`` (safetensors, config in metadata) and, if given, its card, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous()
               for k, v in model.state_dict().items()}
    metadata = {CONFIG_KEY: json.dumps(config)}
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=metadata))
    if card is not None:
        card = {**card, "config": config, "weights_sha256": sha256(path)}
        text = json.dumps(card, indent=2) + "\n"
        atomic_write(card_path(path), text.encode())


def read_config(path: str | Path) -> dict[str, Any]:
    """The architecture config stored in a weights file."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such weights file")
    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(f"{path}: not a valid safetensors file ({exc})") from exc
    if CONFIG_KEY not in meta:
        raise ModelFileError(f"{path}: has no edgerestore config; not one of our weights files")
    config = json_object(meta[CONFIG_KEY], str(path), "its edgerestore config")
    check_config(config, str(path))
    return config


def load_weights(path: str | Path, device: str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the network described in ``path`` and load its weights (eval mode)."""
    config = read_config(path)
    model = build_model(config)
    try:
        tensors = load_file(str(path), device=device)
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(f"{path}: cannot read tensors ({exc})") from exc
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    wrong = sorted(k for k in set(expected) & set(tensors)
                   if expected[k].shape != tensors[k].shape)
    if missing or extra or wrong:
        raise ModelFileError(
            f"{path}: weights do not match the architecture "
            f"(missing {missing[:3]}, unexpected {extra[:3]}, wrong shape {wrong[:3]})")
    model.load_state_dict(tensors)
    return model.to(device).eval(), config


def load_card(path: str | Path) -> dict[str, Any]:
    """The JSON card of a weights file ({} if it has none; a card that is no JSON object
    is a :class:`ModelFileError`)."""
    card = card_path(path)
    return read_json_object(card, "model card") if card.exists() else {}
