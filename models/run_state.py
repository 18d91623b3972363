"""What every trainer shares: device choice, hardware record, resumable checkpoints.

A checkpoint is one ``torch.save`` payload written atomically (temporary file, then
rename), so a run killed with -9 at any moment leaves either the previous or the new
checkpoint, never a torn one. Resuming checks that the run's defining settings
match the checkpoint's, so a resumed run cannot silently change its recipe.
"""

from __future__ import annotations

import contextlib
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from edgerestore.errors import InputError


@dataclass(kw_only=True)
class RunSettings:
    """Settings every trainer has; each trainer's dataclass adds its own recipe."""

    data: str
    out: str
    run_dir: str
    channels: int = 3
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    checkpoint_every: int = 250
    dev_images: str | None = None
    dev_count: int = 4
    limit_images: int | None = None
    threads: int | None = None


#: Settings a resumed run may change: where and how it runs, not what it learns.
RESUME_MAY_CHANGE = {"device", "threads", "dev_images", "dev_count", "checkpoint_every", "amp"}


def resolve_device(device: str) -> str:
    """``auto`` picks CUDA when available."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda requested but CUDA is not available")
    return device


def hardware(device: str) -> dict[str, Any]:
    """Where a run trained, for the model card."""
    info = {"device": device, "torch": torch.__version__, "threads": torch.get_num_threads(),
            "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()}
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    if device == "cuda":
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write a checkpoint atomically."""
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path, settings: dict[str, Any], device: str) -> dict[str, Any]:
    """Load a checkpoint made with the same defining ``settings`` (else InputError)."""
    if not path.exists():
        raise InputError(f"{path}: no checkpoint to resume from")
    state = torch.load(path, map_location=device, weights_only=False)
    saved = state["settings"]
    diff = sorted(k for k in settings
                  if k not in RESUME_MAY_CHANGE and settings[k] != saved.get(k))
    if diff:
        raise InputError(f"{path}: checkpoint was made with different settings "
                         f"({', '.join(diff)}); start a new --run-dir or use the original options")
    return state
