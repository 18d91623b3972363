"""Camera-pipeline noise: sRGB -> simulated raw sensor -> noise -> camera processing.

Why: a phone's noise is not independent from pixel to pixel. Demosaicing, white
balance, colour correction, tone mapping and JPEG spread each sensor's noise over its
neighbours, and a blind-spot network trained on such images learns to copy the centre
pixel's noise from them. This module produces that noise, seeded, so that training and
evaluation can use it.

The model is Brooks et al., "Unprocessing Images for Learned Raw Denoising" (CVPR
2019), written from the paper's equations:

* unprocess: inverse tone curve (inverse smoothstep ``0.5 - sin(asin(1 - 2y) / 3)``),
  inverse gamma (``x^2.2``), inverse colour correction (a random sRGB -> camera matrix:
  a random convex combination of the paper's four XYZ -> camera matrices times sRGB ->
  XYZ, rows normalised to sum 1), inverse white balance and brightening with the
  paper's highlight-preserving gain, clip, RGGB mosaic;
* noise: heteroscedastic Gaussian ``raw + N(0, shot * raw + read)`` with the paper's
  log-linear relation ``log read = 2.18 log shot + 1.20 + N(0, 0.26^2)``;
* process: white balance and brightening, clip, demosaic (``colour-demosaicing``:
  Malvar 2004 by default, bilinear or Menon 2007 on request), colour correction,
  clip, gamma ``x^(1/2.2)``, tone curve (smoothstep ``3x^2 - 2x^3``), optional JPEG
  (Pillow, 4:2:0 chroma as phones write it).

Two choices of ours, both documented in the spec string's help:

* ISO sets the shot noise linearly (sensor gain): ``shot = 1e-4 * ISO / 100``, so
  ISO 100 .. 12000 is exactly the paper's shot-noise range [1e-4, 0.012]; a range
  ``iso=LO-HI`` is drawn log-uniformly per image, as the paper draws the shot noise.
* The processing re-applies the brightening gain that unprocessing removed (the
  paper's process() omits it), so that with no noise the output matches the input
  (apart from highlight clipping and demosaicing error): the noisy image stays aligned
  with its clean original and PSNR against it means something.

Images are HxWxC floats in [0, 1] (values outside are clipped, as a camera's are); a
grey image goes through the colour pipeline as R = G = B and comes back as the mean
of the three channels. Odd sizes are padded by edge replication for the 2x2 mosaic
and cropped back.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image

from edgerestore.errors import InputError, MissingDependencyError

Demosaic = Literal["malvar", "bilinear", "menon"]

#: Brooks et al.'s XYZ -> camera matrices (four cameras); a random convex combination
#: of them is each simulated camera's colour matrix.
XYZ_TO_CAMS = np.array([
    [[1.0234, -0.2969, -0.2266], [-0.5625, 1.6328, -0.0469], [-0.0703, 0.2188, 0.6406]],
    [[0.4913, -0.0541, -0.0202], [-0.613, 1.3513, 0.2906], [-0.1564, 0.2151, 0.7183]],
    [[0.838, -0.263, -0.0639], [-0.2887, 1.0725, 0.2496], [-0.0627, 0.1427, 0.5438]],
    [[0.6596, -0.2079, -0.0562], [-0.4782, 1.3016, 0.1933], [-0.097, 0.1581, 0.5181]],
])
#: Linear sRGB (D65) -> XYZ.
RGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                       [0.2126729, 0.7151522, 0.0721750],
                       [0.0193339, 0.1191920, 0.9503041]])
GAMMA = 2.2
#: Grey level above which the inverse white-balance gain fades to 1 (highlights stay white).
HIGHLIGHT_INFLECTION = 0.9
#: Shot noise (variance per unit raw signal) at ISO 100; it grows linearly with ISO.
SHOT_AT_ISO100 = 1e-4
ISO_MIN, ISO_MAX = 100.0, 12800.0
#: Brooks et al.'s read-noise line in log space and its spread.
READ_SLOPE, READ_INTERCEPT, READ_SPREAD = 2.18, 1.20, 0.26
DEMOSAIC_METHODS: tuple[str, ...] = ("malvar", "bilinear", "menon")


@dataclass(frozen=True)
class CameraParams:
    """One simulated camera: sRGB -> camera colour matrix and the gains to undo."""

    rgb_to_cam: np.ndarray  # 3x3, rows sum to 1
    rgb_gain: float  # brightening (global exposure) gain
    red_gain: float  # white-balance gains
    blue_gain: float

    @property
    def cam_to_rgb(self) -> np.ndarray:
        return np.linalg.inv(self.rgb_to_cam)


def random_camera(rng: np.random.Generator) -> CameraParams:
    """The paper's random camera: convex mix of the XYZ -> camera set, random gains."""
    weights = rng.uniform(0.0, 1.0, size=(len(XYZ_TO_CAMS), 1, 1)) + 1e-8
    xyz_to_cam = (XYZ_TO_CAMS * weights).sum(axis=0) / weights.sum()
    rgb_to_cam = xyz_to_cam @ RGB_TO_XYZ
    rgb_to_cam /= rgb_to_cam.sum(axis=-1, keepdims=True)
    return CameraParams(rgb_to_cam, rgb_gain=float(1.0 / rng.normal(0.8, 0.1)),
                        red_gain=float(rng.uniform(1.9, 2.4)),
                        blue_gain=float(rng.uniform(1.5, 1.9)))


def noise_levels(iso: float, rng: np.random.Generator) -> tuple[float, float]:
    """(shot, read) variances at ``iso``: linear shot noise, Brooks' log-linear read noise."""
    shot = SHOT_AT_ISO100 * iso / 100.0
    log_read = READ_SLOPE * math.log(shot) + READ_INTERCEPT + rng.normal(0.0, READ_SPREAD)
    return shot, math.exp(log_read)


# --- the stages, each with its inverse -------------------------------------------------

def tone_curve(x: np.ndarray) -> np.ndarray:
    """Global tone mapping: smoothstep ``3x^2 - 2x^3``."""
    x = np.clip(x, 0.0, 1.0)
    return 3.0 * x**2 - 2.0 * x**3


def inverse_tone_curve(y: np.ndarray) -> np.ndarray:
    """Exact inverse of :func:`tone_curve` on [0, 1]."""
    y = np.clip(y, 0.0, 1.0)
    return 0.5 - np.sin(np.arcsin(1.0 - 2.0 * y) / 3.0)


def gamma_compress(x: np.ndarray) -> np.ndarray:
    """Linear -> display: ``x^(1/2.2)`` (clamped away from 0 as the paper does)."""
    return np.maximum(x, 1e-8) ** (1.0 / GAMMA)


def gamma_expand(y: np.ndarray) -> np.ndarray:
    """Display -> linear: ``y^2.2``."""
    return np.maximum(y, 1e-8) ** GAMMA


def apply_ccm(image: np.ndarray, ccm: np.ndarray) -> np.ndarray:
    """Multiply every HxWx3 pixel by a 3x3 colour matrix."""
    return image @ ccm.T


def invert_gains(image: np.ndarray, cam: CameraParams) -> np.ndarray:
    """Undo white balance and brightening, fading the gain to 1 near white.

    A plain division by the gains would turn a clipped white highlight grey; the paper
    blends the gain towards 1 above grey level 0.9 so saturated pixels stay saturated.
    """
    gains = np.array([1.0 / cam.red_gain, 1.0, 1.0 / cam.blue_gain]) / cam.rgb_gain
    grey = image.mean(axis=-1, keepdims=True)
    mask = (np.maximum(grey - HIGHLIGHT_INFLECTION, 0.0) / (1.0 - HIGHLIGHT_INFLECTION)) ** 2
    return image * np.maximum(mask + (1.0 - mask) * gains, gains)


def mosaic(image: np.ndarray) -> np.ndarray:
    """HxWx3 -> HxW RGGB Bayer image (H and W even)."""
    bayer = image[..., 1].copy()
    bayer[0::2, 0::2] = image[0::2, 0::2, 0]
    bayer[1::2, 1::2] = image[1::2, 1::2, 2]
    return bayer


def apply_gains(bayer: np.ndarray, cam: CameraParams) -> np.ndarray:
    """White balance and brightening on the RGGB mosaic (the inverse of :func:`invert_gains`
    below the highlight fade)."""
    out = bayer * cam.rgb_gain
    out[0::2, 0::2] *= cam.red_gain
    out[1::2, 1::2] *= cam.blue_gain
    return out


def demosaic(bayer: np.ndarray, method: Demosaic = "malvar") -> np.ndarray:
    """HxW RGGB -> HxWx3 with ``colour-demosaicing`` (a maintained implementation)."""
    try:
        import colour_demosaicing as cd
    except ImportError as exc:
        raise MissingDependencyError("colour-demosaicing", "camera",
                                     "camera-pipeline noise") from exc
    functions = {"malvar": cd.demosaicing_CFA_Bayer_Malvar2004,
                 "bilinear": cd.demosaicing_CFA_Bayer_bilinear,
                 "menon": cd.demosaicing_CFA_Bayer_Menon2007}
    return np.asarray(functions[method](bayer, "RGGB"), dtype=np.float64)


def jpeg_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    """Encode as 8-bit JPEG at ``quality`` (4:2:0 chroma) and decode, in memory."""
    pixels = np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, format="JPEG", quality=quality, subsampling=2)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("RGB"), dtype=np.float64) / 255.0


# --- the pipeline ----------------------------------------------------------------------

def unprocess(image: np.ndarray, cam: CameraParams) -> np.ndarray:
    """sRGB HxWx3 in [0, 1] -> linear RGGB raw HxW in [0, 1] (H, W even)."""
    linear = gamma_expand(inverse_tone_curve(image))
    raw_rgb = invert_gains(apply_ccm(linear, cam.rgb_to_cam), cam)
    return mosaic(np.clip(raw_rgb, 0.0, 1.0))


def add_raw_noise(bayer: np.ndarray, shot: float, read: float,
                  rng: np.random.Generator) -> np.ndarray:
    """Shot + read noise: ``N(0, shot * x + read)`` per photosite, independent."""
    variance = np.maximum(bayer, 0.0) * shot + read
    return bayer + rng.normal(0.0, 1.0, size=bayer.shape) * np.sqrt(variance)


def process(bayer: np.ndarray, cam: CameraParams, method: Demosaic = "malvar") -> np.ndarray:
    """Raw RGGB HxW -> sRGB HxWx3 in [0, 1]: what a camera's pipeline does."""
    balanced = np.clip(apply_gains(bayer, cam), 0.0, 1.0)
    rgb = np.clip(apply_ccm(demosaic(balanced, method), cam.cam_to_rgb), 0.0, 1.0)
    return tone_curve(gamma_compress(rgb))


# --- the spec --------------------------------------------------------------------------

_ISO = re.compile(r"^(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?$")
USAGE = ("camera[:iso=ISO|iso=LO-HI][,jpeg=QUALITY][,demosaic=malvar|bilinear|menon] "
         f"(ISO in [{ISO_MIN:g}, {ISO_MAX:g}], JPEG quality 1-100)")


@dataclass(frozen=True)
class CameraSpec:
    """A camera-noise configuration: ISO (fixed or a range), JPEG quality, demosaicing."""

    iso_low: float = ISO_MIN
    iso_high: float = ISO_MAX
    jpeg: int | None = None
    demosaic: Demosaic = "malvar"

    @classmethod
    def parse(cls, text: str, options: str) -> CameraSpec:
        """Parse the part after ``camera:`` (``text`` is the whole spec, for messages)."""
        values: dict[str, str] = {}
        for item in filter(None, options.split(",")):
            key, sep, value = item.partition("=")
            key = key.strip()
            if not sep or key not in ("iso", "jpeg", "demosaic") or key in values:
                raise InputError(f"bad noise {text!r}: use {USAGE}")
            values[key] = value.strip()
        low, high = ISO_MIN, ISO_MAX
        if "iso" in values:
            match = _ISO.match(values["iso"])
            if not match:
                raise InputError(f"bad noise {text!r}: iso must be a number or LO-HI")
            low = float(match.group(1))
            high = float(match.group(2)) if match.group(2) else low
            if not ISO_MIN <= low <= high <= ISO_MAX:
                raise InputError(f"bad noise {text!r}: iso must be in "
                                 f"[{ISO_MIN:g}, {ISO_MAX:g}] with LO <= HI")
        jpeg = None
        if "jpeg" in values:
            if not values["jpeg"].isdigit() or not 1 <= int(values["jpeg"]) <= 100:
                raise InputError(f"bad noise {text!r}: jpeg quality must be an integer 1-100")
            jpeg = int(values["jpeg"])
        method = values.get("demosaic", "malvar")
        if method not in DEMOSAIC_METHODS:
            raise InputError(f"bad noise {text!r}: demosaic must be one of "
                             f"{', '.join(DEMOSAIC_METHODS)}")
        return cls(low, high, jpeg, method)  # type: ignore[arg-type]

    def __str__(self) -> str:
        iso = (f"{self.iso_low:g}" if self.iso_high == self.iso_low
               else f"{self.iso_low:g}-{self.iso_high:g}")
        parts = [f"iso={iso}"]
        if self.jpeg is not None:
            parts.append(f"jpeg={self.jpeg}")
        if self.demosaic != "malvar":
            parts.append(f"demosaic={self.demosaic}")
        return "camera:" + ",".join(parts)

    def draw_iso(self, rng: np.random.Generator) -> float:
        """The ISO of one image: fixed, or log-uniform in the range (as the paper's shot)."""
        if self.iso_high == self.iso_low:
            return self.iso_low
        return float(math.exp(rng.uniform(math.log(self.iso_low), math.log(self.iso_high))))

    def apply(self, image: np.ndarray, rng: np.random.Generator,
              iso: float | None = None) -> np.ndarray:
        """A camera photo of ``image`` (HxWxC, C = 1 or 3): new random camera per call."""
        image = np.asarray(image)
        if (image.ndim != 3 or image.shape[-1] not in (1, 3)
                or not np.issubdtype(image.dtype, np.floating)):
            raise InputError("camera noise needs an HxWx1 or HxWx3 float image in [0, 1], "
                             f"got {image.dtype} {image.shape}")
        if not np.all(np.isfinite(image)):
            raise InputError("image contains NaN or infinite values")
        iso = self.draw_iso(rng) if iso is None else iso
        if not ISO_MIN <= iso <= ISO_MAX:
            raise InputError(f"ISO must be in [{ISO_MIN:g}, {ISO_MAX:g}], got {iso:g}")
        height, width = image.shape[:2]
        rgb = np.broadcast_to(image, (height, width, 3)).astype(np.float64)
        rgb = np.pad(rgb, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
        cam = random_camera(rng)
        shot, read = noise_levels(iso, rng)
        noisy_raw = add_raw_noise(unprocess(rgb, cam), shot, read, rng)
        out = process(noisy_raw, cam, self.demosaic)[:height, :width]
        if self.jpeg is not None:
            out = jpeg_roundtrip(out, self.jpeg)
        if image.shape[-1] == 1:
            out = out.mean(axis=-1, keepdims=True)
        return out.astype(image.dtype)
