"""Fault injection: one test per promise of atomic output.

* kill -9 in the middle of a write leaves the old file (or none) intact, and the next
  write to the same output removes the dead writer's temporary file;
* two processes writing the same output at once: the result is one of the two files,
  whole, and no temporary file is left;
* a read-only output folder or a full disk: a one-line error, exit 2, nothing changed.

The read-only folder and the full disk are real: a small tmpfs mounted for the test
(skipped, with the reason, where the machine does not allow ``mount``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from edgerestore.cli import main
from edgerestore.errors import OutputError
from edgerestore.runtime.atomic import atomic_write
from edgerestore.runtime.image_io import write_image

_SLOW_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from edgerestore.runtime.atomic import atomic_write

    def write(tmp):
        with open(tmp, "wb") as fh:
            fh.write(b"new" * 1000)
            fh.flush()
            Path(sys.argv[2]).touch()  # tell the test we are inside the write
            time.sleep(60)

    atomic_write(sys.argv[1], write)
""")


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("existing", [False, True])
def test_kill_9_during_a_write_keeps_the_old_file_and_the_next_write_cleans_up(
        tmp_path, existing):
    out = tmp_path / "out.bin"
    if existing:
        out.write_bytes(b"old")
    ready = tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_WRITER, str(out), str(ready)])
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "writer never started"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert (out.read_bytes() == b"old") if existing else not out.exists()
    assert len(_leftovers(tmp_path)) == 1  # kill -9 runs no cleanup...
    atomic_write(out, b"next")
    assert out.read_bytes() == b"next"
    assert _leftovers(tmp_path) == []  # ...the next write to the output does


_WRITER_LOOP = textwrap.dedent("""
    import sys
    from edgerestore.runtime.atomic import atomic_write
    for _ in range(40):
        atomic_write(sys.argv[1], sys.argv[2].encode() * 20000)
""")


def test_two_writers_of_one_output_never_mix_or_leave_temporaries(tmp_path):
    out = tmp_path / "out.bin"
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER_LOOP, str(out), tag])
             for tag in ("A", "B")]
    codes = [p.wait(timeout=120) for p in procs]
    assert codes == [0, 0]
    assert out.read_bytes() in (b"A" * 20000, b"B" * 20000)
    assert _leftovers(tmp_path) == []


def test_read_only_output_folder_is_a_one_line_error(read_only_dir, tmp_path, capsys):
    src = tmp_path / "in.png"
    write_image(src, np.full((8, 8, 3), 0.5, np.float32))
    assert main(["add-noise", str(src), "-o", str(read_only_dir / "o.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Read-only file system" in err
    assert list(read_only_dir.iterdir()) == []


def test_disk_full_keeps_the_old_output_and_leaves_nothing(full_disk_dir, tmp_path, capsys):
    out = full_disk_dir / "o.png"
    out.write_bytes(b"old output")
    noise = np.random.default_rng(0).random((300, 300, 3)).astype(np.float32)  # 540 KB png
    with pytest.raises(OutputError, match="No space left"):
        write_image(out, noise, bit_depth=16)
    assert out.read_bytes() == b"old output" and _leftovers(full_disk_dir) == []

    src = tmp_path / "in.png"
    write_image(src, noise)
    assert main(["add-noise", str(src), "-o", str(out), "--bit-depth", "16"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "No space left" in err
    assert out.read_bytes() == b"old output" and _leftovers(full_disk_dir) == []
