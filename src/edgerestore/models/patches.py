"""Training patches from folders of images, sampled deterministically per step and item.

Images are listed up front but decoded lazily (with the runtime's reader, so the
same EXIF/bit-depth rules apply) and kept as uint8 in a cache bounded in bytes: the
400 CBSD400 images stay in memory (~46 MB), while a folder of 50,000 photos is
decoded as patches need them. Every patch is drawn from a generator seeded with
``(seed, step, item)``: a resumed run sees exactly the batches an uninterrupted run
would have seen, and each data-parallel rank draws only its own items of the global
batch, identical to the ones a single process would draw.
"""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from edgerestore.errors import InputError, one_line
from edgerestore.runtime.image_files import list_images
from edgerestore.runtime.image_io import DEFAULT_MAX_PIXELS, read_image, to_uint

#: Decoded training images kept in memory, in bytes (older ones are decoded again).
CACHE_BYTES = 2 * 1024**3


def convert_channels(image: np.ndarray, channels: int, name: str = "image") -> np.ndarray:
    """Match an image to the model's channel count (RGB<->grey with ITU-R 601 weights)."""
    have = image.shape[2]
    if have in (2, 4):
        raise InputError(f"{name}: has an alpha channel; flatten or drop it first")
    if have == channels:
        return image
    if channels == 1:
        weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
        return (image @ weights)[:, :, None].astype(np.float32)
    return np.repeat(image, 3, axis=2)


def folder_list(folders: str | Path | Sequence[str | Path]) -> list[Path]:
    """``--data`` as a list: one folder (as older cards record it) or several."""
    return [Path(folders)] if isinstance(folders, str | Path) else [Path(f) for f in folders]


def folder_names(folders: str | Path | Sequence[str | Path]) -> str:
    """The training folders' names for a model card ("CBSD400" or "A, B")."""
    return ", ".join(f.name for f in folder_list(folders))


def check_headers(files: Sequence[Path]) -> None:
    """Refuse, in one :class:`InputError` naming them all, training images that cannot be used.

    Images are decoded only when a patch is drawn from them, so without this a corrupt
    file would stop a run hours in, or never be seen at all by a short one. Opening a
    file reads its header alone (format, size, mode: a few KB, no pixel decoding), so
    this costs little even for 50,000 photos; damage past the header is still found
    when the file is decoded.
    """
    bad = [f"{path.name} ({reason})" for path in files
           if (reason := _header_problem(path)) is not None]
    if bad:
        raise InputError(f"{len(bad)} of {len(files)} training images cannot be used; fix or "
                         f"remove them before training: {'; '.join(bad)}")


def _header_problem(path: Path) -> str | None:
    """Why the header of training image ``path`` rules it out, or None when it looks usable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # bomb and EXIF warnings: the reader decides
            with Image.open(path) as img:
                width, height, mode = img.width, img.height, img.mode
                transparent = "transparency" in img.info
    except Image.DecompressionBombError:
        return "too many pixels"
    except UnidentifiedImageError:
        return "not a recognised image"
    except (OSError, SyntaxError, ValueError) as exc:
        return f"corrupt header: {one_line(exc)[:80]}"
    if width == 0 or height == 0:
        return "zero size"
    if width * height > DEFAULT_MAX_PIXELS:
        return f"{width}x{height} exceeds {DEFAULT_MAX_PIXELS:,} pixels"
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and transparent):
        return "has an alpha channel; flatten or drop it first"
    return None


class ImageSource:
    """The training images of one or more folders, decoded on first use and cached."""

    def __init__(self, folders: str | Path | Sequence[str | Path], channels: int,
                 limit: int | None = None, cache_bytes: int = CACHE_BYTES) -> None:
        self.files = [f for folder in folder_list(folders) for f in list_images(folder)][:limit]
        check_headers(self.files)
        self.channels = channels
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_bytes, self._held = cache_bytes, 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> np.ndarray:
        """Image ``index`` as uint8 HxWxC."""
        with self._lock:
            if index in self._cache:
                self._cache.move_to_end(index)
                return self._cache[index]
        path = self.files[index]
        pixels, _info = read_image(path)
        image = to_uint(convert_channels(pixels, self.channels, str(path)))
        with self._lock:
            self._cache[index] = image
            self._held += image.nbytes
            while self._held > self._cache_bytes and len(self._cache) > 1:
                _, old = self._cache.popitem(last=False)
                self._held -= old.nbytes
        return image


def sample_patch(images: ImageSource, size: int, seed: int, step: int,
                 item: int) -> np.ndarray:
    """One float32 CxHxW random crop with a random flip and 90-degree rotation."""
    rng = np.random.default_rng([seed, step, item])
    img = images[int(rng.integers(len(images)))]
    h, w = img.shape[:2]
    if h < size or w < size:
        pad = ((0, max(0, size - h)), (0, max(0, size - w)), (0, 0))
        img = np.pad(img, pad, mode="reflect")
        h, w = img.shape[:2]
    y, x = rng.integers(h - size + 1), rng.integers(w - size + 1)
    crop = np.rot90(img[y:y + size, x:x + size], k=int(rng.integers(4)))
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    return crop.transpose(2, 0, 1).astype(np.float32) / 255.0


def sample_batch(images: ImageSource, items: range | Sequence[int], size: int, seed: int,
                 step: int) -> np.ndarray:
    """A float32 NxCxHxW batch: the patches ``items`` of step ``step``'s global batch."""
    return np.stack([sample_patch(images, size, seed, step, i) for i in items])
