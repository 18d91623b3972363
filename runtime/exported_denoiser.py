"""A denoiser from an exported file: any image size, configured by the file's card.

:class:`ExportedDenoiser` is what the device runs. It reads the metadata every
``edgerestore export`` file carries (task, layout, channels, tile, noise model,
receptive field) and from it decides how to feed the network:

* ``denoise_posterior`` (blind-spot net + Bayesian step in the graph): inputs are
  the noisy tile and the noise std; the output is the posterior mean.
* ``denoise_raw_prior`` (blind-spot net only): the output is the Gaussian prior
  (mean + covariance); the posterior mean is computed here in numpy.
* ``map_denoiser`` / ``dae`` (Bigdeli et al.): image in, image out, one fixed
  strength, which is what the plug-and-play solvers need as their prior step.

Fixed-shape files (TFLite) are run tile by tile at their tile size; dynamic ONNX
files in tiles of at most :data:`DEFAULT_MAX_TILE` pixels, so memory stays bounded
on any photo (see :mod:`edgerestore.runtime.tiling`). The object is also a
:class:`~edgerestore.runtime.denoiser_protocol.Denoiser`, so the ADMM / HQS loops of
:mod:`edgerestore.runtime.pnp` run unchanged on it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edgerestore.errors import InputError, ModelFileError
from edgerestore.runtime import bayes
from edgerestore.runtime.backends import Session, SessionOptions, open_session
from edgerestore.runtime.image_io import validate_image_array
from edgerestore.runtime.sigma_estimate import estimate_sigma
from edgerestore.runtime.tiling import DEFAULT_BLEND, TilePlan, run_tiled

#: Largest tile side for dynamic-shape models: bounds activation memory per call.
DEFAULT_MAX_TILE = 512
#: Halo when a file does not record its receptive field (Laine's U-Net sees the whole
#: tile; 64 pixels of context is where its output stops changing measurably).
FALLBACK_HALO = 64

TASKS = ("denoise_posterior", "denoise_raw_prior", "map_denoiser", "dae")


class ExportedDenoiser:
    """Run an exported ``.onnx`` / ``.tflite`` denoiser on HxWxC float images in [0, 1]."""

    def __init__(self, path: str | Path, options: SessionOptions | None = None, *,
                 max_tile: int = DEFAULT_MAX_TILE, blend: int = DEFAULT_BLEND) -> None:
        self.session: Session = open_session(path, options)
        meta = self.metadata
        self.task = meta.get("task")
        if self.task not in TASKS:
            raise ModelFileError(f"{path}: task {self.task!r} is not a denoiser "
                                 f"(expected one of {', '.join(TASKS)})")
        noise = meta.get("noise") or {}
        if self.task.startswith("denoise_") and noise.get("model") != "gauss":
            raise ModelFileError(f"{path}: noise model {noise.get('model')!r}; the runtime "
                                 "denoiser handles Gaussian-noise models only")
        self.channels = int(meta["channels"])
        self.layout = meta.get("layout", "NCHW")
        self.fixed_tile = tuple(meta["tile"]) if meta.get("tile") else None
        if self.fixed_tile is None and meta.get("square_multiple"):
            raise ModelFileError(f"{path}: a square-only dynamic model; export it with a "
                                 "fixed --tile to run it on arbitrary images")
        rf = meta.get("receptive_field")
        self.halo = int(rf) // 2 if rf else FALLBACK_HALO
        self.tile = self.fixed_tile or (max_tile, max_tile)
        self.blend = blend
        self.training_sigma = noise.get("training_sigma")
        low, high = noise.get("level_range") or (None, None)
        self.sigma_range = (low, high)

    @property
    def metadata(self) -> dict[str, Any]:
        return self.session.metadata

    @property
    def path(self) -> Path:
        return self.session.path

    @property
    def strength(self) -> float | None:
        """Noise std (in [0, 1] units) a fixed-strength MAP denoiser / DAE removes."""
        return None if self.training_sigma is None else float(self.training_sigma) / 255.0

    def tile_count(self, height: int, width: int) -> int:
        """How many network calls an ``height x width`` image takes (for progress bars)."""
        th, tw = self.tile
        if self.fixed_tile:
            height, width = max(height, th), max(width, tw)
        return TilePlan(height, width, min(th, height), min(tw, width), self.halo,
                        self.blend).count

    def resolve_sigma(self, image: np.ndarray, sigma: float | None) -> float:
        """The noise std (0-255 units) to tell a blind-spot model: given, else estimated."""
        if sigma is None:
            return estimate_sigma(image) * 255.0
        if not (np.isfinite(sigma) and sigma > 0):
            raise InputError(f"sigma must be positive and finite (0-255 units), got {sigma}")
        return float(sigma)

    def denoise(self, image: np.ndarray, sigma: float | None = None,
                on_tile: Callable[[], None] | None = None) -> np.ndarray:
        """Denoise ``image`` (HxW or HxWxC, [0, 1]); ``sigma`` in 0-255 units.

        For blind-spot models ``sigma=None`` estimates the noise (MAD); MAP denoisers
        and DAEs have one fixed strength and ignore ``sigma``.
        """
        squeeze = np.ndim(image) == 2
        image = validate_image_array(image)
        if image.shape[2] != self.channels:
            raise InputError(f"{self.path.name} takes {self.channels}-channel images, "
                             f"got {image.shape[2]} channels")
        image = image.astype(np.float32, copy=False)
        level = None
        if self.task.startswith("denoise_"):
            level = self.resolve_sigma(image, sigma) / 255.0
        out = run_tiled(image, lambda tile: self._run_tile(tile, level), tile=self.tile,
                        halo=self.halo, blend=self.blend, fixed=self.fixed_tile is not None,
                        on_tile=on_tile)
        return out[:, :, 0] if squeeze else out

    def __call__(self, image: np.ndarray, sigma: float | None) -> np.ndarray:
        """The plug-and-play :class:`Denoiser` protocol (``sigma`` in [0, 1] units)."""
        return self.denoise(image, None if sigma is None or not self.task.startswith(
            "denoise_") else sigma * 255.0)

    def _run_tile(self, tile: np.ndarray, level: float | None) -> np.ndarray:
        batch = tile[None] if self.layout == "NHWC" else tile.transpose(2, 0, 1)[None]
        feeds = {self.session.input_names[0]: np.ascontiguousarray(batch, np.float32)}
        if len(self.session.input_names) > 1:
            feeds[self.session.input_names[1]] = np.array([level], np.float32)
        out = np.asarray(self.session.run(feeds), np.float32)
        out = out[0] if self.layout == "NHWC" else out[0].transpose(1, 2, 0)
        if self.task == "denoise_raw_prior":
            out = bayes.posterior_mean(out, tile, level**2).astype(np.float32)
        return out
