"""Sampling an exported generator on the device: latent in, image grid out (torch-free).

The exported file's card (task ``generate``) says everything needed: the latent
input's name and size, the output name and ``[C, H, W]`` shape, whether the batch
is fixed (TFLite files are) and the value range. Latents are standard normal from
a seeded numpy generator, so ``--seed`` gives the same grid on every machine up to
the backend's float rounding. A fixed-batch file is run in whole batches, the last
one padded with extra latents and trimmed.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from edgerestore.errors import InputError, MissingDependencyError, ModelFileError, one_line
from edgerestore.runtime.atomic import check_output
from edgerestore.runtime.image_io import write_image
from edgerestore.runtime.model_files import exported_format
from edgerestore.runtime.model_metadata import read_card

#: Most samples one call may draw (a grid beyond this is unreadable anyway).
MAX_SAMPLES = 4096


class ExportedGenerator:
    """An exported generator file, configured from its own card."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        card = read_card(self.path)
        if card.task != "generate":
            raise ModelFileError(f"{self.path}: is a {card.task!r} model, not a generator "
                                 "(task 'generate'); run denoisers with edgerestore denoise, "
                                 "deblur, inpaint or upscale")
        self.latent_dim = card.latent_dim
        self.input_name = card.inputs[0]
        self.output_shape = list(card.output_shape or ())
        self.batch: int | None = card.batch
        self.card = card.raw
        self._run = (self._onnx_runner() if exported_format(self.path) == "onnx"
                     else self._tflite_runner())

    def _onnx_runner(self) -> Any:
        import onnxruntime as ort  # in the base install

        try:
            session = ort.InferenceSession(str(self.path), providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelFileError(f"{self.path}: onnxruntime cannot load it "
                                 f"({one_line(exc)})") from exc
        return lambda z: session.run(None, {self.input_name: z})[0]

    def _tflite_runner(self) -> Any:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise MissingDependencyError("ai-edge-litert", "litert",
                                         "running .tflite files") from exc
        try:
            runner = Interpreter(model_path=str(self.path)).get_signature_runner()
        except Exception as exc:  # LiteRT raises untyped errors for damaged files
            raise ModelFileError(f"{self.path}: LiteRT cannot load it ({one_line(exc)})") from exc
        return lambda z: next(iter(runner(**{self.input_name: z}).values()))

    def latents(self, n: int, seed: int) -> np.ndarray:
        """The ``[n, latent_dim]`` standard-normal latents ``sample(n, seed)`` uses."""
        return np.random.default_rng(seed).standard_normal((n, self.latent_dim),
                                                           dtype=np.float32)

    def run(self, z: np.ndarray) -> np.ndarray:
        """Generator output for latents ``z``, in whole batches when the batch is fixed."""
        step = self.batch or len(z)
        outs = []
        for start in range(0, len(z), step):
            chunk = z[start:start + step]
            short = step - len(chunk)
            if short:
                chunk = np.concatenate([chunk, np.zeros((short, z.shape[1]), np.float32)])
            try:
                out = np.asarray(self._run(np.ascontiguousarray(chunk)), np.float32)
            except Exception as exc:  # the backends' untyped errors: the graph refused z
                raise ModelFileError(f"{self.path}: the model refused latents of the size its "
                                     f"card gives ({one_line(exc)})") from exc
            if out.size != len(chunk) * math.prod(self.output_shape):
                raise ModelFileError(f"{self.path}: the model returned shape {out.shape}; its "
                                     f"card promises {len(chunk)} x {self.output_shape}")
            outs.append(out[:len(chunk) - short])
        samples = np.concatenate(outs).reshape(len(z), *self.output_shape)
        if not np.all(np.isfinite(samples)):
            raise ModelFileError(f"{self.path}: the model returned NaN or infinite values")
        return samples

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` samples ``[n, C, H, W]`` clipped to [0, 1]."""
        check_count(n)
        return np.clip(self.run(self.latents(n, seed)), 0.0, 1.0)


def check_count(n: int) -> None:
    """Refuse sample counts outside 1..MAX_SAMPLES before any model is opened."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_SAMPLES:
        raise InputError(f"-n {n}: draw between 1 and {MAX_SAMPLES} samples")


def grid(images: np.ndarray, columns: int | None = None, scale: int = 4) -> np.ndarray:
    """``[N, C, H, W]`` samples tiled into one ``[H', W', C]`` image, 1-pixel white gutters.

    Small samples (8x8 digits) are enlarged ``scale`` times by pixel repetition so the
    grid is viewable without a zoom.
    """
    n, c, h, w = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    tiles = images.repeat(scale, 2).repeat(scale, 3).transpose(0, 2, 3, 1)
    th, tw = h * scale, w * scale
    out = np.ones((rows * (th + 1) + 1, columns * (tw + 1) + 1, c), np.float32)
    for i, tile in enumerate(tiles):
        r, col = divmod(i, columns)
        top, left = 1 + r * (th + 1), 1 + col * (tw + 1)
        out[top:top + th, left:left + tw] = tile
    return out


def generate_grid(model: str | Path, n: int, out: str | Path, seed: int = 0) -> np.ndarray:
    """Sample ``n`` images from an exported generator and write their grid to ``out``."""
    check_count(n)
    out = Path(out)
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"):
        raise InputError(f"{out}: write the grid as an image file (.png)")
    generator = ExportedGenerator(model)
    shape = generator.output_shape
    if len(shape) != 3 or shape[0] not in (1, 3, 4):
        raise ModelFileError(f"{model}: its samples have shape {shape}, not an image "
                             "[C, H, W] with C = 1, 3 or 4 that a grid can show")
    check_output(out, reads=[model])
    samples = generator.sample(n, seed)
    image = grid(samples)
    write_image(out, image)
    return samples
