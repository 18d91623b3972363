"""Image I/O: round trips per format and bit depth, EXIF rotation, bad files."""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgerestore.errors import ImageError, InputError, MissingDependencyError
from edgerestore.runtime import png16
from edgerestore.runtime.image_io import read_image, to_uint, write_image


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("bits", [8, 16])
def test_png_round_trip_is_exact_on_the_integer_grid(tmp_path, rgb, channels, bits):
    src = np.concatenate([rgb, rgb[:, :, :1]], -1)[:, :, :channels] if channels == 4 else (
        rgb[:, :, :channels])
    expected = to_uint(src, bits)
    write_image(tmp_path / "x.png", src, bit_depth=bits)
    back, info = read_image(tmp_path / "x.png")
    assert info.bit_depth == bits and info.channels == channels
    assert info.has_alpha == (channels == 4)
    assert back.dtype == np.float32 and back.shape == src.shape
    np.testing.assert_array_equal(to_uint(back, bits), expected)


def test_16_bit_keeps_precision_that_8_bit_loses(tmp_path):
    ramp = np.linspace(0, 1 / 255, 40, dtype=np.float32).reshape(1, 40, 1).repeat(3, -1)
    write_image(tmp_path / "r16.png", ramp, bit_depth=16)
    back, _ = read_image(tmp_path / "r16.png")
    assert len(np.unique(back[0, :, 0])) == 40  # 8 bits would give 2 levels
    np.testing.assert_allclose(back, ramp, atol=0.5 / 65535)


@pytest.mark.parametrize("ext,fmt,tol", [(".jpg", "JPEG", 0.08), (".bmp", "BMP", 0),
                                         (".tif", "TIFF", 0)])
def test_other_8_bit_formats(tmp_path, rgb, ext, fmt, tol):
    write_image(tmp_path / f"x{ext}", rgb)
    back, info = read_image(tmp_path / f"x{ext}")
    assert info.format == fmt and info.bit_depth == 8 and back.shape == rgb.shape
    assert np.abs(back - np.round(rgb * 255) / 255).mean() <= tol + 1e-7


def test_16_bit_tiff_grey_and_colour(tmp_path, rgb):
    tifffile = pytest.importorskip("tifffile")
    u16 = to_uint(rgb, 16)
    tifffile.imwrite(tmp_path / "c.tif", u16, photometric="rgb")
    Image.fromarray(u16[:, :, 0]).save(tmp_path / "g.tif")
    back, info = read_image(tmp_path / "c.tif")
    assert info.bit_depth == 16 and info.channels == 3
    np.testing.assert_array_equal(to_uint(back, 16), u16)
    grey, ginfo = read_image(tmp_path / "g.tif")
    assert ginfo.bit_depth == 16 and grey.shape[2] == 1
    np.testing.assert_array_equal(to_uint(grey, 16)[:, :, 0], u16[:, :, 0])


def test_palette_with_and_without_transparency(tmp_path, rgb):
    pal = Image.fromarray(to_uint(rgb)).quantize(16)
    pal.save(tmp_path / "p.png")
    back, info = read_image(tmp_path / "p.png")
    assert info.channels == 3 and not info.has_alpha
    np.testing.assert_array_equal(to_uint(back), np.asarray(pal.convert("RGB")))
    pal.info["transparency"] = 0
    pal.save(tmp_path / "pt.png", transparency=0)
    back, info = read_image(tmp_path / "pt.png")
    assert info.channels == 4 and info.has_alpha


def test_grey_alpha_and_bilevel(tmp_path, rgb):
    Image.fromarray(to_uint(rgb[:, :, :2])).save(tmp_path / "la.png")
    back, info = read_image(tmp_path / "la.png")
    assert info.channels == 2 and info.has_alpha and back.shape[2] == 2
    Image.fromarray(rgb[:, :, 0] > 0.5).save(tmp_path / "b.png")
    back, info = read_image(tmp_path / "b.png")
    assert info.channels == 1 and set(np.unique(back)) <= {0.0, 1.0}


@pytest.mark.parametrize("orientation,expect", [
    (3, lambda a: a[::-1, ::-1]), (6, lambda a: np.rot90(a, -1)), (8, lambda a: np.rot90(a, 1)),
])
def test_exif_orientation_is_applied(tmp_path, orientation, expect):
    arr = np.zeros((20, 30, 3), np.uint8)
    arr[:5, :5] = 255  # a marker in the top-left corner
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(arr).save(tmp_path / "o.png", exif=exif)
    back, info = read_image(tmp_path / "o.png")
    want = expect(arr)
    assert back.shape[:2] == want.shape[:2] == (info.height, info.width)
    np.testing.assert_array_equal(to_uint(back), want)


def _png(width, height, rows: bytes, ctype=2, depth=16) -> bytes:
    def chunk(kind, payload):
        return (struct.pack(">I", len(payload)) + kind + payload
                + struct.pack(">I", zlib.crc32(kind + payload)))
    ihdr = struct.pack(">IIBBBBB", width, height, depth, ctype, 0, 0, 0)
    return (png16.PNG_SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def _forward_filter(raw: np.ndarray, ftype: int, bpp: int) -> np.ndarray:
    """The PNG encoder's filters, straight from the spec (they read unfiltered bytes)."""
    r = raw.astype(np.int32)
    left = np.zeros_like(r)
    left[:, bpp:] = r[:, :-bpp]
    up = np.zeros_like(r)
    up[1:] = r[:-1]
    upleft = np.zeros_like(r)
    upleft[1:, bpp:] = r[:-1, :-bpp]
    if ftype == 1:
        pred = left
    elif ftype == 2:
        pred = up
    elif ftype == 3:
        pred = (left + up) // 2
    else:
        p = left + up - upleft
        pa, pb, pc = np.abs(p - left), np.abs(p - up), np.abs(p - upleft)
        pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, upleft))
    return ((r - pred) % 256).astype(np.uint8)


@pytest.mark.parametrize("ftype", [1, 2, 3, 4])
@pytest.mark.parametrize("channels", [3, 4])
def test_16_bit_colour_decoder_handles_every_png_filter(tmp_path, rng, ftype, channels):
    pixels = rng.integers(0, 65536, size=(9, 11, channels), dtype=np.uint16)
    raw = pixels.astype(">u2").view(np.uint8).reshape(9, -1)
    filt = _forward_filter(raw, ftype, 2 * channels)
    rows = np.concatenate([np.full((9, 1), ftype, np.uint8), filt], 1).tobytes()
    path = tmp_path / "f.png"
    path.write_bytes(_png(11, 9, rows, ctype=2 if channels == 3 else 6))
    back, info = read_image(path)
    assert info.bit_depth == 16
    np.testing.assert_array_equal(to_uint(back, 16), pixels)


def test_missing_empty_directory_and_garbage(tmp_path, rng):
    with pytest.raises(ImageError, match="no such file"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="directory"):
        read_image(tmp_path)
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageError, match="empty"):
        read_image(tmp_path / "empty.png")
    (tmp_path / "junk.png").write_bytes(rng.bytes(500))
    with pytest.raises(ImageError, match="not a recognised image"):
        read_image(tmp_path / "junk.png")


@pytest.mark.parametrize("ext,bits", [(".png", 8), (".jpg", 8), (".png", 16)])
def test_truncated_files_are_reported(tmp_path, rgb, ext, bits):
    big = np.tile(rgb, (4, 4, 1))
    write_image(tmp_path / f"ok{ext}", big, bit_depth=bits)
    data = (tmp_path / f"ok{ext}").read_bytes()
    (tmp_path / f"cut{ext}").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match=r"truncated|corrupt"):
        read_image(tmp_path / f"cut{ext}")


def test_corrupt_chunk_in_16_bit_png(tmp_path, rgb):
    write_image(tmp_path / "x.png", rgb, bit_depth=16)
    data = bytearray((tmp_path / "x.png").read_bytes())
    data[60] ^= 0xFF  # inside IDAT: the CRC no longer matches
    (tmp_path / "bad.png").write_bytes(bytes(data))
    with pytest.raises(ImageError, match="corrupt"):
        read_image(tmp_path / "bad.png")


def test_pixel_budget_stops_decompression_bombs(tmp_path):
    Image.new("L", (4000, 3000)).save(tmp_path / "bomb.png")  # tiny file, 12 MP
    with pytest.raises(ImageError, match="decompression bomb"):
        read_image(tmp_path / "bomb.png", max_pixels=10_000_000)
    assert read_image(tmp_path / "bomb.png")[1].width == 4000


def test_float_images_are_refused(tmp_path):
    Image.fromarray(np.zeros((4, 4), np.float32)).save(tmp_path / "f.tif")
    with pytest.raises(ImageError, match="floating-point"):
        read_image(tmp_path / "f.tif")


def test_write_is_atomic_and_leaves_nothing_on_failure(tmp_path, rgb):
    out = tmp_path / "out.png"
    write_image(out, rgb)
    before = out.read_bytes()
    bad = rgb.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        write_image(out, bad)
    with pytest.raises(InputError, match="16-bit"):
        write_image(tmp_path / "x.jpg", rgb, bit_depth=16)
    with pytest.raises(InputError, match="extension"):
        write_image(tmp_path / "x.unknown", rgb)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_write_into_missing_folder_is_an_input_error(tmp_path: Path, rgb):
    with pytest.raises(InputError, match="does not exist"):
        write_image(tmp_path / "no" / "x.png", rgb)


def test_outputs_get_normal_file_permissions(tmp_path, rgb):
    import os

    mask = os.umask(0o022)
    try:
        write_image(tmp_path / "p.png", rgb)
    finally:
        os.umask(mask)
    assert (tmp_path / "p.png").stat().st_mode & 0o777 == 0o644


def _deflate_zeros(size: int) -> bytes:
    packer = zlib.compressobj(9)
    block = bytes(1 << 20)
    return b"".join(packer.compress(block) for _ in range(size >> 20)) + packer.flush()


def test_16_bit_colour_bomb_is_refused_before_inflating(tmp_path):
    """Item 2: 16x16 pixels declared, 64 MiB of zeros inflated: refused, memory stays small."""
    import tracemalloc

    def chunk(kind, payload):
        return (struct.pack(">I", len(payload)) + kind + payload
                + struct.pack(">I", zlib.crc32(kind + payload)))

    ihdr = struct.pack(">IIBBBBB", 16, 16, 16, 2, 0, 0, 0)
    bomb = (png16.PNG_SIGNATURE + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", _deflate_zeros(64 << 20)) + chunk(b"IEND", b""))
    (tmp_path / "bomb.png").write_bytes(bomb)
    tracemalloc.start()
    try:
        with pytest.raises(ImageError, match="decompression bomb"):
            read_image(tmp_path / "bomb.png")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * len(bomb)


def test_16_bit_colour_paeth_photo_decodes_fast_and_exactly(tmp_path):
    """Item 3: Paeth rows (what photo encoders choose) no longer decode pixel by pixel."""
    import time

    y, x = np.mgrid[0:512, 0:512]
    pixels = np.stack([x * 97 + y * 31, x * y % 65536, (x ^ y) * 251], -1).astype(np.uint16)
    raw = pixels.astype(">u2").view(np.uint8).reshape(512, -1)
    rows = np.concatenate([np.full((512, 1), 4, np.uint8), _forward_filter(raw, 4, 6)], 1)
    (tmp_path / "p.png").write_bytes(_png(512, 512, rows.tobytes()))
    start = time.perf_counter()
    back, _info = read_image(tmp_path / "p.png")
    assert time.perf_counter() - start < 0.5  # the Python unfilter took 2.6 s
    np.testing.assert_array_equal(to_uint(back, 16), pixels)


def test_16_bit_colour_png_without_imagecodecs_names_the_extra(tmp_path, rgb, monkeypatch):
    """Item 3: the decoder is an optional extra; without it, one line that names it."""
    write_image(tmp_path / "x.png", rgb, bit_depth=16)
    monkeypatch.setitem(sys.modules, "imagecodecs", None)
    with pytest.raises(MissingDependencyError, match=r"edgerestore\[png16\]"):
        read_image(tmp_path / "x.png")
