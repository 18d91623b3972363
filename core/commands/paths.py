"""Output-path checks shared by commands that write files."""

from __future__ import annotations

from pathlib import Path

from edgerestore.errors import InputError


def check_output(inp: Path, out: Path, *, in_place: bool = False) -> None:
    """Refuse to overwrite the input file unless ``in_place`` is given."""
    if out.exists() and inp.exists() and out.resolve() == inp.resolve() and not in_place:
        raise InputError(f"{out}: refusing to overwrite the input (pass --in-place to allow it)")
    if not out.parent.exists():
        raise InputError(f"{out.parent}: output folder does not exist")
