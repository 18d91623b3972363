"""Training patches from a folder of images, sampled deterministically per step.

Images are decoded once (with the runtime's reader, so the same EXIF/bit-depth rules
apply) and kept as uint8 in memory: CBSD400 is ~46 MB that way. Every batch is
drawn from a generator seeded with ``(seed, step)``, which makes a resumed run see
exactly the batches an uninterrupted run would have seen, with no sampler state to
checkpoint.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgerestore.console import progress
from edgerestore.errors import InputError
from edgerestore.runtime.image_io import read_image, to_uint

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}


def list_images(folder: str | Path) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder of images")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InputError(f"{folder}: contains no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return files


def load_images(folder: str | Path, channels: int, limit: int | None = None) -> list[np.ndarray]:
    """Decode a folder into uint8 HxWxC arrays with ``channels`` = 1 (grey) or 3 (RGB)."""
    files = list_images(folder)[:limit]
    images = []
    for path in progress(files, desc=f"load {Path(folder).name}", unit="img"):
        pixels, _info = read_image(path)
        images.append(to_uint(convert_channels(pixels, channels, str(path))))
    return images


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


def sample_batch(
    images: list[np.ndarray], batch: int, size: int, seed: int, step: int
) -> np.ndarray:
    """A float32 NxCxHxW batch of random crops with random flips and 90-degree rotations."""
    rng = np.random.default_rng([seed, step])
    out = []
    for _ in range(batch):
        img = images[rng.integers(len(images))]
        h, w = img.shape[:2]
        if h < size or w < size:
            pad = ((0, max(0, size - h)), (0, max(0, size - w)), (0, 0))
            img = np.pad(img, pad, mode="reflect")
            h, w = img.shape[:2]
        y, x = rng.integers(h - size + 1), rng.integers(w - size + 1)
        crop = img[y:y + size, x:x + size]
        crop = np.rot90(crop, k=int(rng.integers(4)))
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        out.append(np.ascontiguousarray(crop.transpose(2, 0, 1)))
    return np.stack(out).astype(np.float32) / 255.0
