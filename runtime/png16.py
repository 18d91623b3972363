"""Minimal 16-bit colour PNG codec.

Pillow reads and writes 16-bit *grey* PNGs, but silently decodes 16-bit RGB/RGBA
PNGs to 8 bits and cannot write them at all. This module fills exactly that gap:
it decodes non-interlaced 16-bit truecolour(+alpha) PNGs and encodes 16-bit
RGB/RGBA arrays. Everything else goes through Pillow.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from edgerestore.errors import ImageError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {2: 3, 6: 4}  # colour type -> samples per pixel (truecolour, truecolour+alpha)


def read_header(data: bytes) -> tuple[int, int, int, int, int]:
    """Return (width, height, bit_depth, colour_type, interlace) from a PNG's IHDR."""
    if data[:8] != PNG_SIGNATURE or data[12:16] != b"IHDR":
        raise ImageError("not a PNG file")
    width, height, depth, ctype, _comp, _filt, interlace = struct.unpack(">IIBBBBB", data[16:29])
    return width, height, depth, ctype, interlace


def is_16bit_colour(data: bytes) -> bool:
    """True for the PNGs Pillow would truncate: 16-bit truecolour, with or without alpha."""
    try:
        _w, _h, depth, ctype, _i = read_header(data)
    except (ImageError, struct.error):
        return False
    return depth == 16 and ctype in _CHANNELS


def decode(data: bytes, name: str) -> np.ndarray:
    """Decode a 16-bit RGB/RGBA PNG into a uint16 HxWxC array."""
    width, height, _depth, ctype, interlace = read_header(data)
    if interlace:
        raise ImageError(f"{name}: interlaced 16-bit colour PNGs are not supported; "
                         "re-save it without interlacing")
    idat = bytearray()
    pos = 8
    try:
        while pos < len(data):
            (length,) = struct.unpack(">I", data[pos:pos + 4])
            kind = data[pos + 4:pos + 8]
            chunk = data[pos + 8:pos + 8 + length]
            crc = data[pos + 8 + length:pos + 12 + length]
            if len(chunk) != length or len(crc) != 4:
                raise ImageError(f"{name}: PNG is truncated")
            if struct.unpack(">I", crc)[0] != zlib.crc32(kind + chunk):
                raise ImageError(f"{name}: PNG chunk {kind!r} is corrupt (CRC mismatch)")
            if kind == b"IDAT":
                idat += chunk
            elif kind == b"IEND":
                break
            pos += 12 + length
        raw = zlib.decompress(bytes(idat))
    except (struct.error, zlib.error) as exc:
        raise ImageError(f"{name}: PNG is corrupt or truncated ({exc})") from exc
    channels = _CHANNELS[ctype]
    bpp = 2 * channels
    stride = width * bpp
    if len(raw) != height * (stride + 1):
        raise ImageError(f"{name}: PNG is truncated (image data too short)")
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, stride + 1)
    out = np.empty((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        out[y] = _unfilter(int(rows[y, 0]), rows[y, 1:], prev, bpp, name)
        prev = out[y]
    return out.view(">u2").reshape(height, width, channels).astype(np.uint16)


def _unfilter(ftype: int, line: np.ndarray, prev: np.ndarray, bpp: int, name: str) -> np.ndarray:
    """Undo one scanline's PNG filter (None, Sub, Up, Average, Paeth)."""
    if ftype == 0:
        return line
    if ftype == 1:  # Sub: running sum modulo 256 along each byte lane
        lanes = line.reshape(-1, bpp).astype(np.uint32)
        return (np.cumsum(lanes, axis=0) % 256).astype(np.uint8).reshape(-1)
    if ftype == 2:
        return (line.astype(np.uint16) + prev).astype(np.uint8)
    if ftype not in (3, 4):
        raise ImageError(f"{name}: PNG uses an unknown filter type {ftype}")
    # Average and Paeth depend on the reconstructed left pixel: one pixel at a time.
    cur = line.reshape(-1, bpp).astype(np.int32)
    up = prev.reshape(-1, bpp).astype(np.int32)
    left = np.zeros(bpp, dtype=np.int32)
    upleft = np.zeros(bpp, dtype=np.int32)
    for x in range(cur.shape[0]):
        if ftype == 3:
            pred = (left + up[x]) // 2
        else:
            p = left + up[x] - upleft
            pa, pb, pc = np.abs(p - left), np.abs(p - up[x]), np.abs(p - upleft)
            pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up[x], upleft))
        cur[x] = (cur[x] + pred) % 256
        left, upleft = cur[x], up[x]
    return cur.astype(np.uint8).reshape(-1)


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
