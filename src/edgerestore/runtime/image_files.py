"""Which files in a folder are images: the one suffix list and the one folder lister.

Training, evaluation, the demo and batch processing all take "a folder of images";
they list it here so that a format the reader (:mod:`edgerestore.runtime.image_io`,
Pillow plus 16-bit PNG / TIFF) decodes is accepted everywhere or nowhere.
"""

from __future__ import annotations

from pathlib import Path

from edgerestore.errors import InputError

#: Extensions taken from a folder: the formats the runtime reader decodes.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")


def is_image_file(path: Path) -> bool:
    """A regular file whose extension is one of :data:`IMAGE_SUFFIXES` (any case)."""
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def list_images(folder: str | Path, option: str = "") -> list[Path]:
    """Image files directly inside ``folder``, sorted by name; never an empty list.

    ``option`` (e.g. ``"--images"``) prefixes the error messages, so a command's user
    sees which argument named the folder.
    """
    folder = Path(folder)
    where = f"{option} {folder}" if option else str(folder)
    if not folder.is_dir():
        raise InputError(f"{where}: not a folder of images")
    files = sorted(p for p in folder.iterdir() if is_image_file(p))
    if not files:
        raise InputError(f"{where}: contains no images ({', '.join(IMAGE_SUFFIXES)})")
    return files
