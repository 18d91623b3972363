"""Synthetic noise models, seeded and unclipped by default.

These follow the conventions of the published benchmarks (and of Laine et al.
2019, whose noise configurations the blind-spot trainer reuses):

* Gaussian: ``y = x + N(0, sigma^2)``, sigma in 0-255 units unless ``units="unit"``.
* Poisson: ``y = Poisson(lambda * x) / lambda`` (lambda = photons at full scale).
* Poisson-Gaussian: Poisson as above plus Gaussian read noise.
* Impulse (Laine's definition): each pixel, with probability ``alpha``, is replaced
  by a uniformly random value (all channels of that pixel at once).

Noise is never clipped unless ``clip=True``: clipping changes the noise
distribution and the published numbers are for unclipped noise.

A :class:`NoiseSpec` parses strings such as ``gauss:25``, ``gauss:5-50``,
``poisson:30``, ``poisson:5-50``, ``pg:30,10`` or ``impulse:0.5`` (and Laine's
names ``gauss25``, ``gauss5_50``, ``poisson30``, ``poisson5_50``); a range draws
one level uniformly per image. ``camera:iso=1600,jpeg=90`` is the camera-pipeline
simulator of :mod:`camera_noise` (spatially correlated noise; its level is the ISO).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

from edgerestore.errors import InputError
from edgerestore.runtime.camera_noise import CameraSpec

Kind = Literal["gauss", "poisson", "pg", "impulse", "camera"]

#: Largest Poisson lambda (photons at full scale; numpy's sampler stops near 1e19) and
#: Gaussian sigma (0-255 units: beyond this the image is gone) a spec may ask for.
MAX_LAMBDA = 1e9
MAX_SIGMA = 1000.0


def _check(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if not np.issubdtype(image.dtype, np.floating):
        raise InputError(f"noise needs a float image in [0, 1], got {image.dtype}")
    if not np.all(np.isfinite(image)):
        raise InputError("image contains NaN or infinite values")
    return image


def add_gaussian_noise(
    image: np.ndarray,
    sigma: float,
    rng: np.random.Generator,
    *,
    units: Literal["255", "unit"] = "255",
    clip: bool = False,
) -> np.ndarray:
    """Add white Gaussian noise of standard deviation ``sigma`` (0-255 units by default)."""
    image = _check(image)
    if not _real(sigma) or not 0 <= sigma <= (MAX_SIGMA if units == "255" else MAX_SIGMA / 255):
        raise InputError(f"sigma must be a number in [0, {MAX_SIGMA:g}] (0-255 units), "
                         f"got {sigma!r:.40}")
    s = sigma / 255.0 if units == "255" else sigma
    noisy = image + rng.normal(0.0, s, size=image.shape)
    return _finish(noisy, image.dtype, clip)


def add_poisson_noise(
    image: np.ndarray, lam: float, rng: np.random.Generator, *, clip: bool = False
) -> np.ndarray:
    """Poisson (shot) noise: ``Poisson(lam * x) / lam``; ``lam`` is photons at full scale."""
    image = _check(image)
    if not _real(lam) or not 0 < lam <= MAX_LAMBDA:
        raise InputError(f"Poisson lambda must be in (0, {MAX_LAMBDA:g}], got {lam!r:.40}")
    if image.min(initial=0.0) < 0:
        raise InputError("Poisson noise needs a non-negative image")
    noisy = rng.poisson(lam * image.astype(np.float64)) / lam
    return _finish(noisy, image.dtype, clip)


def add_poisson_gaussian_noise(
    image: np.ndarray,
    lam: float,
    sigma: float,
    rng: np.random.Generator,
    *,
    units: Literal["255", "unit"] = "255",
    clip: bool = False,
) -> np.ndarray:
    """Poisson noise at ``lam`` photons, then Gaussian read noise of ``sigma``."""
    shot = add_poisson_noise(image, lam, rng)
    return add_gaussian_noise(shot, sigma, rng, units=units, clip=clip)


def add_impulse_noise(
    image: np.ndarray, alpha: float, rng: np.random.Generator
) -> np.ndarray:
    """Replace each pixel, with probability ``alpha``, by a uniform random colour."""
    image = _check(image)
    if not _real(alpha) or not 0.0 <= alpha <= 1.0:
        raise InputError(f"impulse probability must be in [0, 1], got {alpha}")
    hit = rng.random((*image.shape[:-1], 1)) < alpha
    return np.where(hit, rng.random(image.shape), image).astype(image.dtype)


def _real(value: object) -> bool:
    """A finite real number (not a string, an array or a bool)."""
    return (isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, bool) and bool(np.isfinite(value)))


def _finish(noisy: np.ndarray, dtype: np.dtype, clip: bool) -> np.ndarray:
    if clip:
        noisy = np.clip(noisy, 0.0, 1.0)
    return noisy.astype(dtype)


_LAINE_NAMES = {
    "gauss25": "gauss:25",
    "gauss5_50": "gauss:5-50",
    "poisson30": "poisson:30",
    "poisson5_50": "poisson:5-50",
}
_NUM = r"\d+(?:\.\d+)?"
_LEVEL = re.compile(rf"^({_NUM})(?:-({_NUM}))?$")


@dataclass(frozen=True)
class NoiseSpec:
    """A noise configuration: kind plus a fixed level or a range drawn per image.

    ``low``/``high`` are sigma (0-255) for ``gauss``, lambda for ``poisson`` and
    ``pg``, and the replacement probability for ``impulse``; ``read_sigma`` is the
    Gaussian part of ``pg``.
    """

    kind: Kind
    low: float
    high: float
    read_sigma: float = 0.0
    camera: CameraSpec | None = None  # kind "camera": everything but the ISO range

    @classmethod
    def parse(cls, text: str) -> NoiseSpec:
        """Parse ``kind:level``, ``kind:low-high``, ``pg:lambda,sigma`` or a Laine name."""
        raw = text.strip().lower()
        raw = _LAINE_NAMES.get(raw, raw)
        kind, _, arg = raw.partition(":")
        if kind == "camera":
            camera = CameraSpec.parse(text, arg)
            return cls("camera", camera.iso_low, camera.iso_high, camera=camera)
        if kind not in ("gauss", "poisson", "pg", "impulse") or not arg:
            raise InputError(
                f"bad noise {text!r}: use gauss:SIGMA, gauss:LO-HI, poisson:LAMBDA, "
                "poisson:LO-HI, pg:LAMBDA,SIGMA, impulse:ALPHA, camera:iso=ISO,jpeg=Q "
                "(or gauss25, gauss5_50, ...)"
            )
        read_sigma = 0.0
        if kind == "pg":
            level, _, rs = arg.partition(",")
            if not re.fullmatch(_NUM, rs or ""):
                raise InputError(f"bad noise {text!r}: pg needs LAMBDA,SIGMA")
            read_sigma, arg = float(rs), level
        match = _LEVEL.match(arg)
        if not match:
            raise InputError(f"bad noise level in {text!r}")
        low = float(match.group(1))
        high = float(match.group(2)) if match.group(2) else low
        if high < low:
            raise InputError(f"bad noise range in {text!r}: {low} > {high}")
        if kind in ("poisson", "pg") and not 0 < low <= high <= MAX_LAMBDA:
            raise InputError(f"bad noise {text!r}: lambda must be in (0, {MAX_LAMBDA:g}]")
        if max(high if kind == "gauss" else 0.0, read_sigma) > MAX_SIGMA:
            raise InputError(f"bad noise {text!r}: sigma must be at most {MAX_SIGMA:g} "
                             "(0-255 units)")
        if kind == "impulse" and high > 1:
            raise InputError(f"bad noise {text!r}: impulse probability must be <= 1")
        return cls(kind, low, high, read_sigma)  # type: ignore[arg-type]

    @property
    def is_range(self) -> bool:
        return self.high > self.low

    def __str__(self) -> str:
        if self.camera is not None:
            return str(self.camera)
        level = f"{self.low:g}" if not self.is_range else f"{self.low:g}-{self.high:g}"
        return f"{self.kind}:{level}" + (f",{self.read_sigma:g}" if self.kind == "pg" else "")

    def draw_level(self, rng: np.random.Generator) -> float:
        """The level for one image: fixed, or uniform in [low, high] (camera: log-uniform)."""
        if self.camera is not None:
            return self.camera.draw_iso(rng)
        return float(rng.uniform(self.low, self.high)) if self.is_range else self.low

    def apply(
        self, image: np.ndarray, rng: np.random.Generator, level: float | None = None
    ) -> tuple[np.ndarray, float]:
        """Noisy copy of ``image`` and the level used (drawn if not given)."""
        level = self.draw_level(rng) if level is None else level
        if self.camera is not None:
            return self.camera.apply(image, rng, level), level
        if self.kind == "gauss":
            return add_gaussian_noise(image, level, rng), level
        if self.kind == "poisson":
            return add_poisson_noise(image, level, rng), level
        if self.kind == "pg":
            return add_poisson_gaussian_noise(image, level, self.read_sigma, rng), level
        return add_impulse_noise(image, level, rng), level
