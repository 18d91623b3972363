"""``edgerestore demo`` end to end: shipped weights -> export -> device runtime -> latency.

Four stages, each recorded in the report with its status, reason and time:

1. **export** (torch + the ``export`` extra): the shipped blind-spot and MAP-denoiser
   weights go through :func:`~edgerestore.export.pipeline.run_export`, parity check
   included, into ``OUT/export/NAME/``;
2. **restore**: :mod:`edgerestore.runtime.demo_restore` runs in a child process in
   which ``import torch`` raises, on the exported files only;
3. **bench**: :func:`edgerestore.runtime.bench.measure` times every exported file
   (worker processes, torch blocked the same way);
4. **report**: ``report.json`` and the self-contained ``report.html``.

A missing optional dependency skips only the stages (or formats) that need it, with
the ``pip install`` line in the message and in the report; without torch the later
stages still run on files a previous demo exported into ``OUT/export``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgerestore.console import log, progress
from edgerestore.errors import EdgeRestoreError, MissingDependencyError, ModelFileError
from edgerestore.runtime.model_files import exported_format, is_exported, is_weights

#: Modules each export format needs, with the pip package that provides them (all in
#: the ``export`` extra). Checked with find_spec: litert-torch must only ever be
#: imported by the export stage's worker processes.
FORMAT_NEEDS = {
    "onnx": (("onnx", "onnx"), ("onnxslim", "onnxslim"), ("onnxruntime", "onnxruntime")),
    "tflite": (("litert_torch", "litert-torch"), ("ai_edge_litert", "ai-edge-litert")),
}
FORMATS = tuple(FORMAT_NEEDS)
PRECISIONS = ("fp32", "int8")
DEFAULT_BLINDSPOT = "blindspot_gauss25_rgb"
QUICK_BLINDSPOT = "blindspot_eff_gauss25_rgb"
DEFAULT_MAP = "map_rgb"


@dataclass(frozen=True)
class Plan:
    """How much work each stage does; ``--quick`` trades sample size for time."""

    limit: int | None
    crop: int | None
    calib_count: int
    iters: int
    deblur_crop: int
    bench_threads: tuple[int, ...]
    bench_runs: int
    bench_warmup: int
    tile: int = 256

    @classmethod
    def for_mode(cls, quick: bool) -> Plan:
        if quick:
            # Crops of 128 still give the blind-spot nets a clear margin over the noisy
            # input; 8 ADMM iterations already lift the blurred PSNR by several dB.
            return cls(limit=2, crop=128, calib_count=4, iters=8, deblur_crop=112,
                       bench_threads=(2,), bench_runs=3, bench_warmup=1)
        # deblur_crop 240 + kernel 17 - 1 = a 256 solver grid: one fixed TFLite tile.
        return cls(limit=None, crop=None, calib_count=16, iters=30, deblur_crop=240,
                   bench_threads=(1, 2), bench_runs=5, bench_warmup=1)


@dataclass
class DemoOptions:
    """The command-line options of ``edgerestore demo``."""

    out: Path
    images: Path | None = None
    sigma: float | None = None
    seed: int = 0
    formats: tuple[str, ...] = FORMATS
    quick: bool = False
    blindspot: str = DEFAULT_BLINDSPOT
    map: str = DEFAULT_MAP
    threads: int = 2
    quiet: bool = False


@dataclass
class Stage:
    """What one stage did: ``ok``, ``partial`` (some of it skipped), ``skipped`` or
    ``failed``, and why, so the report never shows a silently missing section."""

    status: str = "ok"
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def skip(self, reason: str, *, whole: bool = False) -> None:
        self.notes.append(reason)
        self.status = "skipped" if whole else ("partial" if self.status == "ok" else
                                               self.status)
        log.warning("demo: %s", reason)


@dataclass
class DemoRun:
    """Everything the report is made from."""

    options: DemoOptions
    plan: Plan
    stages: dict[str, Stage] = field(default_factory=dict)
    weights: dict[str, str] = field(default_factory=dict)
    exports: dict[str, dict[str, Any]] = field(default_factory=dict)
    restore: dict[str, Any] = field(default_factory=dict)
    bench: list[dict[str, Any]] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def files(self, kind: str) -> list[Path]:
        """Exported files of one model kind (``blindspot`` or ``map``), fp32 first."""
        folder = self.options.out / "export" / kind
        if not folder.is_dir():
            return []
        found = [p for p in folder.iterdir() if exported_format(p) in self.options.formats]
        return sorted(found, key=lambda p: (exported_format(p) != "onnx", "int8" in p.name,
                                            p.name))

    def to_json(self) -> dict[str, Any]:
        opts = {k: (str(v) if isinstance(v, Path) else v)
                for k, v in asdict(self.options).items()}
        return {"options": opts, "plan": asdict(self.plan), "weights": self.weights,
                "stages": {k: asdict(v) for k, v in self.stages.items()},
                "export": self.exports, "restore": self.restore, "bench": self.bench,
                "machine": self.machine, "seconds": round(self.seconds, 1)}


def missing_modules(needs: tuple[tuple[str, str], ...]) -> list[str]:
    """pip packages whose module is not importable here (find_spec, no import)."""
    return [package for module, package in needs if importlib.util.find_spec(module) is None]


@contextmanager
def timed(run: DemoRun, name: str) -> Iterator[Stage]:
    """Record a stage; a user-fixable error ends only this stage, with its message."""
    stage = run.stages.setdefault(name, Stage())
    start = time.perf_counter()
    try:
        yield stage
    except EdgeRestoreError as exc:
        stage.status = "failed"
        stage.notes.append(str(exc))
        log.error("demo: %s stage failed: %s", name, exc)
    finally:
        stage.seconds = round(time.perf_counter() - start, 1)


def resolve_weights(name: str) -> Path:
    """A shipped weights name or a ``.safetensors`` path."""
    if is_weights(name):
        path = Path(name)
        if not path.is_file():
            raise ModelFileError(f"{name}: no such weights file")
        return path
    from edgerestore.models.shipped import shipped_weights

    return shipped_weights(name)


def export_stage(run: DemoRun, stage: Stage) -> None:
    """Export both models in every requested format that this install can produce."""
    opts = run.options
    if importlib.util.find_spec("torch") is None:
        earlier = len(run.files("blindspot")) + len(run.files("map"))
        stage.skip(str(MissingDependencyError("torch", "train", "exporting the shipped weights"))
                   + f" (torch itself first, as the Makefile does: pip install torch==2.13.0); "
                   f"using {earlier} file(s) exported "
                   f"earlier in {opts.out / 'export'}", whole=True)
        return
    formats = []
    for fmt in opts.formats:
        lacking = missing_modules(FORMAT_NEEDS[fmt])
        if lacking:
            stage.skip(str(MissingDependencyError(lacking[0], "export", f"{fmt} export")))
        else:
            formats.append(fmt)
    if not formats:
        stage.status = "skipped"
        return
    from edgerestore.export.pipeline import ExportOptions, run_export

    for kind, name in (("blindspot", opts.blindspot), ("map", opts.map)):
        weights = resolve_weights(name)
        run.weights[kind] = str(weights)
        folder = opts.out / "export" / kind
        for old in folder.glob("*") if folder.is_dir() else ():
            if is_exported(old) or old.suffix == ".json":
                old.unlink()  # files of another model or format must not be picked up
        log.info("demo: exporting %s to %s", weights.name, "/".join(formats))
        run.exports[kind] = run_export(ExportOptions(
            weights=weights, out=folder, formats=tuple(formats), precisions=PRECISIONS,
            tiles=((run.plan.tile, run.plan.tile),), calib=None,
            calib_count=run.plan.calib_count))


@contextmanager
def torch_blocked() -> Iterator[dict[str, str]]:
    """An environment in which ``import torch`` raises (a shadowing package on
    PYTHONPATH), so the runtime stages prove they need no torch."""
    with tempfile.TemporaryDirectory(prefix="edgerestore-notorch-") as tmp:
        package = Path(tmp) / "torch"
        package.mkdir()
        (package / "__init__.py").write_text(
            "raise ImportError('torch is blocked: the demo runtime must not need it')\n")
        path = os.pathsep.join(p for p in (tmp, os.environ.get("PYTHONPATH")) if p)
        yield dict(os.environ, PYTHONPATH=path)


def restore_stage(run: DemoRun, stage: Stage) -> None:
    """Denoise and deblur with the exported files, in a torch-free child process."""
    from edgerestore.runtime.demo_restore import Job

    opts, plan = run.options, run.plan
    denoisers, deblurrers = run.files("blindspot"), run.files("map")
    if not denoisers and not deblurrers:
        stage.skip("no exported files to run (the export stage produced none)", whole=True)
        return
    if importlib.util.find_spec("skimage") is None and opts.images is None:
        stage.skip(str(MissingDependencyError("scikit-image", "eval",
                                              "the bundled sample images")), whole=True)
        return
    job = Job(out=str(opts.out), denoisers=[str(p) for p in denoisers],
              deblurrers=[str(p) for p in deblurrers],
              images=str(opts.images) if opts.images else None,
              sigma=25.0 if opts.sigma is None and opts.images is None else opts.sigma,
              seed=opts.seed,
              limit=plan.limit, crop=plan.crop, threads=opts.threads, iters=plan.iters,
              deblur_crop=plan.deblur_crop, quiet=opts.quiet)
    job_file = opts.out / "restore_job.json"
    job_file.write_text(job.to_json())
    result_file = opts.out / "restore.json"
    result_file.unlink(missing_ok=True)
    with torch_blocked() as env:
        code = subprocess.run([sys.executable, "-m", "edgerestore.runtime.demo_restore",
                               str(job_file)], env=env).returncode
    if not result_file.is_file():
        raise EdgeRestoreError(f"the torch-free restoration process exited with {code} "
                               "(its message is above)")
    run.restore = json.loads(result_file.read_text())
    if run.restore.get("error"):
        raise EdgeRestoreError(run.restore["error"])
    rows = run.restore["denoise"] + run.restore.get("deblur", {}).get("files", [])
    for row in rows:
        if row.get("skipped") and row["skipped"] not in stage.notes:
            stage.skip(f"{row['file']}: {row['skipped']}")


def bench_stage(run: DemoRun, stage: Stage) -> None:
    """Latency of every exported file on one tile, 1 and 2 threads (quick: 2 only)."""
    from edgerestore.runtime.bench import file_variant, measure
    from edgerestore.runtime.demo_restore import unavailable

    tile = run.plan.tile
    variants = []
    for path in run.files("blindspot") + run.files("map"):
        reason = unavailable(path)
        if reason:
            if f"{path.name}: {reason}" not in stage.notes:
                stage.skip(f"{path.name}: {reason}")
            continue
        variants += [file_variant(path, threads, tile, tile)
                     for threads in run.plan.bench_threads]
    if not variants:
        stage.skip("no exported file can run here", whole=True)
        return
    rounds = run.plan.bench_warmup + run.plan.bench_runs
    bar = iter(progress(range(rounds), desc="latency", unit="round"))
    with torch_blocked() as env:
        run.bench = measure(variants, run.plan.bench_runs, run.plan.bench_warmup, env=env,
                            on_round=lambda _label: next(bar, None))
    for _ in bar:  # close the progress bar
        pass
    for row in run.bench:
        row.pop("times_ms", None)  # the summary statistics are what the report shows


def run_demo(opts: DemoOptions) -> DemoRun:
    """All stages in order; the returned run has what the report needs."""
    from edgerestore.runtime.bench import machine_info

    start = time.perf_counter()
    run = DemoRun(opts, Plan.for_mode(opts.quick))
    opts.out.mkdir(parents=True, exist_ok=True)
    steps: list[tuple[str, Callable[[DemoRun, Stage], None]]] = [
        ("export", export_stage), ("restore", restore_stage), ("bench", bench_stage)]
    for name, step in steps:
        log.info("demo: %s", name)
        with timed(run, name) as stage:
            step(run, stage)
    run.machine = machine_info()
    run.seconds = time.perf_counter() - start
    return run
