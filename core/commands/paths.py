"""Input and output checks shared by commands that turn one image file into another."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from edgerestore.errors import ImageError, InputError, OutputError
from edgerestore.runtime.atomic import check_output as check_writable
from edgerestore.runtime.atomic import same_file

if TYPE_CHECKING:
    import numpy as np

    from edgerestore.runtime.image_io import ImageInfo


def check_output(inp: Path, out: Path, *, in_place: bool = False,
                 reads: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Fail before any work unless ``out`` is writable and overwrites nothing it reads.

    Only the main input may be replaced, and only with ``in_place``; the other files the
    command reads (``reads``: a mask, a kernel, a model) never.
    """
    if same_file(inp, out) and not in_place:
        raise OutputError(f"{out}: refusing to overwrite the input (pass --in-place to allow it)")
    check_writable(out, reads=[inp, *reads], replaceable=[inp] if in_place else ())


def read_input(args: argparse.Namespace, reads: Iterable[str | os.PathLike[str]] = ()
               ) -> tuple[np.ndarray, ImageInfo]:
    """Check ``args.output`` first (fail before any work), then read ``args.input``.

    Shared by every command that turns one image into another: the output must be
    writable, must not overwrite the input (unless ``--in-place``) nor any of ``reads``,
    must have a known extension and fit ``--bit-depth``; the input must be opaque
    (restoration has no alpha model).
    """
    from PIL import Image

    from edgerestore.runtime.image_io import read_image

    check_output(args.input, args.output, in_place=args.in_place, reads=reads)
    suffix = args.output.suffix.lower()
    if suffix not in Image.registered_extensions():
        raise InputError(f"{args.output}: unknown image extension {suffix or '(none)'!r}")
    if args.bit_depth == 16 and suffix != ".png":
        raise InputError(f"{args.output}: 16-bit output must be a .png file")
    image, info = read_image(args.input)
    if info.has_alpha:
        raise ImageError(f"{args.input}: has an alpha channel; restoration needs an opaque "
                         "image (flatten or drop the alpha first)")
    return image, info
