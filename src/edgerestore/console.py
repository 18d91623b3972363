"""Logging and progress reporting shared by every command.

Progress goes through one helper so that long stages (training, export, benchmark
loops) look the same everywhere and can be silenced with ``--quiet``. tqdm is used
when installed (it comes with the ``train``/``eval`` extras); the torch-free device
install may lack it, in which case progress is reported through logging instead.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

log = logging.getLogger("edgerestore")

_quiet = False


def setup_logging(verbosity: int = 0, quiet: bool = False) -> None:
    """Configure the ``edgerestore`` logger: INFO by default, DEBUG with -v, WARNING with -q."""
    global _quiet
    _quiet = quiet
    level = logging.WARNING if quiet else (logging.DEBUG if verbosity > 0 else logging.INFO)
    handler = _BarAwareHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


class _BarAwareHandler(logging.StreamHandler):
    """Log lines that never land on a progress bar's line.

    While a tqdm bar is drawn on stderr, a plain write would append the message to
    the bar (``train: 40%|####   | error: ...``); tqdm's own ``write`` clears the bar,
    prints the line and redraws the bar below it.
    """

    def emit(self, record: logging.LogRecord) -> None:
        tqdm = sys.modules.get("tqdm")
        if tqdm is None or not getattr(tqdm.tqdm, "_instances", None):
            super().emit(record)
            return
        try:
            tqdm.tqdm.write(self.format(record), file=self.stream)
        except Exception:  # logging must never raise
            self.handleError(record)


def progress(
    items: Iterable[T], *, desc: str, total: int | None = None, unit: str = "it"
) -> Iterator[T]:
    """Iterate over ``items`` while showing progress on stderr (silent under ``--quiet``)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    if _quiet:
        yield from items
        return
    try:
        from tqdm import tqdm
    except ImportError:
        yield from _logged_progress(items, desc=desc, total=total, unit=unit)
        return
    yield from tqdm(items, desc=desc, total=total, unit=unit, file=sys.stderr, leave=False)


def _logged_progress(
    items: Iterable[T], *, desc: str, total: int | None, unit: str
) -> Iterator[T]:
    """Fallback progress without tqdm: one log line at most every two seconds."""
    start = last = time.perf_counter()
    for count, item in enumerate(items, start=1):
        yield item
        now = time.perf_counter()
        if now - last >= 2.0:
            last = now
            of = f"/{total}" if total else ""
            log.info("%s: %d%s %s (%.1f %s/s)", desc, count, of, unit, count / (now - start), unit)
