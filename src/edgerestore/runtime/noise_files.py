"""Noise a folder of images reproducibly: the noisy copy of image ``i`` depends only on
``(seed, i)``.

Why a fixed per-image generator ``np.random.default_rng([seed, i])`` (``i`` = position in
:func:`~edgerestore.runtime.image_files.list_images` order): training data generated
once, in parts or in parallel, can be regenerated bit for bit from the folder, the
spec string and the seed, and one image's noise does not depend on how many images came
before it or on which process drew it.

Each output is an 8-bit (or 16-bit) PNG named after its input's stem, written
atomically. Nothing is written unless every output can be: existing outputs are refused
unless ``overwrite`` (a folder mixing two noise draws would be silently inconsistent),
and an output that would replace one of the inputs is refused always.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from edgerestore.errors import InputError, OutputError
from edgerestore.runtime.atomic import check_output, same_file
from edgerestore.runtime.image_files import list_images
from edgerestore.runtime.image_io import read_image, write_image
from edgerestore.runtime.noise import NoiseSpec


def image_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of image ``index`` (its position in the sorted folder)."""
    return np.random.default_rng([seed, index])


def plan(in_dir: str | Path, out_dir: str | Path, *, overwrite: bool = False
         ) -> list[tuple[Path, Path]]:
    """(input, output) pairs in folder order; raises before any work if one cannot be written.

    ``out_dir`` is created if missing (its parent must exist).
    """
    sources = list_images(in_dir)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir}: with a folder of inputs -o must be a folder")
    if not out_dir.exists() and not out_dir.parent.is_dir():
        raise OutputError(f"{out_dir.parent}: output folder does not exist")
    pairs = [(src, out_dir / f"{src.stem}.png") for src in sources]
    by_name: dict[str, Path] = {}
    for src, dst in pairs:
        if dst.name in by_name:
            raise InputError(f"{by_name[dst.name].name} and {src.name} would both be written "
                             f"as {dst.name}; rename one of them")
        by_name[dst.name] = src
        if same_file(src, dst):
            raise OutputError(f"{dst}: the output would replace the input {src.name}; "
                              "choose another -o")
    existing = [dst for _src, dst in pairs if dst.exists()]
    if existing and not overwrite:
        raise OutputError(f"{len(existing)} of the {len(pairs)} outputs exist already (first: "
                          f"{existing[0]}); pass --overwrite to replace them")
    try:
        out_dir.mkdir(exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out_dir}: cannot create the output folder "
                          f"({exc.strerror or exc})") from exc
    check_output(pairs[0][1])  # writable (permissions, read-only mount), before any work
    return pairs


def noise_folder(in_dir: str | Path, out_dir: str | Path, spec: NoiseSpec, seed: int, *,
                 overwrite: bool = False, bit_depth: int = 8,
                 on_file: Callable[[Path, Path, float], None] | None = None) -> list[Path]:
    """Write a noisy PNG of every image of ``in_dir`` into ``out_dir``; returns the outputs.

    Image ``i`` is ``spec.apply(image, default_rng([seed, i]))`` of the image as
    :func:`~edgerestore.runtime.image_io.read_image` reads it. ``on_file(src, dst,
    level)`` is called after each write (progress, logging). A file that fails stops
    the run with an error naming it; the outputs written before it are complete.
    """
    pairs = plan(in_dir, out_dir, overwrite=overwrite)
    for index, (src, dst) in enumerate(pairs):
        image, _info = read_image(src)
        try:
            noisy, level = spec.apply(image, image_rng(seed, index))
        except InputError as exc:
            raise InputError(f"{src}: {exc}") from exc
        write_image(dst, noisy, bit_depth=bit_depth)
        if on_file is not None:
            on_file(src, dst, level)
    return [dst for _src, dst in pairs]
