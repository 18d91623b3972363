"""Reading and writing images as float32 HxWxC arrays in [0, 1].

Pillow does the decoding (PNG, JPEG, TIFF, BMP, ...); this module adds what a
restoration pipeline needs on top: EXIF orientation applied, 16-bit precision kept
(including 16-bit colour PNGs, which Pillow truncates; see :mod:`png16`), a pixel
budget checked before decoding (decompression bombs), one clear
:class:`~edgerestore.errors.ImageError` for every way a file can be bad, and atomic
writes so that a failed or interrupted run never leaves a half-written output.

A restored photo should look like its source in any viewer: reading keeps the
source's EXIF and ICC profile (:class:`ImageInfo`), and ``write_image(..., like=info)``
writes them back where the format holds them (16-bit colour PNG included), with the
EXIF orientation reset once reading has turned the pixels upright. JPEG is written at
:data:`JPEG_QUALITY`, not Pillow's default 75.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from edgerestore.errors import ImageError, InputError, MissingDependencyError, OutputError
from edgerestore.runtime import png16
from edgerestore.runtime.atomic import atomic_write, check_output, same_file

#: Default pixel budget: 100 megapixels, well above a 24 MP phone photo.
DEFAULT_MAX_PIXELS = 100_000_000

_GREY_MODES = {"1", "L", "I;16", "I;16L", "I;16B", "I;16N", "I"}
#: Quality of every JPEG written: Pillow's default 75 visibly blurs a restored photo.
JPEG_QUALITY = 95
#: Formats whose files can carry EXIF and an ICC profile when written.
METADATA_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF")
ORIENTATION_TAG = 0x0112


@dataclass(frozen=True)
class ImageInfo:
    """What was in the file, before conversion to float.

    ``exif`` (orientation reset to 1 where reading applied it) and ``icc_profile`` are
    kept so that :func:`write_image` can give a restored image its source's metadata.
    """

    path: str
    format: str
    width: int
    height: int
    channels: int
    bit_depth: int
    has_alpha: bool
    exif: bytes | None = field(default=None, repr=False)
    icc_profile: bytes | None = field(default=None, repr=False)


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
        exif, icc = _png_metadata(data)
        return _to_float(pixels, 16), ImageInfo(
            name, "PNG", w, h, pixels.shape[2], 16, pixels.shape[2] == 4, exif, icc
        )
    return _read_with_pillow(data, name, max_pixels)


def read_opaque(path: str | os.PathLike[str]) -> tuple[np.ndarray, ImageInfo]:
    """:func:`read_image` for restoration, which has no alpha model: transparency is refused."""
    pixels, info = read_image(path)
    if info.has_alpha:
        raise ImageError(f"{path}: has an alpha channel; restoration needs an opaque image "
                         "(flatten or drop the alpha first)")
    return pixels, info


def _exif_bytes(exif: Image.Exif, upright: bool) -> bytes | None:
    """Serialised EXIF, its orientation reset when reading turned the pixels upright.

    A copy is changed: ``exif`` is the open image's own, which rotating it still reads.
    """
    if not exif:
        return None
    data = exif.tobytes()
    if not (upright and ORIENTATION_TAG in exif):
        return data
    copy = Image.Exif()
    copy.load(data)
    copy[ORIENTATION_TAG] = 1
    return copy.tobytes()


def _png_metadata(data: bytes) -> tuple[bytes | None, bytes | None]:
    """EXIF and ICC profile of a PNG Pillow cannot decode (16-bit colour): chunks only."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = Image.open(io.BytesIO(data))
            # Orientation stays as stored: png16 does not rotate the pixels.
            return _exif_bytes(img.getexif(), upright=False), img.info.get("icc_profile")
    except (OSError, SyntaxError, ValueError):  # metadata is optional; the pixels decoded
        return None, None


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
            exif = img.getexif()
            orientation = int(exif.get(ORIENTATION_TAG, 1))
            metadata = _exif_bytes(exif, upright=True), img.info.get("icc_profile")
            img = ImageOps.exif_transpose(img)
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{name}: refused as a possible decompression bomb ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"{name}: not a recognised image file (corrupt or unsupported)") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{name}: image is corrupt or truncated ({exc})") from exc

    mode = img.mode
    if tiff16:
        return _read_tiff16(data, name, orientation, metadata)
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
    info = ImageInfo(name, fmt, img.width, img.height, channels, bits, channels in (2, 4),
                     *metadata)
    return _to_float(pixels, bits), info


def _tiff_bits(img: Image.Image) -> int:
    bits = img.tag_v2.get(258, (8,)) if hasattr(img, "tag_v2") else (8,)
    return int(bits[0] if isinstance(bits, tuple) else bits)


def _read_tiff16(data: bytes, name: str, orientation: int,
                 metadata: tuple[bytes | None, bytes | None]) -> tuple[np.ndarray, ImageInfo]:
    """16-bit colour TIFF: Pillow would truncate it to 8 bits, tifffile keeps it
    (``metadata``: the EXIF and ICC profile Pillow read from its tags)."""
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
    return _to_float(pixels, 16), ImageInfo(name, "TIFF", w, h, c, 16, c == 4, *metadata)


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


def output_bit_depth(requested: int | None, source: ImageInfo, path: str | os.PathLike[str]
                     ) -> int:
    """The bit depth to restore ``source`` into ``path``: ``requested``, else 16 for a
    16-bit source written as PNG (the one format here that holds 16-bit colour), else 8."""
    if requested is not None:
        return requested
    return 16 if source.bit_depth == 16 and Path(path).suffix.lower() == ".png" else 8


def check_output_format(path: str | os.PathLike[str], bit_depth: int | None = None) -> None:
    """Refuse an output name no image can be written to, before any work is done."""
    suffix = Path(path).suffix.lower()
    if suffix not in Image.registered_extensions():
        raise InputError(f"{path}: unknown image extension {suffix or '(none)'!r}")
    if bit_depth == 16 and suffix != ".png":
        raise InputError(f"{path}: 16-bit output must be a .png file")


def check_image_output(source: str | os.PathLike[str], out: str | os.PathLike[str], *,
                       in_place: bool = False, reads: Iterable[str | os.PathLike[str]] = (),
                       bit_depth: int | None = None) -> None:
    """Fail before any work unless image ``out`` can be written from image ``source``.

    ``out`` must be writable, have an image extension (PNG for 16 bits) and overwrite
    nothing read: only ``source`` may be replaced, and only ``in_place``; the other
    files the work reads (``reads``: a model, a kernel, a mask) never.
    """
    if same_file(source, out) and not in_place:
        raise OutputError(f"{out}: refusing to overwrite the input (pass --in-place to "
                          "allow it)")
    check_output(out, reads=[source, *reads], replaceable=[source] if in_place else ())
    check_output_format(out, bit_depth)


def write_image(path: str | os.PathLike[str], image: np.ndarray, *, bit_depth: int = 8,
                like: ImageInfo | None = None) -> None:
    """Write a float [0, 1] image atomically (temporary file in the same folder, then rename).

    8-bit output may be any format Pillow writes (chosen by the extension); 16-bit
    output must be PNG. Values are clipped to [0, 1] first. ``like``: the source image
    whose EXIF and ICC profile the file carries (where its format can).
    """
    path = Path(path)
    image = validate_image_array(image)
    check_output_format(path, bit_depth)
    if not path.parent.is_dir():
        raise OutputError(f"{path.parent}: output folder does not exist")
    pixels = to_uint(image, bit_depth)
    encoded = _encode(pixels, path.suffix.lower(), bit_depth, path, like)
    atomic_write(path, encoded)


def _encode(pixels: np.ndarray, suffix: str, bit_depth: int, path: Path,
            like: ImageInfo | None) -> bytes:
    channels = pixels.shape[2]
    fmt = Image.registered_extensions()[suffix]
    exif, icc = (like.exif, like.icc_profile) if like and fmt in METADATA_FORMATS else (None,
                                                                                        None)
    if bit_depth == 16 and channels in (3, 4):
        return _png_with_metadata(png16.encode(pixels), exif, icc)
    if bit_depth == 16 and channels == 2:
        raise InputError(f"{path}: 16-bit grey+alpha PNGs are not supported; drop the alpha")
    img = Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels)
    if fmt == "JPEG" and channels == 4:
        raise InputError(f"{path}: JPEG cannot store an alpha channel; write a .png")
    options: dict[str, object] = {"quality": JPEG_QUALITY} if fmt == "JPEG" else {}
    if exif:
        options["exif"] = exif
    if icc:
        options["icc_profile"] = icc
    buf = io.BytesIO()
    img.save(buf, format=fmt, **options)
    return buf.getvalue()


def _png_with_metadata(data: bytes, exif: bytes | None, icc: bytes | None) -> bytes:
    """``data`` (a PNG from :func:`png16.encode`) with iCCP / eXIf chunks after IHDR,
    where both must precede the image data; laid out as Pillow writes them."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (struct.pack(">I", len(payload)) + kind + payload
                + struct.pack(">I", zlib.crc32(kind + payload)))

    extra = b""
    if icc:
        extra += chunk(b"iCCP", b"ICC Profile\0\0" + zlib.compress(icc))
    if exif:
        extra += chunk(b"eXIf", exif.removeprefix(b"Exif\x00\x00"))
    end_of_ihdr = len(png16.PNG_SIGNATURE) + 8 + 13 + 4
    return data[:end_of_ihdr] + extra + data[end_of_ihdr:]
