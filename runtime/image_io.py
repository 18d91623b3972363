"""Reading and writing images as float32 HxWxC arrays in [0, 1].

Pillow does the decoding (PNG, JPEG, TIFF, BMP, ...); this module adds what a
restoration pipeline needs on top: EXIF orientation applied, 16-bit precision kept
(including 16-bit colour PNGs, which Pillow truncates; see :mod:`png16`), a pixel
budget checked before decoding (decompression bombs), one clear
:class:`~edgerestore.errors.ImageError` for every way a file can be bad, and atomic
writes so that a failed or interrupted run never leaves a half-written output.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from edgerestore.errors import ImageError, InputError, MissingDependencyError, OutputError
from edgerestore.runtime import png16
from edgerestore.runtime.atomic import atomic_write

#: Default pixel budget: 100 megapixels, well above a 24 MP phone photo.
DEFAULT_MAX_PIXELS = 100_000_000

_GREY_MODES = {"1", "L", "I;16", "I;16L", "I;16B", "I;16N", "I"}


@dataclass(frozen=True)
class ImageInfo:
    """What was in the file, before conversion to float."""

    path: str
    format: str
    width: int
    height: int
    channels: int
    bit_depth: int
    has_alpha: bool


def read_image(
    path: str | os.PathLike[str], *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> tuple[np.ndarray, ImageInfo]:
    """Read an image file into a float32 HxWxC array in [0, 1] (C = 1, 2, 3 or 4).

    Grey images have C = 1, grey+alpha C = 2, palette images become RGB (RGBA when
    the palette has transparency). EXIF orientation is applied, so the array is the
    picture as a viewer shows it.
    """
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise ImageError(f"{name}: no such file")
    if path.is_dir():
        raise ImageError(f"{name}: is a directory, not an image")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageError(f"{name}: cannot read it ({exc.strerror or exc})") from exc
    if not data:
        raise ImageError(f"{name}: file is empty")
    if png16.is_16bit_colour(data):
        w, h, _d, _c, _i = png16.read_header(data)
        _check_budget(name, w, h, max_pixels)
        pixels = png16.decode(data, name)
        return _to_float(pixels, 16), ImageInfo(
            name, "PNG", w, h, pixels.shape[2], 16, pixels.shape[2] == 4
        )
    return _read_with_pillow(data, name, max_pixels)


def _check_budget(name: str, width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise ImageError(
            f"{name}: {width}x{height} = {width * height:,} pixels exceeds the limit of "
            f"{max_pixels:,} pixels (possible decompression bomb)"
        )
    if width == 0 or height == 0:
        raise ImageError(f"{name}: image has zero size")


def _read_with_pillow(data: bytes, name: str, max_pixels: int) -> tuple[np.ndarray, ImageInfo]:
    try:
        with warnings.catch_warnings():
            # Our own budget replaces Pillow's bomb warning; its hard error still applies.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            # A damaged EXIF block is skipped by Pillow (orientation then stays as is);
            # its multi-line UserWarning would only clutter the one-line output.
            warnings.simplefilter("ignore", UserWarning)
            img = Image.open(io.BytesIO(data))
            fmt = img.format or "unknown"
            _check_budget(name, img.width, img.height, max_pixels)
            img.load()
            tiff16 = fmt == "TIFF" and img.mode in ("RGB", "RGBA") and _tiff_bits(img) == 16
            orientation = int(img.getexif().get(0x0112, 1))
            img = ImageOps.exif_transpose(img)
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{name}: refused as a possible decompression bomb ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"{name}: not a recognised image file (corrupt or unsupported)") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{name}: image is corrupt or truncated ({exc})") from exc

    mode = img.mode
    if tiff16:
        return _read_tiff16(data, name, orientation)
    if mode == "P" or mode == "PA":
        mode_to = "RGBA" if (mode == "PA" or "transparency" in img.info) else "RGB"
        img, mode = img.convert(mode_to), mode_to
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        img, mode = img.convert("RGB"), "RGB"
    elif mode == "1":
        img, mode = img.convert("L"), "L"
    elif mode == "F":
        raise ImageError(f"{name}: 32-bit floating-point images are not supported")

    pixels = np.asarray(img)
    if mode in _GREY_MODES or mode == "LA":
        bits = 8 if mode in ("L", "LA") else 16
        if mode == "I" and pixels.max(initial=0) > 65535:
            raise ImageError(f"{name}: 32-bit integer images are not supported")
    elif mode in ("RGB", "RGBA"):
        bits = 8
    else:
        raise ImageError(f"{name}: unsupported image mode {mode!r}")
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    channels = pixels.shape[2]
    info = ImageInfo(name, fmt, img.width, img.height, channels, bits, channels in (2, 4))
    return _to_float(pixels, bits), info


def _tiff_bits(img: Image.Image) -> int:
    bits = img.tag_v2.get(258, (8,)) if hasattr(img, "tag_v2") else (8,)
    return int(bits[0] if isinstance(bits, tuple) else bits)


def _read_tiff16(data: bytes, name: str, orientation: int) -> tuple[np.ndarray, ImageInfo]:
    """16-bit colour TIFF: Pillow would truncate it to 8 bits, tifffile keeps it."""
    try:
        import tifffile
    except ImportError as exc:
        raise MissingDependencyError("tifffile", "tiff", f"{name}: a 16-bit colour TIFF") from exc
    try:
        pixels = tifffile.imread(io.BytesIO(data))
    except Exception as exc:
        raise ImageError(f"{name}: TIFF is corrupt or unsupported ({exc})") from exc
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4) or pixels.dtype != np.uint16:
        raise ImageError(f"{name}: unsupported TIFF layout {pixels.shape} {pixels.dtype}")
    # tifffile ignores EXIF orientation; apply it the way Pillow would.
    pixels = _orient(pixels, orientation)
    h, w, c = pixels.shape
    return _to_float(pixels, 16), ImageInfo(name, "TIFF", w, h, c, 16, c == 4)


def _orient(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation tag (1-8) to an HxWxC array."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.rot90(a, 1)[::-1],
        8: lambda a: np.rot90(a, 1),
    }
    return np.ascontiguousarray(ops[orientation](pixels)) if orientation in ops else pixels


def _to_float(pixels: np.ndarray, bits: int) -> np.ndarray:
    return (pixels.astype(np.float32) / float(2**bits - 1)).astype(np.float32)


def to_uint(image: np.ndarray, bit_depth: int = 8) -> np.ndarray:
    """Clip a float image to [0, 1] and round it to 8- or 16-bit integers."""
    if bit_depth not in (8, 16):
        raise InputError(f"bit depth must be 8 or 16, got {bit_depth}")
    scale = 2**bit_depth - 1
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    return np.round(np.clip(image, 0.0, 1.0) * scale).astype(dtype)


def validate_image_array(image: np.ndarray, what: str = "image") -> np.ndarray:
    """Check an array is a finite HxW or HxWxC (C in 1..4) image; return it as HxWxC."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 2, 3, 4):
        raise InputError(f"{what} must be HxW or HxWxC with C in 1..4, got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InputError(f"{what} is empty (shape {image.shape})")
    if not np.issubdtype(image.dtype, np.floating):
        raise InputError(f"{what} must be a float array in [0, 1], got {image.dtype}")
    if not np.all(np.isfinite(image)):
        raise InputError(f"{what} contains NaN or infinite values")
    return image


#: How far outside [0, 1] an input may reach: unclipped noise of a large sigma does,
#: an image in 0-255 units does not fit.
RANGE_SLACK = 1.0


def check_unit_range(image: np.ndarray, what: str = "image") -> None:
    """Refuse an image far outside [0, 1] (e.g. 0-255 values), which gives garbage output.

    Noisy inputs legitimately leave [0, 1] (unclipped noise), so values within
    :data:`RANGE_SLACK` of it pass; the array must already be finite.
    """
    low, high = float(np.min(image)), float(np.max(image))
    if low < -RANGE_SLACK or high > 1.0 + RANGE_SLACK:
        raise InputError(f"{what} values span [{low:.4g}, {high:.4g}]; expected intensities "
                         "in [0, 1] (divide 8-bit values by 255)")


def write_image(path: str | os.PathLike[str], image: np.ndarray, *, bit_depth: int = 8) -> None:
    """Write a float [0, 1] image atomically (temporary file in the same folder, then rename).

    8-bit output may be any format Pillow writes (chosen by the extension); 16-bit
    output must be PNG. Values are clipped to [0, 1] first.
    """
    path = Path(path)
    image = validate_image_array(image)
    suffix = path.suffix.lower()
    if bit_depth == 16 and suffix != ".png":
        raise InputError(f"{path}: 16-bit output must be a .png file")
    if not path.parent.is_dir():
        raise OutputError(f"{path.parent}: output folder does not exist")
    pixels = to_uint(image, bit_depth)
    encoded = _encode(pixels, suffix, bit_depth, path)
    atomic_write(path, encoded)


def _encode(pixels: np.ndarray, suffix: str, bit_depth: int, path: Path) -> bytes:
    channels = pixels.shape[2]
    if bit_depth == 16 and channels in (3, 4):
        return png16.encode(pixels)
    if bit_depth == 16 and channels == 2:
        raise InputError(f"{path}: 16-bit grey+alpha PNGs are not supported; drop the alpha")
    img = Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels)
    fmt = Image.registered_extensions().get(suffix)
    if fmt is None:
        raise InputError(f"{path}: unknown image extension {suffix!r}")
    if fmt == "JPEG" and channels == 4:
        raise InputError(f"{path}: JPEG cannot store an alpha channel; write a .png")
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()
