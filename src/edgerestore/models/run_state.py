"""What every trainer shares: settings, device choice, run folder, safe checkpoints, lineage.

A checkpoint is one ``torch.save`` payload written atomically (unique temporary file,
then rename), so a run killed with -9 at any moment leaves either the previous or
the new checkpoint, never a torn one. It holds only tensors, numbers, strings, lists
and dicts, and is loaded with ``weights_only=True``: a planted pickle cannot run code.
The run folder is locked while a training uses it, so two trainings cannot overwrite
each other's checkpoints. Resuming checks that the run's defining settings match the
checkpoint's, so a resumed run cannot silently change its recipe.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pickle
import platform
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from edgerestore.errors import InputError, OutputError
from edgerestore.runtime.atomic import atomic_write
from edgerestore.runtime.atomic import check_output as check_writable
from edgerestore.runtime.model_files import WEIGHTS_SUFFIX, is_weights


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
    precision: str = "auto"
    channels_last: bool = True
    checkpoint_every: int = 250
    dev_images: str | None = None
    dev_count: int = 8
    limit_images: int | None = None
    threads: int | None = None
    budget_minutes: float | None = None
    init_from: str | None = None
    overwrite: bool = False
    keep_snapshots: bool = False

    @property
    def continues(self) -> str | None:
        """The weights file this run's model starts from, whose card's lineage it extends."""
        return self.init_from


#: Settings a resumed run may change: where and how fast it runs, not what it learns.
RESUME_MAY_CHANGE = {"device", "threads", "dev_images", "dev_count", "checkpoint_every", "amp",
                     "precision", "channels_last", "budget_minutes", "init_from", "steps",
                     "overwrite", "keep_snapshots"}


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
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def command_line() -> str:
    """The command that is running, as a user would retype it."""
    return " ".join(["edgerestore", *sys.argv[1:]]) if sys.argv else ""


@contextlib.contextmanager
def locked_run_dir(run_dir: Path) -> Iterator[Path]:
    """Create and lock ``run_dir`` for one training at a time (released on exit or death)."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        fh = open(run_dir / "lock", "a+")  # noqa: SIM115 - held for the whole run
    except OSError as exc:
        raise InputError(f"{run_dir}: cannot use as run folder ({exc.strerror})") from exc
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise InputError(f"{run_dir}: another training is using this run folder; "
                             "give this one its own --run-dir") from exc
        yield run_dir
    finally:
        fh.close()


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write a checkpoint atomically (tensors, numbers, strings, lists and dicts only)."""
    atomic_write(path, lambda tmp: torch.save(payload, tmp))


def load_checkpoint(path: Path, settings: dict[str, Any], device: str) -> dict[str, Any]:
    """Load a checkpoint made with the same defining ``settings`` (else InputError)."""
    if not path.exists():
        raise InputError(f"{path}: no checkpoint to resume from")
    try:
        with warnings.catch_warnings():
            # torch's note on a foreign pickle protocol: the refusal below says it all.
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            state = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's message here advises loading with weights_only=False "if you trust the
        # source": exactly the unsafe path this loader exists to close, so it is not shown.
        raise InputError(f"{path}: not a readable training checkpoint: not one this version "
                         "wrote (damaged, or holding objects besides tensors, numbers, text, "
                         "lists and dicts); refused, nothing in it was run") from exc
    except (RuntimeError, EOFError, OSError, ValueError,
            AttributeError, ImportError, IndexError, KeyError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: not a readable training checkpoint ({first[:200]})") from exc
    if not isinstance(state, dict) or not isinstance(state.get("settings"), dict):
        raise InputError(f"{path}: not a training checkpoint of this project")
    saved = state["settings"]
    diff = sorted(k for k in settings
                  if k not in RESUME_MAY_CHANGE and k in saved and settings[k] != saved[k])
    if diff:
        raise InputError(f"{path}: checkpoint was made with different settings "
                         f"({', '.join(diff)}); start a new --run-dir or use the original options")
    return state


def check_output(out: str | Path, overwrite: bool, *also: str | Path | None) -> Path:
    """Refuse a weights path that is not ``.safetensors``, exists, or cannot be written.

    Checked before training starts, so a bad ``--out`` costs nothing; writability is the
    runtime's probe (a real temporary file, so read-only mounts fail as root too).
    """
    path = Path(out)
    for target in (path, *(Path(p) for p in also if p)):
        if not is_weights(target):
            raise InputError(f"{target}: weights files must end in {WEIGHTS_SUFFIX}")
        if target.exists() and not overwrite:
            raise InputError(f"{target}: exists; pass --overwrite to replace it")
        with contextlib.suppress(OSError):
            target.parent.mkdir(parents=True, exist_ok=True)
        try:
            check_writable(target, what="weights")
        except OutputError as exc:
            raise InputError(f"{target.parent}: output folder is not writable ({exc})") from exc
    return path


def previous_lineage(init_from: str | None) -> list[dict[str, Any]]:
    """The training stages that made ``init_from``'s weights, read from its card."""
    if not init_from:
        return []
    from edgerestore.models.weights_io import load_card

    card = load_card(init_from)
    if isinstance(card.get("lineage"), list):
        return [dict(stage) for stage in card["lineage"] if isinstance(stage, dict)]
    training = card.get("training", {}) if isinstance(card.get("training"), dict) else {}
    # Cards written before the engine: DDE generators said samples_seen / data.
    return [{"command": card.get("command", ""),
             "images_seen": training.get("images_seen", training.get("samples_seen")),
             "hardware": card.get("hardware"), "precision": training.get("precision", "fp32"),
             "world_size": 1, "wall_time_s": card.get("wall_time_s"),
             "data": training.get("data_name", training.get("data")),
             "init_from": training.get("init_from")}] if card else []


def lineage_totals(stages: list[dict[str, Any]]) -> dict[str, Any]:
    """Images seen and wall time summed over every stage of a model's training."""
    return {"stages": len(stages),
            "images_seen": int(sum(s.get("images_seen") or 0 for s in stages)),
            "wall_time_s": round(float(sum(s.get("wall_time_s") or 0 for s in stages)), 1)}
