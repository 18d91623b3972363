"""Atomic file output: write a temporary file beside the target, then rename it.

A crash, a kill or a failed encoder therefore leaves either the old file or the new
one, never a half-written output. The temporary file gets the permissions a plain
``open()`` would have given (0666 minus the umask) rather than mkstemp's private
0600, so shipped weights and restored images stay readable by others.

Temporary names are ``.NAME.PID.XXXXXXXX.tmp``: unique per writer (two processes
writing the same output never share one), short enough for the file system's
255-byte name limit (``NAME`` is shortened if need be), and carrying the writer's
process id, so a file left behind by a writer that was killed (``kill -9`` runs no
cleanup) is recognised and removed by the next write into the same folder.

:func:`check_output` is the check every command runs *before* its work: the output
folder exists and takes a file, and the output is not one of the files it reads.
Operating-system failures (read-only folder, disk full, name too long) become an
:class:`~edgerestore.errors.OutputError` naming the path.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from edgerestore.errors import OutputError

#: Longest file name (bytes) on the file systems we write to (ext4, APFS, NTFS, tmpfs).
NAME_MAX = 255
_RANDOM_TAIL = 8 + len(".tmp")  # mkstemp's random part and our suffix


def _default_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def temp_prefix(name: str, pid: int | None = None) -> str:
    """``.NAME.PID.``, with ``NAME`` cut so the whole temporary name fits ``NAME_MAX``."""
    pid_part = f".{os.getpid() if pid is None else pid}."
    room = NAME_MAX - 1 - len(pid_part) - _RANDOM_TAIL
    short = name.encode()[:room].decode(errors="ignore")
    return f".{short}{pid_part}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # gone, or beyond any PID there can be
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


#: ``.NAME.PID.XXXXXXXX.tmp`` (see :func:`temp_prefix`), any ``NAME``; group 1 is the PID.
_TEMP_NAME = re.compile(r"\..+\.(\d+)\.[A-Za-z0-9_]{8}\.tmp", re.DOTALL)


def clean_stale_temps(path: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files in ``path``'s folder whose writer no longer exists.

    Any output name counts, not only ``path``'s: a writer killed while writing one
    image of a batch must not leave its temporary file until that very name is
    written again. A live writer's file (its PID exists) is never touched.
    """
    path = Path(path)
    removed = []
    with contextlib.suppress(OSError):
        for entry in path.parent.iterdir():
            match = _TEMP_NAME.fullmatch(entry.name)
            if match and not _pid_alive(int(match.group(1))):
                with contextlib.suppress(OSError):  # gone meanwhile, or not a file
                    entry.unlink()
                    removed.append(entry)
    return removed


def _os_message(exc: OSError) -> str:
    return exc.strerror or str(exc)


def check_output(
    path: str | os.PathLike[str], *, reads: Iterable[str | os.PathLike[str]] = (),
    replaceable: Iterable[str | os.PathLike[str]] = (), what: str = "output",
) -> None:
    """Fail early unless ``path`` can be written and is none of the files in ``reads``.

    ``replaceable`` lists inputs that may be overwritten (``--in-place``). Writability
    is probed by creating and removing a temporary file of the name the real write will
    use, which also catches read-only mounts and over-long names, as root too.
    """
    path = Path(path)
    for read in reads:
        if same_file(read, path) and not any(same_file(read, r) for r in replaceable):
            raise OutputError(f"{path}: refusing to write the {what} over {read}, which "
                              "this command reads")
    parent = path.parent
    if not parent.exists():
        raise OutputError(f"{parent}: {what} folder does not exist")
    if not parent.is_dir():
        raise OutputError(f"{parent}: {what} folder is not a folder")
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; name a file for the {what}")
    try:
        fd, probe = tempfile.mkstemp(dir=parent, prefix=temp_prefix(path.name), suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the {what} there ({_os_message(exc)})") from exc
    os.close(fd)
    os.unlink(probe)


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """True when both paths exist and are the same file (under any name or link)."""
    first = _identity(Path(a))
    return first is not None and first == _identity(Path(b))


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of an existing file: the same file under any name or link."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def atomic_write(path: str | os.PathLike[str], write: Callable[[str], None] | bytes) -> None:
    """Create ``path`` atomically from ``write`` (bytes, or a function given the temp path)."""
    path = Path(path)
    clean_stale_temps(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=temp_prefix(path.name),
                                   suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"{path}: cannot write it ({_os_message(exc)})") from exc
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
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OutputError(f"{path}: writing it failed ({_os_message(exc)}); "
                              "nothing was changed") from exc
        raise
