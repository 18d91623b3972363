"""A denoiser from an exported file: any image size, configured by the file's card.

:class:`ExportedDenoiser` is what the device runs. It reads the metadata every
``edgerestore export`` file carries (task, layout, channels, tile, noise model,
receptive field) and from it decides how to feed the network:

* ``denoise_posterior`` (blind-spot net + Bayesian step in the graph): inputs are
  the noisy tile and the noise std; the output is the posterior mean.
* ``denoise_raw_prior`` (blind-spot net only): the output is the Gaussian prior
  (mean + covariance); the posterior mean is computed here in numpy.
* ``denoise_direct`` (AP-BSN, for camera noise): image in, denoised image out; no
  noise level (it has no noise model), so ``sigma`` is ignored. Its tiles start at
  multiples of the card's ``tile_align`` so that they match a whole-image run.
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
from edgerestore.runtime.image_io import check_unit_range, validate_image_array
from edgerestore.runtime.input_blend import blend_with_input
from edgerestore.runtime.model_card import DENOISER_TASKS, LEVEL_TASKS, MAX_SIGMA, parse_card
from edgerestore.runtime.presets import SIGMA_N_FLOOR
from edgerestore.runtime.sigma_estimate import estimate_sigma
from edgerestore.runtime.tiling import DEFAULT_BLEND, DEFAULT_MAX_TILE, TilePlan, run_tiled
from edgerestore.units import to_unit

#: Halo when a file does not record its receptive field (Laine's U-Net sees the whole
#: tile; 64 pixels of context is where its output stops changing measurably).
FALLBACK_HALO = 64

#: Noise std ([0, 1] units) assumed when the image shows none: about 8-bit quantisation
#: noise, the floor the plug-and-play solvers use too.
NOISE_FREE_SIGMA = SIGMA_N_FLOOR


class ExportedDenoiser:
    """Run an exported ``.onnx`` / ``.tflite`` denoiser on HxWxC float images in [0, 1]."""

    def __init__(self, path: str | Path, options: SessionOptions | None = None, *,
                 max_tile: int = DEFAULT_MAX_TILE, blend: int | None = None) -> None:
        """``max_tile``: largest tile side of a dynamic-shape model. ``blend``: the
        cross-fade between tiles, in pixels (see :mod:`~edgerestore.runtime.tiling`);
        ``None`` is :data:`DEFAULT_BLEND`, narrowed to what the tile leaves room for."""
        _check_pixels("max_tile", max_tile, 1)
        if blend is not None:
            _check_pixels("blend", blend, 0)
        self.session: Session = open_session(path, options)
        card = parse_card(self.metadata, str(path))
        if not card.is_denoiser:
            raise ModelFileError(f"{path}: task {card.task!r} is not a denoiser "
                                 f"(expected one of {', '.join(DENOISER_TASKS)})")
        self.task = card.task
        self.takes_level = card.task in LEVEL_TASKS
        if self.takes_level and card.noise.model not in ("gauss", "camera"):
            raise ModelFileError(f"{path}: noise model {card.noise.model!r}; the runtime "
                                 "denoiser handles Gaussian-noise models only")
        if card.channels is None:
            raise ModelFileError(f"{path}: its model card does not say how many channels "
                                 "the model takes; re-export it with edgerestore")
        self.channels = card.channels
        self.out_channels = card.out_channels
        self.layout = card.layout
        self.fixed_tile = card.tile
        if self.fixed_tile is None and card.square_multiple:
            raise ModelFileError(f"{path}: a square-only dynamic model; export it with a "
                                 "fixed --tile to run it on arbitrary images")
        self.halo = card.receptive_field // 2 if card.receptive_field else FALLBACK_HALO
        self.align = card.tile_align
        self.input_blend = card.input_blend
        self.tile = self.fixed_tile or (max_tile, max_tile)
        self.blend = self._fit_blend(blend)
        self.training_sigma = card.noise.training_sigma
        self.estimate_stride = card.noise.estimate_stride
        self.sigma_range = card.noise.level_range or (None, None)
        self._output_checked = False

    def _fit_blend(self, blend: int | None) -> int:
        """The blend, checked against the tile: neighbouring tiles overlap by twice the
        halo plus the blend and must still advance by a pixel (:class:`TilePlan`), so
        it is at most ``tile - 2 * halo - 1``. A larger one is refused; the default
        shrinks to fit (a tile with no room at all then fails only on images that need
        more than one tile, as before)."""
        room = max(min(self.tile) - 2 * self.halo - 1, 0)
        if blend is None:
            return min(DEFAULT_BLEND, room)
        if blend > room:
            raise InputError(f"blend must be at most {room} pixels for {self.path.name} "
                             f"(its {self.tile[0]}x{self.tile[1]} tiles less a {self.halo}-pixel "
                             f"halo on each side, less 1), got {blend}")
        return int(blend)

    @property
    def metadata(self) -> dict[str, Any]:
        return self.session.metadata

    @property
    def path(self) -> Path:
        return self.session.path

    @property
    def strength(self) -> float | None:
        """Noise std (in [0, 1] units) a fixed-strength MAP denoiser / DAE removes."""
        return None if self.training_sigma is None else to_unit(self.training_sigma)

    def tile_count(self, height: int, width: int) -> int:
        """How many network calls an ``height x width`` image takes (for progress bars)."""
        th, tw = self.tile
        if self.fixed_tile:
            height, width = max(height, th), max(width, tw)
        return TilePlan(height, width, min(th, height), min(tw, width), self.halo,
                        self.blend, self.align, self.fixed_tile is not None).count

    def resolve_sigma(self, image: np.ndarray, sigma: float | None) -> float:
        """The noise std ([0, 1] units) to tell a blind-spot model: given, else estimated.

        The estimate is measured the way the model was trained to expect (the card's
        sub-image stride: 2 for camera-noise models, 1 otherwise). An estimate below
        :data:`NOISE_FREE_SIGMA` (a clean, flat or synthetic image: the MAD of its
        finest wavelet band is 0) is raised to it, the same role the variance floor
        plays in the Python API: the model then leaves the image as it is.
        """
        if sigma is None:
            return max(estimate_sigma(image, self.estimate_stride), NOISE_FREE_SIGMA)
        real = isinstance(sigma, (int, float, np.integer, np.floating))
        if isinstance(sigma, bool) or not real or not (0 < sigma <= to_unit(MAX_SIGMA)):
            raise InputError(f"sigma must be a number in (0, {to_unit(MAX_SIGMA):g}] "
                             f"([0, 1] units), got {sigma!r:.40}")
        return float(sigma)

    def denoise(self, image: np.ndarray, sigma: float | None = None,
                on_tile: Callable[[], None] | None = None) -> np.ndarray:
        """Denoise ``image`` (HxW or HxWxC, [0, 1]); ``sigma`` in [0, 1] units.

        For blind-spot models ``sigma=None`` estimates the noise (MAD); AP-BSN, MAP
        denoisers and DAEs take no level and ignore ``sigma``. This is where a caller's
        image enters, so its range is checked here (0-255 values give garbage output).
        """
        squeeze = np.ndim(image) == 2
        image = validate_image_array(image)
        check_unit_range(image)
        out = self._denoise(image, sigma, on_tile)
        return out[:, :, 0] if squeeze else out

    def __call__(self, image: np.ndarray, sigma: float | None) -> np.ndarray:
        """The plug-and-play :class:`Denoiser` protocol: :meth:`denoise` without its
        range check of the image.

        No range check: the solvers call this on ADMM / HQS iterates (``x + u``), which
        legitimately leave [0, 1] by more than any slack; the user's image was checked
        where it entered the solver (:func:`edgerestore.runtime.forward.observation`).
        """
        squeeze = np.ndim(image) == 2
        image = validate_image_array(image, "denoiser input")
        out = self._denoise(image, sigma, None)
        return out[:, :, 0] if squeeze else out

    def _denoise(self, image: np.ndarray, sigma: float | None,
                 on_tile: Callable[[], None] | None) -> np.ndarray:
        """Denoise a validated HxWxC array of any range, tile by tile."""
        if image.shape[2] != self.channels:
            raise InputError(f"{self.path.name} takes {self.channels}-channel images, "
                             f"got {image.shape[2]} channels")
        image = image.astype(np.float32, copy=False)
        level = None
        if self.takes_level:
            level = self.resolve_sigma(image, sigma)
        out = run_tiled(image, lambda tile: self._run_tile(tile, level), tile=self.tile,
                        halo=self.halo, blend=self.blend, fixed=self.fixed_tile is not None,
                        align=self.align, on_tile=on_tile)
        if self.input_blend is not None:  # once, on the whole image: one weight for all tiles
            out = blend_with_input(image, out, self.input_blend)
        return out

    def _run_tile(self, tile: np.ndarray, level: float | None) -> np.ndarray:
        batch = tile[None] if self.layout == "NHWC" else tile.transpose(2, 0, 1)[None]
        feeds = {self.session.input_names[0]: np.ascontiguousarray(batch, np.float32)}
        if len(self.session.input_names) > 1:
            feeds[self.session.input_names[1]] = np.array([level], np.float32)
        raw = self.session.run(feeds)
        if not self._output_checked:
            self._check_output(raw, tile.shape)
        out = np.asarray(raw, np.float32)
        out = out[0] if self.layout == "NHWC" else out[0].transpose(1, 2, 0)
        if not np.all(np.isfinite(out)):
            raise ModelFileError(f"{self.path}: the model returned NaN or infinite values")
        if self.task == "denoise_raw_prior":
            out = bayes.posterior_mean(out, tile, level**2).astype(np.float32)
        return out

    def _check_output(self, raw: Any, tile_shape: tuple[int, ...]) -> None:
        """Compare the first output with what the card promises (once per session).

        A graph that returns another size or channel count would otherwise be written
        out as a wrong image, or fail deep inside the tiler with a broadcast error.
        """
        out = np.asarray(raw)
        h, w = tile_shape[:2]
        channels = self.out_channels if self.task == "denoise_raw_prior" else self.channels
        want = (1, h, w, channels) if self.layout == "NHWC" else (1, channels, h, w)
        shape_ok = out.ndim == 4 and all(
            want_n is None or got == want_n for got, want_n in zip(out.shape, want, strict=True))
        if not shape_ok or not np.issubdtype(out.dtype, np.floating):
            shown = tuple("?" if v is None else v for v in want)
            raise ModelFileError(f"{self.path}: the model returned {out.dtype} {out.shape} "
                                 f"for a {self.layout} tile; its card promises float {shown}")
        self._output_checked = True


def _check_pixels(name: str, value: object, low: int) -> None:
    """Refuse a tiling size that is not a whole number of pixels >= ``low``: a negative
    blend gives the tiler's cross-fade a negative length, a broadcast error mid-run."""
    whole = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not whole or value < low:
        raise InputError(f"{name} must be a whole number of pixels >= {low}, got {value!r:.40}")
