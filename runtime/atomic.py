"""Atomic file output: write a temporary file beside the target, then rename it.

A crash, a kill or a failed encoder therefore leaves either the old file or the new
one, never a half-written output. The temporary file gets the permissions a plain
``open()`` would have given (0666 minus the umask) rather than mkstemp's private
0600, so shipped weights and restored images stay readable by others.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def _default_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: str | os.PathLike[str], write: Callable[[str], None] | bytes) -> None:
    """Create ``path`` atomically from ``write`` (bytes, or a function given the temp path)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if isinstance(write, bytes):
            with os.fdopen(fd, "wb") as fh:
                fh.write(write)
                fh.flush()
                os.fsync(fh.fileno())
        else:
            os.close(fd)
            write(tmp)
        os.chmod(tmp, _default_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
