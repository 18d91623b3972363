"""Many photos in one command: inputs expanded, outputs named, files run in parallel.

``edgerestore denoise DIR_OR_GLOB... -o OUT_DIR`` (and ``deblur``) use this module:
the inputs (files, folders, glob patterns) become a list of images, each restored by
:func:`edgerestore.api.restore_file` (the one per-file path, the same as for a single
file) into ``OUT_DIR`` under its own name and format. One progress bar counts files;
``jobs`` worker processes each open the model once and keep it; outputs that exist
are skipped unless ``overwrite``; a file that fails is reported at the end and does
not stop the others.
"""

from __future__ import annotations

import glob
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from edgerestore.console import log, progress
from edgerestore.errors import EdgeRestoreError, InputError
from edgerestore.runtime.image_files import list_images


@dataclass(frozen=True)
class Failure:
    source: Path
    message: str


def is_batch(inputs: Sequence[Path], output: Path) -> bool:
    """Several inputs, a folder, a glob pattern, or an existing output folder."""
    return (len(inputs) > 1 or output.is_dir()
            or any(p.is_dir() or glob.has_magic(str(p)) for p in inputs))


def expand(inputs: Sequence[Path]) -> list[Path]:
    """Files named, the images directly inside folders, and glob matches, in order."""
    found: list[Path] = []
    for item in inputs:
        if item.is_dir():
            found += list_images(item)  # a named file of any readable type is taken as is
        elif glob.has_magic(str(item)):
            matches = sorted(Path(p) for p in glob.glob(str(item)) if Path(p).is_file())
            if not matches:
                raise InputError(f"{item}: the pattern matches no file")
            found += matches
        elif item.is_file():
            found.append(item)
        else:
            raise InputError(f"{item}: no such file or folder")
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:
        raise InputError("no images found in " + ", ".join(str(p) for p in inputs))
    names: dict[str, Path] = {}
    for path in unique:
        if path.name in names:
            raise InputError(f"two inputs share the name {path.name} ({names[path.name]} and "
                             f"{path}); they would write the same output file")
        names[path.name] = path
    return unique


def plan(inputs: Sequence[Path], out_dir: Path, *, overwrite: bool
         ) -> tuple[list[tuple[Path, Path]], int]:
    """(source, destination) pairs to run, and how many were skipped as already done."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: with several inputs -o must be a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    pairs, skipped = [], 0
    for src in expand(inputs):
        dst = out_dir / src.name
        if dst.resolve() == src:
            raise InputError(f"{dst}: the output folder holds the input {src.name}; "
                             "choose another -o")
        if dst.exists() and not overwrite:
            skipped += 1
            continue
        pairs.append((src, dst))
    return pairs, skipped


def run(pairs: list[tuple[Path, Path]], work: Callable[[Path, Path], None], jobs: int
        ) -> list[Failure]:
    """Apply ``work(src, dst)`` to every pair (``jobs`` processes); returns the failures.

    ``work`` must be picklable (a module-level function or a ``functools.partial``)
    when ``jobs > 1``.
    """
    failures: list[Failure] = []
    if jobs == 1 or len(pairs) <= 1:
        for src, dst in progress(pairs, desc="files", unit="file"):
            message = _attempt(work, src, dst)
            if message:
                failures.append(Failure(src, message))
        return failures
    # spawn, not fork: the parent may hold inference sessions whose thread pools a
    # forked child would inherit mid-lock.
    with ProcessPoolExecutor(max_workers=min(jobs, len(pairs)),
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_attempt, work, src, dst): src for src, dst in pairs}
        for future in progress(as_completed(futures), desc="files", unit="file",
                               total=len(futures)):
            message = future.result()
            if message:
                failures.append(Failure(futures[future], message))
    return failures


def _attempt(work: Callable[[Path, Path], None], src: Path, dst: Path) -> str | None:
    """Run one file; a failure becomes its message (the batch goes on)."""
    try:
        work(src, dst)
    except EdgeRestoreError as exc:
        return str(exc)
    except Exception as exc:  # one bad file must not stop the others; reported at the end
        return f"internal error: {type(exc).__name__}: {exc}"
    return None


def report(failures: list[Failure], done: int, skipped: int) -> int:
    """Log the outcome; exit status 2 when any file failed."""
    for f in failures:
        text = f.message if str(f.source) in f.message else f"{f.source}: {f.message}"
        log.error("failed: %s", text)
    log.info("%d file(s) restored, %d skipped (output exists; --overwrite replaces), "
             "%d failed", done - len(failures), skipped, len(failures))
    return 2 if failures else 0


def threads_per_job(threads: int | None, jobs: int) -> int | None:
    """Split the cores between jobs unless ``--threads`` says otherwise."""
    if threads is not None or jobs == 1:
        return threads
    return max(1, (os.cpu_count() or 1) // jobs)
