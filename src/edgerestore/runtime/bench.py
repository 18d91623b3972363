"""On-device latency of exported models, measured the way a device app would see it.

Used by ``edgerestore bench`` (exported files, no torch, so it runs on an ARM board or
in Termux) and by ``benchmarks/latency.py`` (which adds a PyTorch worker that speaks
the same protocol). Conventions follow TFLite's ``benchmark_model`` and
``onnxruntime_perf_test`` where they apply: session creation, the first (cold) run,
warm-up runs and the timed runs are reported separately; the timed runs give the
median and the 10th / 90th percentiles.

Each variant (file x threads x input size) runs in its own worker process:

* peak RSS is a per-process figure, so only a process that holds nothing but one
  session reports that session's real footprint (interpreter + backend + weights +
  activations), which is what decides whether a phone app is killed;
* the parent drives all workers round-robin, one run each per round, so load from
  other jobs and thermal drift hit every variant alike instead of whichever
  happened to run last.

Workers talk JSON lines over stdin/stdout: on start they open the model and print
``{"ready": ..., "session_ms": ...}``; ``{"op": "run"}`` answers ``{"ms": t}``;
``{"op": "close"}`` answers ``{"peak_rss_mb": m}`` and exits.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata as pkg_metadata
from pathlib import Path
from typing import Any

import numpy as np

from edgerestore.errors import EdgeRestoreError, InputError, ModelFileError
from edgerestore.runtime.model_files import exported_format
from edgerestore.runtime.tiling import DEFAULT_MAX_TILE
from edgerestore.units import to_unit

#: Result fields, in table / JSON order (the browser benchmark page uses these names).
FIELDS = ("model", "file", "format", "precision", "backend", "threads", "input", "runs",
          "warmup", "median_ms", "p10_ms", "p90_ms", "first_run_ms", "session_ms",
          "peak_rss_mb", "file_size_bytes", "macs_per_pixel", "gmacs_per_s")
#: Noise level fed to blind-spot posterior graphs ([0, 1] units: 25/255); it does not
#: change the cost.
BENCH_SIGMA = to_unit(25.0)


def peak_rss_mb() -> float:
    """This process's peak resident set size in MiB (``VmHWM``; ``ru_maxrss`` elsewhere)."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0 if sys.platform == "darwin" else 1024.0)


def parse_size(text: str) -> tuple[int, int]:
    """``"256"`` or ``"1920x1080"`` (width x height, as screens are named) -> (height, width)."""
    parts = text.lower().split("x")
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        sizes = []
    if len(sizes) not in (1, 2) or min(sizes) < 8:
        raise InputError(f"size {text!r}: expected N or WxH with sides >= 8 (e.g. 1920x1080)")
    width, height = (sizes[0], sizes[0]) if len(sizes) == 1 else sizes
    return height, width


def size_label(height: int, width: int) -> str:
    return f"{width}x{height}"


# --------------------------------------------------------------------------- worker side


@dataclass
class Prepared:
    """A ready-to-time call and what the worker reports about it."""

    run: Callable[[], object]
    session_ms: float
    info: dict[str, Any] = field(default_factory=dict)


def prepare_file(path: str | Path, threads: int | None, height: int, width: int,
                 max_tile: int = DEFAULT_MAX_TILE) -> Prepared:
    """Open an exported file and build one inference call for a ``height x width`` input.

    One network call when the input is the file's fixed tile, or fits a dynamic
    file's tile limit; otherwise the whole image goes through :class:`ExportedDenoiser`
    tiling, which is what ``edgerestore denoise`` pays on a photo.
    """
    from edgerestore.runtime.backends import SessionOptions, open_session
    from edgerestore.runtime.exported_denoiser import ExportedDenoiser

    options = SessionOptions(threads=threads)
    rng = np.random.default_rng(0)
    probe = _card(path)
    channels = int(probe.get("channels") or 0)
    if channels < 1:
        raise ModelFileError(f"{path}: its card names no image channels; not an image model")
    tile = tuple(probe["tile"]) if probe.get("tile") else None
    multiple = probe.get("square_multiple")
    fits_dynamic = (tile is None and max(height, width) <= max_tile
                    and (not multiple or (height == width and height % multiple == 0)))
    if tile == (height, width) or fits_dynamic:
        session = open_session(path, options)
        layout = session.metadata.get("layout", "NCHW")
        shape = (1, height, width, channels) if layout == "NHWC" else (1, channels, height, width)
        feeds = {session.input_names[0]: rng.random(shape, dtype=np.float32)}
        if len(session.input_names) > 1:
            feeds[session.input_names[1]] = np.array([BENCH_SIGMA], np.float32)
        return Prepared(lambda: session.run(feeds), session.created_s * 1e3,
                        {"backend": session.backend, "calls": 1})
    if multiple and tile is None:
        raise InputError(f"{Path(path).name} takes square inputs whose side is a multiple of "
                         f"{multiple} up to {max_tile}; export it with a fixed --tile to "
                         f"time {size_label(height, width)}")
    denoiser = ExportedDenoiser(path, options, max_tile=max_tile)
    image = rng.random((height, width, channels), dtype=np.float32)
    return Prepared(lambda: denoiser.denoise(image, BENCH_SIGMA), denoiser.session.created_s * 1e3,
                    {"backend": denoiser.session.backend,
                     "calls": denoiser.tile_count(height, width)})


def serve(prepare: Callable[[], Prepared]) -> int:
    """Worker loop (see the module docstring); ``prepare`` opens the model."""
    out = sys.stdout
    try:
        prepared = prepare()
    except EdgeRestoreError as exc:
        print(json.dumps({"error": str(exc)}), file=out, flush=True)
        return 2
    print(json.dumps({"ready": True, "session_ms": prepared.session_ms, **prepared.info}),
          file=out, flush=True)
    for line in sys.stdin:
        op = json.loads(line).get("op")
        if op == "run":
            start = time.perf_counter()
            prepared.run()
            reply: dict[str, Any] = {"ms": (time.perf_counter() - start) * 1e3}
        else:
            print(json.dumps({"peak_rss_mb": peak_rss_mb()}), file=out, flush=True)
            return 0
        print(json.dumps(reply), file=out, flush=True)
    return 0


def file_worker_command(path: str | Path, threads: int | None, height: int, width: int,
                        max_tile: int = DEFAULT_MAX_TILE) -> list[str]:
    """Command line of a worker process for one exported file (this module's ``__main__``)."""
    return [sys.executable, "-m", "edgerestore.runtime.bench", str(path),
            str(threads or 0), str(height), str(width), str(max_tile)]


# --------------------------------------------------------------------------- parent side


@dataclass
class Variant:
    """One thing to time: a worker command and the static fields of its result row."""

    command: list[str]
    row: dict[str, Any]


def file_variant(path: str | Path, threads: int | None, height: int, width: int, *,
                 max_tile: int = DEFAULT_MAX_TILE,
                 macs_per_pixel: float | None = None) -> Variant:
    """A :class:`Variant` for an exported file; fields come from the file's own card."""
    path = Path(path)
    card = _card(path)
    macs = macs_per_pixel if macs_per_pixel is not None else card.get("macs_per_pixel")
    row = {"model": card.get("model_name") or path.stem, "file": path.name,
           "format": card.get("format") or exported_format(path),
           "precision": card.get("precision"), "backend": None, "threads": threads,
           "input": size_label(height, width), "file_size_bytes": path.stat().st_size,
           "macs_per_pixel": macs}
    return Variant(file_worker_command(path, threads, height, width, max_tile), row)


class _Worker:
    def __init__(self, variant: Variant, env: dict[str, str] | None) -> None:
        self.variant = variant
        self.proc = subprocess.Popen(variant.command, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env)
        self.ready = self._read()
        if "error" in self.ready:
            self.proc.wait()
            raise ModelFileError(f"{variant.row.get('file')}: {self.ready['error']}")

    def _read(self) -> dict[str, Any]:
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            self.proc.wait()
            tail = err.strip().splitlines()[-1:] or ["no output"]
            raise ModelFileError(f"{self.variant.row.get('file')}: benchmark worker exited "
                                 f"({self.proc.returncode}): {tail[0]}")
        return json.loads(line)

    def ask(self, op: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op}) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> float:
        peak = float(self.ask("close")["peak_rss_mb"])
        self.proc.wait()
        return peak

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def summarize(times_ms: Iterable[float]) -> dict[str, float]:
    """Median and 10th / 90th percentiles (linear interpolation) of the timed runs."""
    t = np.asarray(list(times_ms), dtype=np.float64)
    if t.size == 0:
        raise InputError("no timed runs to summarise")
    p10, median, p90 = np.percentile(t, [10, 50, 90])
    return {"median_ms": float(median), "p10_ms": float(p10), "p90_ms": float(p90)}


def measure(variants: list[Variant], runs: int, warmup: int, *,
            env: dict[str, str] | None = None,
            on_round: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Time every variant round-robin: 1 first run, ``warmup`` untimed, ``runs`` timed.

    All workers are started (one at a time, so session creation is not contended by
    our own processes) before any of them runs; every round then visits each worker once.
    """
    if runs < 1 or warmup < 0:
        raise InputError(f"need runs >= 1 and warmup >= 0, got {runs} and {warmup}")
    workers: list[_Worker] = []
    try:
        for variant in variants:
            workers.append(_Worker(variant, env))
        first = [w.ask("run")["ms"] for w in workers]
        for i in range(warmup):
            if on_round:
                on_round(f"warm-up {i + 1}/{warmup}")
            for w in workers:
                w.ask("run")
        times: list[list[float]] = [[] for _ in workers]
        for i in range(runs):
            if on_round:
                on_round(f"timed round {i + 1}/{runs}")
            for k, w in enumerate(workers):
                times[k].append(w.ask("run")["ms"])
        rows = []
        for w, t, f in zip(workers, times, first, strict=True):
            row = dict(w.variant.row)
            row.update({k: v for k, v in w.ready.items() if k not in ("ready", "session_ms")})
            row.update({"runs": runs, "warmup": warmup, **summarize(t), "first_run_ms": f,
                        "session_ms": w.ready["session_ms"], "peak_rss_mb": w.close(),
                        "times_ms": t})
            row["gmacs_per_s"] = throughput(row)
            rows.append({k: row.get(k) for k in (*FIELDS, *sorted(set(row) - set(FIELDS)))})
        return rows
    finally:
        for w in workers:
            w.kill()


def throughput(row: dict[str, Any]) -> float | None:
    """Useful GMAC/s: the model's MACs/pixel x image pixels / median time (halo work excluded)."""
    macs = row.get("macs_per_pixel")
    if not macs or not row.get("median_ms"):
        return None
    height, width = parse_size(row["input"])
    return float(macs) * height * width / (row["median_ms"] * 1e6)


def machine_info() -> dict[str, Any]:
    """CPU, cores and package versions, stored next to every result."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            key = line.split(":")[0].strip().lower()
            if key in ("model name", "hardware", "processor") and ":" in line:
                value = line.split(":", 1)[1].strip()
                if value and not value.isdigit():
                    cpu = value
                    break
    versions = {}
    for name in ("numpy", "onnxruntime", "ai-edge-litert", "torch", "edgerestore"):
        try:
            versions[name] = pkg_metadata.version(name)
        except pkg_metadata.PackageNotFoundError:
            versions[name] = None
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {"cpu": cpu, "machine": platform.machine(), "system": platform.platform(),
            "cores": os.cpu_count(), "cores_available": affinity,
            "python": platform.python_version(), "versions": versions,
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def format_table(rows: list[dict[str, Any]]) -> str:
    """Plain-text table of result rows (same columns on every device)."""
    header = (f"{'model':<28}{'fmt':<8}{'prec':<6}{'backend':<12}{'thr':>4}{'input':>11}"
              f"{'median':>10}{'p10':>9}{'p90':>9}{'first':>9}{'session':>9}{'RSS MB':>8}"
              f"{'size MB':>8}{'GMAC/s':>8}")
    lines = [header, "-" * len(header)]
    for r in rows:
        gmacs = f"{r['gmacs_per_s']:.1f}" if r.get("gmacs_per_s") else "-"
        lines.append(
            f"{str(r['model'])[:27]:<28}{r['format']!s:<8}{r['precision']!s:<6}"
            f"{r['backend']!s:<12}{r['threads'] or 'all':>4}{r['input']:>11}"
            f"{r['median_ms']:>10.1f}{r['p10_ms']:>9.1f}{r['p90_ms']:>9.1f}"
            f"{r['first_run_ms']:>9.1f}{r['session_ms']:>9.1f}{r['peak_rss_mb']:>8.0f}"
            f"{r['file_size_bytes'] / 1e6:>8.2f}{gmacs:>8}")
    lines.append("times in ms; median / p10 / p90 over the timed runs; GMAC/s = model MACs "
                 "per pixel x pixels / median")
    return "\n".join(lines)


def _card(path: str | Path) -> dict[str, Any]:
    from edgerestore.runtime.model_metadata import read_metadata

    return read_metadata(path)


def _worker_main(argv: list[str]) -> int:
    path, threads, height, width, max_tile = argv
    return serve(lambda: prepare_file(path, int(threads) or None, int(height), int(width),
                                      int(max_tile)))


if __name__ == "__main__":
    raise SystemExit(_worker_main(sys.argv[1:]))
