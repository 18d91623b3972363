"""Where the shipped weights live (package data of ``edgerestore.models``)."""

from __future__ import annotations

from pathlib import Path

from edgerestore.errors import ModelFileError
from edgerestore.runtime.model_files import WEIGHTS_SUFFIX

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def shipped_weights(name: str) -> Path:
    """Path of a shipped ``NAME.safetensors``; a clear error if it is not there."""
    path = WEIGHTS_DIR / f"{name}{WEIGHTS_SUFFIX}"
    if not path.is_file():
        available = sorted(p.stem for p in WEIGHTS_DIR.glob(f"*{WEIGHTS_SUFFIX}"))
        raise ModelFileError(f"no shipped weights named {name!r} (available: "
                             f"{', '.join(available) or 'none'})")
    return path
