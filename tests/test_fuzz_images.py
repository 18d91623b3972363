"""Property-based fuzzing of the image reader (Hypothesis).

Valid PNG / JPEG / TIFF / BMP files of random sizes, channel counts and bit depths are
written, then damaged: truncated, bytes flipped, PNG header fields replaced (with the
chunk CRC recomputed so the damage reaches the decoder), chunks inserted or dropped;
plain random bytes behind each format's magic number too. Property: ``read_image``
returns a finite float32 image in [0, 1] that matches its :class:`ImageInfo`, or
raises an :class:`~edgerestore.errors.EdgeRestoreError`; it never raises anything
else and never changes the file.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from edgerestore.errors import EdgeRestoreError  # noqa: E402
from edgerestore.runtime import png16  # noqa: E402
from edgerestore.runtime.image_io import read_image  # noqa: E402

#: Small budget: a damaged header may declare any size; the check is the same.
BUDGET = 250_000
MAGIC = [png16.PNG_SIGNATURE, b"\xff\xd8\xff\xe0", b"II*\x00", b"MM\x00*", b"BM", b"GIF89a"]


def _encode(pixels: np.ndarray, fmt: str, bits: int) -> bytes:
    """A valid file of ``pixels`` (uint8 or uint16 HxWxC) in ``fmt``."""
    if fmt == "PNG" and bits == 16 and pixels.shape[2] in (3, 4):
        return png16.encode(pixels.astype(np.uint16))
    if fmt == "TIFF" and bits == 16:
        tifffile = pytest.importorskip("tifffile")
        buf = io.BytesIO()
        tifffile.imwrite(buf, pixels.astype(np.uint16),
                         photometric="minisblack" if pixels.shape[2] == 1 else "rgb")
        return buf.getvalue()
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[pixels.shape[2]]
    arr = pixels[:, :, 0] if pixels.shape[2] == 1 else pixels
    if bits == 16 and mode == "L":
        img = Image.fromarray(arr.astype(np.uint16))
    else:
        img = Image.fromarray((arr >> 8 if bits == 16 else arr).astype(np.uint8), mode)
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


@st.composite
def valid_images(draw) -> tuple[bytes, str]:
    fmt = draw(st.sampled_from(["PNG", "JPEG", "TIFF", "BMP"]))
    channels = draw(st.sampled_from({"PNG": [1, 2, 3, 4], "JPEG": [1, 3], "TIFF": [1, 3, 4],
                                     "BMP": [1, 3]}[fmt]))
    bits = draw(st.sampled_from([8, 16] if fmt in ("PNG", "TIFF") and channels != 2 else [8]))
    h, w = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    seed = draw(st.integers(0, 2**16))
    pixels = np.random.default_rng(seed).integers(0, 2**bits, (h, w, channels))
    return _encode(pixels, fmt, bits), fmt


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    out, pos = [], 8
    while pos + 8 <= len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        out.append((data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]))
        pos += 12 + n
    return out


def _png(chunks: list[tuple[bytes, bytes]]) -> bytes:
    return png16.PNG_SIGNATURE + b"".join(
        struct.pack(">I", len(p)) + k + p + struct.pack(">I", zlib.crc32(k + p)) for k, p in chunks)


@st.composite
def damaged_pngs(draw) -> bytes:
    """A PNG whose IHDR fields or chunk list were changed, CRCs kept valid."""
    data, _fmt = draw(valid_images().filter(lambda v: v[1] == "PNG"))
    chunks = _chunks(data)
    action = draw(st.sampled_from(["ihdr", "drop", "insert", "idat"]))
    if action == "ihdr":
        fields = list(struct.unpack(">IIBBBBB", chunks[0][1]))
        index = draw(st.integers(0, 6))
        fields[index] = draw(st.integers(0, 2**32 - 1 if index < 2 else 255))
        chunks[0] = (b"IHDR", struct.pack(">IIBBBBB", *fields))
    elif action == "drop":
        del chunks[draw(st.integers(0, len(chunks) - 1))]
    elif action == "insert":
        kind = draw(st.sampled_from([b"IDAT", b"IHDR", b"PLTE", b"tRNS", b"eXIf", b"zzZz"]))
        chunks.insert(draw(st.integers(0, len(chunks))), (kind, draw(st.binary(max_size=64))))
    else:
        idat = next(i for i, (k, _p) in enumerate(chunks) if k == b"IDAT")
        chunks[idat] = (b"IDAT", zlib.compress(draw(st.binary(max_size=4096))))
    return _png(chunks)


@st.composite
def corrupted(draw) -> bytes:
    data, _fmt = draw(valid_images())
    how = draw(st.sampled_from(["truncate", "flip", "magic"]))
    if how == "truncate":
        return data[:draw(st.integers(0, len(data)))]
    if how == "flip":
        buf = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            buf[draw(st.integers(0, len(buf) - 1))] = draw(st.integers(0, 255))
        return bytes(buf)
    return draw(st.sampled_from(MAGIC)) + draw(st.binary(max_size=512))


def _check_read(tmp_path, data: bytes) -> None:
    path = tmp_path / "fuzz.img"
    path.write_bytes(data)
    try:
        image, info = read_image(path, max_pixels=BUDGET)
    except EdgeRestoreError as exc:
        assert "\n" not in str(exc)
    else:
        assert image.dtype == np.float32 and image.shape == (info.height, info.width,
                                                             info.channels)
        assert np.all(np.isfinite(image)) and image.min() >= 0 and image.max() <= 1
    assert path.read_bytes() == data


@given(data=valid_images())
def test_valid_images_read_back(tmp_path, data):
    _check_read(tmp_path, data[0])


@given(data=corrupted())
def test_corrupted_images_give_a_clean_error_or_an_image(tmp_path, data):
    _check_read(tmp_path, data)


@given(data=damaged_pngs())
def test_damaged_png_chunks_give_a_clean_error_or_an_image(tmp_path, data):
    _check_read(tmp_path, data)
