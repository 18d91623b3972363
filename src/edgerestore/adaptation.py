"""Adapt a real-noise denoiser to one's own noisy photos, then export it for the device.

The promise of self-supervised denoising is that a user's own photos are the training
set: no clean image is needed anywhere. :func:`adapt` continues a real-noise model
(AP-BSN, :class:`~edgerestore.models.pd_blindspot.PDBlindSpotNet`) on the given noisy
photos with its own training settings (pixel-shuffle stride, L1 loss against the
noisy input) for a time budget, and exports the result as one runtime file
(``.onnx`` or ``.tflite``) that ``edgerestore denoise --model`` and the phone demo take.

Why only AP-BSN models: they are the ones trained on real noisy photos without a
noise model; a Gaussian-head model fine-tuned on camera photos would learn a wrong
noise model (measured for the camera-noise issue: 0.4-2.2 dB below the shipped model).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from edgerestore.errors import InputError
from edgerestore.runtime.atomic import atomic_write
from edgerestore.runtime.image_files import list_images
from edgerestore.runtime.model_files import (
    WEIGHTS_SUFFIX,
    exported_format,
    is_exported,
    is_weights,
)

#: The model adapted when none is named.
DEFAULT_BASE = "blindspot_real_rgb"
#: Fine-tuning starts from a trained model: a smaller step than a fresh run's.
DEFAULT_LR = 1e-4
#: AP-BSN's patch and batch (Lee et al. 2022): 120x120 crops split into 5x5 sub-images.
DEFAULT_PATCH, DEFAULT_BATCH = 120, 8


@dataclass(frozen=True)
class AdaptResult:
    """What :func:`adapt` wrote and how long it trained."""

    model: Path  #: the exported runtime file
    weights: Path  #: the adapted .safetensors (card beside), to continue or re-export
    patches: int  #: training patches seen in this adaptation
    minutes: float  #: training wall time


def resolve_base(name_or_path: str) -> Path:
    """A shipped model name or a ``.safetensors`` path -> the weights to start from.

    Exported files (``.onnx`` / ``.tflite``) hold no trainable weights in a form the
    trainer reads, so they are refused with the way out.
    """
    from edgerestore.models.shipped import shipped_weights

    path = Path(name_or_path)
    if is_exported(path):
        raise InputError(f"--from {name_or_path}: an exported file cannot be trained; give "
                         "its .safetensors weights or a shipped model name")
    if is_weights(path):
        if not path.is_file():
            raise InputError(f"--from {name_or_path}: no such weights file")
        return path
    return shipped_weights(name_or_path)


def collect_photos(inputs: list[Path], folder: Path) -> list[Path]:
    """The training folders for ``inputs`` (folders, or single photos linked into
    ``folder``): the trainer reads folders of images."""
    folders, files = [], []
    for item in inputs:
        if item.is_dir():
            if not list_images(item):
                raise InputError(f"{item}: contains no images")
            folders.append(item)
        elif item.is_file():
            files.append(item)
        else:
            raise InputError(f"{item}: no such file or folder")
    if files:
        folder.mkdir(parents=True, exist_ok=True)
        for i, f in enumerate(files):
            (folder / f"{i:05d}_{f.name}").symlink_to(f.resolve())
        folders.append(folder)
    return folders


def adapt(inputs: list[Path], output: Path, *, base: str = DEFAULT_BASE,
          budget_minutes: float | None = 5.0, steps: int | None = None,
          run_dir: Path | None = None, weights_out: Path | None = None,
          lr: float = DEFAULT_LR, patch: int = DEFAULT_PATCH, batch: int = DEFAULT_BATCH,
          precision: str = "fp32", train_precision: str = "auto", threads: int | None = None,
          seed: int = 0, overwrite: bool = False) -> AdaptResult:
    """Fine-tune ``base`` on the noisy photos ``inputs`` and export it to ``output``.

    ``output``'s suffix picks the format: ``.onnx`` (``precision`` fp32 or int8) or
    ``.tflite`` (int8, 256x256 tiles, as the packaged files); ``train_precision`` is
    the training's autocast (auto / fp32 / bf16). The weights go to
    ``weights_out`` (default: beside ``output``, ``.safetensors``) so a later run can
    continue from them with ``--from``.
    """
    from edgerestore.models.weights_io import read_config

    fmt = exported_format(output)
    if fmt is None:
        raise InputError(f"-o {output}: give a .onnx or .tflite file name")
    if fmt == "tflite" and precision != "int8":
        raise InputError("a .tflite output is int8 (--precision int8)")
    if output.exists() and not overwrite:
        raise InputError(f"{output} exists (--overwrite replaces it)")
    if budget_minutes is None and steps is None:
        raise InputError("give --budget-minutes or --steps")
    weights_in = resolve_base(base)
    config = read_config(weights_in)
    if config.get("arch") != "pd_blindspot":
        raise InputError(f"--from {base}: adapt continues a real-noise (pixel-shuffle "
                         f"blind-spot) model, not a {config.get('arch')!r} model")
    weights_out = weights_out or output.with_suffix(WEIGHTS_SUFFIX)
    if weights_out.exists() and not overwrite:
        raise InputError(f"{weights_out} exists (--overwrite replaces it)")
    with contextlib.ExitStack() as stack:
        if run_dir is None:  # checkpoints only matter while it runs
            run_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(
                prefix="edgerestore-adapt-")))
        card = _train(config, inputs, run_dir, weights_in, weights_out, budget_minutes, steps,
                      lr, patch, batch, train_precision, threads, seed)
    exported = export_one(weights_out, output, fmt, precision, int(config["r3_steps"]))
    return AdaptResult(exported, weights_out, int(card["training"]["images_seen"]),
                       float(card["wall_time_s"]) / 60.0)


def _train(config: dict, inputs: list[Path], run_dir: Path, weights_in: Path,
           weights_out: Path, budget_minutes: float | None, steps: int | None, lr: float,
           patch: int, batch: int, train_precision: str, threads: int | None, seed: int
           ) -> dict:
    """One AP-BSN training stage continuing ``weights_in`` with its own settings."""
    from edgerestore.models.train_blindspot import BlindSpotTraining, train

    folders = collect_photos(inputs, run_dir / "photos")
    backbone = {k: v for k, v in config["backbone"].items()
                if k not in ("arch", "in_channels", "out_channels")}
    cfg = BlindSpotTraining(
        data=[str(f) for f in folders], out=str(weights_out), run_dir=str(run_dir / "run"),
        channels=int(config["channels"]), noise="gauss25", already_noisy=True,
        arch=config["backbone"]["arch"],
        backbone=backbone,
        pd_stride=int(config["train_stride"]), init_from=str(weights_in),
        budget_minutes=budget_minutes, steps=steps, batch=batch, patch=patch, lr=lr,
        seed=seed, precision=train_precision, threads=threads,
        overwrite=True)
    return train(cfg)


def export_one(weights: Path, output: Path, fmt: str, precision: str, r3_steps: int) -> Path:
    """Export ``weights`` as one runtime file at ``output`` (and its card sidecar), with
    ``r3_steps`` R3 passes (the base model's inference, whatever training left in the
    config).

    The export writes into a scratch folder; the file is moved into place only once it
    was written and checked, so a failure leaves no half-written output.
    """
    from edgerestore.export.pipeline import ExportOptions, run_export

    with tempfile.TemporaryDirectory(prefix="edgerestore-export-") as scratch:
        report = run_export(ExportOptions(weights=weights, out=Path(scratch),
                                          pairs=((fmt, precision),), r3_steps=r3_steps))
        written = Path(scratch) / report["files"][0]["file"]
        output.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(output, written.read_bytes())
        sidecar = written.with_name(written.name + ".json")
        if sidecar.is_file():
            shutil.copyfile(sidecar, output.with_name(output.name + ".json"))
    return output
