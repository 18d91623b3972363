"""``edgerestore export --shipped``: rebuild the models that ship inside the package.

The base install (``pip install edgerestore``) has no torch, so it cannot export; it
runs the files this module writes into :data:`~edgerestore.runtime.packaged.PACKAGED_DIR`
from the shipped ``src/edgerestore/models/weights/*.safetensors``: per model an fp32 and
an int8 ONNX file (dynamic shape, onnxruntime, in the base install) and an int8 TFLite file at
256x256 tiles (LiteRT, the fastest backend on a CPU; extra ``litert``). Each file
carries its card (weights sha256, parity against PyTorch on the bundled samples),
and ``models.json`` indexes them with the MACs per pixel, the PSNR the training card
records and a 256x256 single-thread latency measured right after the export, which
is what the runtime uses to pick the fastest installed file.

Every model is exported in its own child process: litert-torch caches constants
across ``convert()`` calls and torch keeps memory, so a fresh interpreter per model
keeps one model from leaking into the next. A model whose packaged files already
record the current weights hash is skipped (``force`` rebuilds it), so after
retraining one model only that model is exported again. Files are written to a
staging folder and moved into the package only when the model's export succeeded;
int8 calibration uses the scikit-image samples, never research data.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgerestore.console import log
from edgerestore.errors import ModelFileError
from edgerestore.export.metadata import file_sha256
from edgerestore.runtime.atomic import atomic_write
from edgerestore.runtime.backends import SessionOptions
from edgerestore.runtime.exported_denoiser import ExportedDenoiser
from edgerestore.runtime.model_files import WEIGHTS_SUFFIX
from edgerestore.runtime.packaged import MANIFEST, PACKAGED_DIR, SHIPPED, read_manifest
from edgerestore.units import to_unit

#: (format, precision) of every packaged file; TFLite runs at this tile.
FILES = (("onnx", "fp32"), ("onnx", "int8"), ("tflite", "int8"))
TILE = (256, 256)
TIMING_RUNS = 3


@dataclass(frozen=True)
class Outcome:
    name: str
    status: str  # "exported", "up to date" or "failed"
    seconds: float
    detail: str = ""


def weights_dir() -> Path:
    from edgerestore.models.shipped import WEIGHTS_DIR

    return WEIGHTS_DIR


def is_current(name: str, entry: dict[str, Any] | None, folder: Path) -> bool:
    """True when ``entry`` records the current weights' hash and has every file of
    :data:`FILES`, all present (an ONNX-only export is completed by the next run)."""
    if not entry:
        return False
    weights = weights_dir() / f"{name}{WEIGHTS_SUFFIX}"
    files = entry.get("files", [])
    return (entry.get("weights_sha256") == file_sha256(weights)
            and set(FILES) <= {(f["format"], f["precision"]) for f in files}
            and all((folder / f["file"]).is_file() for f in files))


def export_shipped(names: tuple[str, ...] = (), *, force: bool = False,
                   out: Path = PACKAGED_DIR, formats: tuple[str, ...] = ("onnx", "tflite"),
                   ) -> list[Outcome]:
    """Export ``names`` (default: every shipped model) into ``out``; update its index.

    ``formats`` limits the files (ONNX alone takes a fraction of the time; such a model
    counts as incomplete and the next full run adds its TFLite file). Returns one
    :class:`Outcome` per model; a failed model keeps its previous files.
    """
    names = names or tuple(SHIPPED)
    unknown = [n for n in names if n not in SHIPPED]
    if unknown:
        raise ModelFileError(f"not a packaged model: {', '.join(unknown)} "
                             f"(packaged: {', '.join(SHIPPED)})")
    out.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(out / MANIFEST) if (out / MANIFEST).is_file() else {"models": {}}
    outcomes: list[Outcome] = []
    for name in names:
        start = time.perf_counter()
        old = manifest["models"].get(name)
        if not force and is_current(name, old, out):
            outcomes.append(Outcome(name, "up to date", 0.0))
            log.info("%s: packaged files match the weights; skipped (--force rebuilds)", name)
            continue
        log.info("%s: exporting (child process)", name)
        with tempfile.TemporaryDirectory(prefix=f"edgerestore-shipped-{name}-") as tmp:
            proc = subprocess.run([sys.executable, "-m", "edgerestore.export.shipped",
                                   name, tmp, ",".join(formats)], capture_output=True,
                                  text=True)
            seconds = time.perf_counter() - start
            if proc.returncode != 0:
                tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
                outcomes.append(Outcome(name, "failed", seconds, tail))
                log.error("%s: export failed after %.0f s: %s", name, seconds, tail)
                continue
            entry = json.loads((Path(tmp) / "entry.json").read_text())
            _install(Path(tmp), out, entry, old)
        _record(out / MANIFEST, name, entry)
        outcomes.append(Outcome(name, "exported", seconds))
        log.info("%s: exported in %.0f s", name, seconds)
    return outcomes


def _record(path: Path, name: str, entry: dict[str, Any]) -> None:
    """Put one model's entry into the index, re-read just before (another export may
    have written it meanwhile), in the listing order of ``SHIPPED``."""
    manifest = read_manifest(path) if path.is_file() else {"models": {}}
    manifest["models"][name] = entry
    manifest["models"] = {n: manifest["models"][n] for n in SHIPPED if n in manifest["models"]}
    atomic_write(path, (json.dumps(manifest, indent=2) + "\n").encode())


def _install(staging: Path, out: Path, entry: dict[str, Any],
             old: dict[str, Any] | None) -> None:
    """Move a model's new files (and sidecar cards) in; drop files it no longer has."""
    new = {f["file"] for f in entry["files"]}
    for f in (old or {}).get("files", []):
        if f["file"] not in new:
            for stale in (out / f["file"], out / (f["file"] + ".json")):
                stale.unlink(missing_ok=True)
    for name in sorted(new):
        for part in (name, name + ".json"):
            shutil.copyfile(staging / part, out / (part + ".partial"))
            (out / (part + ".partial")).replace(out / part)


def _child(name: str, staging: Path, formats: tuple[str, ...]) -> None:
    """Runs in a fresh interpreter: export one model, measure it, write ``entry.json``."""
    from edgerestore.export.pipeline import ExportOptions, run_export
    from edgerestore.models.macs import count
    from edgerestore.models.weights_io import load_card, load_weights

    weights = weights_dir() / f"{name}{WEIGHTS_SUFFIX}"
    pairs = tuple(f for f in FILES if f[0] in formats)
    report = run_export(ExportOptions(weights=weights, out=staging, tiles=(TILE,),
                                      pairs=pairs))
    module, _config = load_weights(weights)
    files = []
    for item in report["files"]:
        path = staging / item["file"]
        files.append({
            "file": item["file"], "format": item["format"], "precision": item["precision"],
            "backend": "onnxruntime" if item["format"] == "onnx" else "litert",
            "tile": item["tile"], "size_bytes": item["size_bytes"],
            "parity_samples": (item.get("parity") or {}).get("samples"),
            "ms_256x256_1thread": round(_time_file(path), 1),
        })
    channels = 1 if name.endswith("_gray") else 3
    card = load_card(weights)
    entry = {
        "task": "denoise" if report["task"].startswith("denoise_") else "prior",
        "graph_task": report["task"], "channels": channels, "noise": report["noise"],
        "weights": weights.name, "weights_sha256": report["weights_sha256"],
        "macs_per_pixel": round(count(module, channels, *TILE).macs_per_pixel),
        "card_psnr": _card_psnr(card), "tools": report["tools"],
        "export_timings_s": report["timings_s"], "files": files,
    }
    atomic_write(staging / "entry.json", (json.dumps(entry, indent=2) + "\n").encode())


def _time_file(path: Path) -> float:
    """Median ms of one 256x256 tile at one thread (what picks the default file)."""
    den = ExportedDenoiser(path, SessionOptions(threads=1), max_tile=TILE[0])
    channels = den.channels
    tile = np.random.default_rng(0).random((*TILE, channels), np.float32)
    den.denoise(tile, to_unit(25.0))  # warm-up
    times = []
    for _ in range(TIMING_RUNS):
        t0 = time.perf_counter()
        den.denoise(tile, to_unit(25.0))
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _card_psnr(card: dict[str, Any]) -> dict[str, Any] | None:
    """The test-set PSNR the training card records (blind-spot: posterior, sigma known)."""
    for set_name, by_noise in (card.get("evaluation") or {}).items():
        for noise, modes in by_noise.items():
            value = (modes.get("posterior") or {}).get("psnr")
            if value is not None:
                return {"psnr": value, "set": set_name, "noise": noise,
                        "mode": "posterior, sigma known"}
    if card.get("dev_psnr") is not None:
        return {"psnr": card["dev_psnr"], "set": "dev", "noise": card.get("noise")}
    return None


if __name__ == "__main__":
    from edgerestore.console import setup_logging

    setup_logging(quiet=True)
    _child(sys.argv[1], Path(sys.argv[2]), tuple(sys.argv[3].split(",")))
