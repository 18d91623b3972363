"""Calibration data for int8 export: noisy crops synthesised the way training made them.

Static quantisation fixes every activation's range from sample inputs, so the samples
must look like what the deployed network sees: clean crops (from a folder, or the
scikit-image samples bundled with the package) with noise drawn from the model's own
training noise (a range model gets a level drawn per crop), at the tile size the
file will run on. The same arrays drive onnxruntime's calibration reader and the
TFLite worker (through an ``.npz``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgerestore.errors import InputError
from edgerestore.export.graph import GraphSpec
from edgerestore.models.patches import convert_channels
from edgerestore.runtime.image_files import list_images
from edgerestore.runtime.image_io import read_opaque
from edgerestore.runtime.noise import NoiseSpec
from edgerestore.runtime.samples import COLOR_SAMPLES, load_sample


def level_value(noise: NoiseSpec, level: float) -> float:
    """A noise level as the graph's level input takes it: sigma in [0, 1], or lambda."""
    return level / 255.0 if noise.kind == "gauss" else level


def clean_images(folder: Path | None, channels: int, limit: int | None = None
                 ) -> list[tuple[str, np.ndarray]]:
    """(name, HxWxC float32 image) from ``folder``, or the bundled colour samples."""
    if folder is None:
        named = [(name, load_sample(name)) for name in COLOR_SAMPLES[:limit]]
    else:
        named = []
        for path in list_images(folder)[:limit]:
            pixels, _info = read_opaque(path)
            named.append((path.name, pixels))
    return [(name, convert_channels(image, channels, name).astype(np.float32))
            for name, image in named]


def calibration_set(images: list[tuple[str, np.ndarray]], spec: GraphSpec, noise: NoiseSpec,
                    tile: tuple[int, int], count: int, seed: int = 0) -> dict[str, np.ndarray]:
    """``count`` noisy random crops: ``{input name: [count, *input shape]}``."""
    height, width = tile
    usable = [img for _, img in images if img.shape[0] >= height and img.shape[1] >= width]
    if not usable:
        raise InputError(f"no calibration image is at least {height}x{width}; use a smaller "
                         "--tile or a folder of larger images")
    rng = np.random.default_rng(seed)
    noisy, levels = [], []
    for i in range(count):
        img = usable[i % len(usable)]
        top = int(rng.integers(0, img.shape[0] - height + 1))
        left = int(rng.integers(0, img.shape[1] - width + 1))
        crop, level = noise.apply(img[top : top + height, left : left + width], rng)
        batch = crop[None] if spec.layout == "NHWC" else crop.transpose(2, 0, 1)[None]
        noisy.append(batch.astype(np.float32))
        levels.append([level_value(noise, level)])
    data = {spec.input_names[0]: np.stack(noisy)}
    if spec.level_input:
        data[spec.level_input] = np.asarray(levels, dtype=np.float32)
    return data


def samples(data: dict[str, np.ndarray]) -> list[dict[str, np.ndarray]]:
    """One feed dict per calibration sample."""
    count = len(next(iter(data.values())))
    return [{name: array[i] for name, array in data.items()} for i in range(count)]
