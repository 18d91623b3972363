"""The camera-noise benchmark's cases and cache (``camera_noise.py``): conditions, the
8-bit noisy crops of each (image, condition), and the on-disk result cache."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgerestore.runtime.atomic import atomic_write
from edgerestore.runtime.image_files import list_images
from edgerestore.runtime.image_io import read_image, write_image
from edgerestore.runtime.metrics import quantize8
from edgerestore.runtime.noise import NoiseSpec
from edgerestore.runtime.sigma_estimate import CORRELATED_NOISE_STRIDE, estimate_sigma


@dataclass(frozen=True)
class Condition:
    iso: int
    jpeg: int | None

    @property
    def spec(self) -> str:
        return f"camera:iso={self.iso}" + (f",jpeg={self.jpeg}" if self.jpeg else "")

    @property
    def label(self) -> str:
        return f"ISO {self.iso}" + (f", JPEG {self.jpeg}" if self.jpeg else ", no JPEG")


@dataclass
class Case:
    """One (image, condition): the clean crop, its 8-bit noisy photo, the plain MAD sigma
    and the sub-image one (stride :data:`CORRELATED_NOISE_STRIDE`), both 0-255."""

    name: str
    index: int
    condition: Condition
    clean: np.ndarray
    noisy: np.ndarray
    noisy_hash: str
    mad_sigma: float
    measured_sigma: float
    outputs: dict[str, np.ndarray] = field(default_factory=dict)


def centre_crop(image: np.ndarray, size: int) -> np.ndarray:
    """The centred ``size`` x ``size`` crop (the whole image when ``size`` is 0 or larger)."""
    h, w = image.shape[:2]
    if size <= 0 or size >= min(h, w):
        return image
    top, left = (h - size) // 2, (w - size) // 2
    return image[top:top + size, left:left + size]


def make_cases(folder: Path, count: int, crop: int, conditions: list[Condition], seed: int,
               cache: Path) -> list[Case]:
    """The 8-bit noisy photos (cached as PNG: the camera pipeline is not free either)."""
    cases = []
    noisy_dir = cache / "noisy"
    noisy_dir.mkdir(parents=True, exist_ok=True)
    for index, path in enumerate(list_images(folder)[:count]):
        image, _ = read_image(path)
        clean = centre_crop(image[:, :, :3], crop).astype(np.float64)
        for cond in conditions:
            stored = noisy_dir / (f"{path.stem}_crop{crop}_seed{seed}_iso{cond.iso}"
                                  f"_jpeg{cond.jpeg or 0}.png")
            if stored.is_file():
                noisy = read_image(stored)[0].astype(np.float32)
            else:
                rng = np.random.default_rng([seed, index, cond.iso, cond.jpeg or 0])
                raw, _ = NoiseSpec.parse(cond.spec).apply(clean, rng)
                noisy = quantize8(raw).astype(np.float32)
                write_image(stored, noisy)
            digest = hashlib.sha256(noisy.tobytes()).hexdigest()
            cases.append(Case(path.name, index, cond, clean, noisy, digest,
                              estimate_sigma(noisy) * 255.0,
                              estimate_sigma(noisy, CORRELATED_NOISE_STRIDE) * 255.0))
    return cases


class ResultCache:
    """8-bit outputs on disk (``<key>.png``) plus what it cost (``<key>.json``).

    The protocol scores the 8-bit output, so storing it as an 8-bit PNG loses nothing.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder / "results"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.hits = self.misses = 0

    def get(self, key: dict[str, Any], compute: Callable[[], np.ndarray]
            ) -> tuple[np.ndarray, dict[str, Any]]:
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]
        png, meta = self.folder / f"{digest}.png", self.folder / f"{digest}.json"
        if png.is_file() and meta.is_file():
            self.hits += 1
            return read_image(png)[0], {**json.loads(meta.read_text()), "cached": True}
        self.misses += 1
        wall, cpu = time.perf_counter(), time.process_time()
        out = quantize8(compute()).astype(np.float32)
        record = {**key, "seconds": round(time.perf_counter() - wall, 3),
                  "cpu_seconds": round(time.process_time() - cpu, 3)}
        write_image(png, out)
        atomic_write(meta, json.dumps(record, indent=1).encode())
        return out, {**record, "cached": False}


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
