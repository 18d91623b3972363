"""16-bit colour PNG: header checks here, decoding by libpng (through ``imagecodecs``).

Pillow reads and writes 16-bit *grey* PNGs, but silently decodes 16-bit RGB/RGBA
PNGs to 8 bits and cannot write them at all. Decoding those is left to libpng, a
maintained decoder, through the optional ``imagecodecs`` package (extra ``png16``);
this module only does what must happen *before* a decoder runs: read the declared
size from the IHDR chunk (so the caller can apply its pixel budget) and refuse a
file whose compressed image data is larger than any encoding of that size could be
(a decompression bomb would otherwise make the decoder inflate all of it). Writing
16-bit colour needs no extra: an unfiltered, zlib-compressed PNG is a few lines.
"""

from __future__ import annotations

import logging
import struct
import zlib

import numpy as np

from edgerestore.errors import ImageError, one_line, require

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {2: 3, 6: 4}  # colour type -> samples per pixel (truecolour, truecolour+alpha)


def read_header(data: bytes) -> tuple[int, int, int, int, int]:
    """Return (width, height, bit_depth, colour_type, interlace) from a PNG's IHDR."""
    if data[:8] != PNG_SIGNATURE or data[12:16] != b"IHDR" or len(data) < 29:
        raise ImageError("not a PNG file")
    width, height, depth, ctype, _comp, _filt, interlace = struct.unpack(">IIBBBBB", data[16:29])
    return width, height, depth, ctype, interlace


def is_16bit_colour(data: bytes) -> bool:
    """True for the PNGs Pillow would truncate: 16-bit truecolour, with or without alpha."""
    try:
        _w, _h, depth, ctype, _i = read_header(data)
    except ImageError:
        return False
    return depth == 16 and ctype in _CHANNELS


def max_idat_bytes(width: int, height: int, channels: int) -> int:
    """Most compressed bytes a valid encoding of this size can need.

    The filtered image is ``height * (1 + 2 * channels * width)`` bytes (Adam7
    interlacing adds at most one filter byte per row of each of its 7 passes);
    deflate's worst case is storing it, 5 bytes per 65535-byte block, plus the
    6-byte zlib wrapper. Anything longer is padding meant to be inflated.
    """
    raw = height * (1 + 2 * channels * width) + 7 * (height + 7)
    return raw + 5 * (raw // 65535 + 1) + 6


def _idat_length(data: bytes, name: str) -> int:
    """Total length of the IDAT chunks, walking chunk headers only (no inflating)."""
    total, pos = 0, 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        if kind == b"IDAT":
            total += length
        elif kind == b"IEND":
            return total
        pos += 12 + length
    raise ImageError(f"{name}: PNG is truncated (no IEND chunk)")


#: What imagecodecs logs (logger ``imagecodecs``, a warning that reaches stderr) when
#: libpng reads an interlaced file through ``png_read_image``: libpng de-interlaces it
#: anyway and the pixels are exact, so the line is noise on every interlaced input.
_INTERLACE_NOTE = "Interlace handling should be turned on"


def _without_interlace_note(record: logging.LogRecord) -> bool:
    """Logging filter: drop libpng's interlace note, pass every other message on."""
    return _INTERLACE_NOTE not in record.getMessage()


def decode(data: bytes, name: str) -> np.ndarray:
    """Decode a 16-bit RGB/RGBA PNG into a uint16 HxWxC array (libpng via imagecodecs)."""
    width, height, _depth, ctype, _interlace = read_header(data)
    channels = _CHANNELS[ctype]
    if _idat_length(data, name) > max_idat_bytes(width, height, channels):
        raise ImageError(f"{name}: PNG holds more compressed data than {width}x{height} pixels "
                         "can need (possible decompression bomb)")
    codecs = require("imagecodecs", package="imagecodecs", extra="png16",
                     purpose=f"{name}: reading a 16-bit colour PNG")
    logging.getLogger("imagecodecs").addFilter(_without_interlace_note)  # once: idempotent
    try:
        pixels = codecs.png_decode(data)
    except Exception as exc:  # libpng's errors arrive as several untyped exceptions
        raise ImageError(f"{name}: PNG is corrupt or truncated ({one_line(exc)})") from exc
    if pixels.shape != (height, width, channels) or pixels.dtype != np.uint16:
        raise ImageError(f"{name}: PNG decoded to {pixels.shape} {pixels.dtype}, not the "
                         f"{height}x{width}x{channels} 16-bit image its header declares")
    return pixels


def encode(image: np.ndarray) -> bytes:
    """Encode a uint16 HxWx3 or HxWx4 array as a PNG (filter None, zlib level 6)."""
    height, width, channels = image.shape
    ctype = {3: 2, 4: 6}[channels]
    body = np.ascontiguousarray(image.astype(">u2")).view(np.uint8).reshape(height, -1)
    raw = np.concatenate([np.zeros((height, 1), dtype=np.uint8), body], axis=1).tobytes()

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload)
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 16, ctype, 0, 0, 0)
    return (PNG_SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 6))
            + chunk(b"IEND", b""))
