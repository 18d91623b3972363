"""The models packaged inside edgerestore: fresh against the weights, named, defaulted,
and usable from the command line without any model flag (single files and folders)."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgerestore.cli import main
from edgerestore.errors import InputError
from edgerestore.runtime import packaged
from edgerestore.runtime.blur import blur_circular
from edgerestore.runtime.image_io import JPEG_QUALITY, read_image, write_image
from edgerestore.runtime.kernels import gaussian_kernel
from edgerestore.runtime.metrics import psnr
from edgerestore.runtime.model_metadata import read_metadata

WEIGHTS = Path(__file__).resolve().parents[1] / "src" / "edgerestore" / "models" / "weights"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def scene(size: int = 96, channels: int = 3) -> np.ndarray:
    """A smooth generated picture with edges (no dataset needed)."""
    y, x = np.mgrid[0:size, 0:size] / size
    planes = [0.5 + 0.3 * np.sin(6 * x) * np.cos(4 * y), (x > 0.5) * 0.3 + 0.2 * y,
              0.2 + 0.6 * ((x - 0.4) ** 2 + (y - 0.5) ** 2 < 0.08)]
    return np.stack(planes[:channels], axis=2).astype(np.float32)


def noisy_of(clean: np.ndarray, seed: int = 0) -> np.ndarray:
    return (clean + np.random.default_rng(seed).normal(0, 25 / 255, clean.shape)).astype(
        np.float32)


@pytest.mark.parametrize("name", list(packaged.SHIPPED))
def test_packaged_files_match_the_shipped_weights(name):
    """Retraining without `make models` (edgerestore export --shipped) fails here."""
    entry = packaged.read_manifest()["models"].get(name)
    assert entry, f"{name} is not packaged; run `make models`"
    current = _sha256(WEIGHTS / f"{name}.safetensors")
    assert entry["weights_sha256"] == current, (
        f"packaged {name} was exported from other weights; run `make models`")
    kinds = {(f["format"], f["precision"]) for f in entry["files"]}
    assert {("onnx", "fp32"), ("onnx", "int8"), ("tflite", "int8")} <= kinds
    for f in entry["files"]:
        path = packaged.PACKAGED_DIR / f["file"]
        assert path.stat().st_size == f["size_bytes"]
        assert read_metadata(path)["source"]["weights_sha256"] == current
        parity = f["parity_samples"]
        assert parity and abs(parity["denoise_psnr_delta"]) < 0.3, (f["file"], parity)


def test_names_paths_and_defaults_resolve(tmp_path, monkeypatch):
    monkeypatch.setattr(packaged, "installed_backends", lambda: ("onnxruntime",))
    path = packaged.resolve("map_rgb", task="prior")
    assert path.suffix == ".onnx" and path.name.startswith("map_rgb_")
    assert packaged.resolve(None, task="denoise", channels=1).name.startswith(
        "blindspot_gauss25_gray_")
    assert packaged.resolve("map_rgb", task="prior", backend="litert").suffix == ".tflite"
    fp32 = packaged.resolve("blindspot_eff_gauss25_rgb", task="denoise", precision="fp32")
    assert fp32.name == "blindspot_eff_gauss25_rgb_fp32.onnx"
    assert packaged.resolve(str(fp32), task="denoise") == fp32
    with pytest.raises(InputError, match="neither a model file nor a packaged model"):
        packaged.resolve("no_such_model", task="denoise")
    with pytest.raises(InputError, match="packaged model"):
        packaged.resolve(str(fp32), task="denoise", backend="litert")


def test_colour_default_moves_to_the_range_model_far_from_sigma_25():
    low, high = packaged.SIGMA25_BAND  # 0-255; default_name takes [0, 1]
    assert packaged.default_name("denoise", 3, 25 / 255) == "blindspot_gauss25_rgb"
    assert packaged.default_name("denoise", 3, None) == "blindspot_gauss25_rgb"
    assert packaged.default_name("denoise", 3, (low - 1) / 255) == packaged.RANGE_MODEL
    assert packaged.default_name("denoise", 3, (high + 1) / 255) == packaged.RANGE_MODEL
    assert packaged.default_name("denoise", 1, 5 / 255) == "blindspot_gauss25_gray"
    assert packaged.default_name("prior", 3, 5 / 255) == "map_rgb"


def test_models_command_lists_every_packaged_model(capsys):
    assert main(["-q", "models"]) == 0
    out = capsys.readouterr().out
    for name in packaged.SHIPPED:
        assert name in out
    assert "colour denoise" in out and "grey prior" in out


def test_denoise_and_deblur_without_model_flags(tmp_path):
    clean = scene()
    write_image(tmp_path / "noisy.png", noisy_of(clean))
    assert main(["-q", "denoise", str(tmp_path / "noisy.png"), "-o", str(tmp_path / "d.png"),
                 "--threads", "1"]) == 0
    assert psnr(clean, read_image(tmp_path / "d.png")[0]) > psnr(
        clean, read_image(tmp_path / "noisy.png")[0]) + 3

    grey = scene(channels=1)
    write_image(tmp_path / "grey.png", noisy_of(grey))
    assert main(["-q", "denoise", str(tmp_path / "grey.png"), "-o", str(tmp_path / "g.png"),
                 "--model", "blindspot_gauss25_gray", "--backend", "onnxruntime"]) == 0

    kernel = gaussian_kernel(1.6, 9)
    blurred = blur_circular(clean, kernel)
    write_image(tmp_path / "blurred.png", blurred)
    np.save(tmp_path / "k.npy", kernel)
    assert main(["-q", "deblur", str(tmp_path / "blurred.png"), "--kernel",
                 str(tmp_path / "k.npy"), "--sigma", "2.55", "--boundary", "circular",
                 "--iters", "10", "-o", str(tmp_path / "s.png"), "--threads", "1"]) == 0
    assert psnr(clean, read_image(tmp_path / "s.png")[0]) > psnr(clean, blurred) + 1


def _jpeg_with_metadata(path: Path, pixels: np.ndarray) -> None:
    img = Image.fromarray((pixels * 255).round().astype(np.uint8))
    exif = img.getexif()
    exif[0x010F] = "edgerestore-test-camera"  # Make
    icc = b"fake-icc-profile-for-the-test"
    img.save(path, quality=95, exif=exif.tobytes(), icc_profile=icc)


@pytest.mark.parametrize("jobs", [1, 2])
def test_folder_batch_keeps_names_formats_metadata_and_reports_failures(tmp_path, jobs):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    clean = scene(64)
    write_image(src / "a.png", noisy_of(clean))
    _jpeg_with_metadata(src / "b.jpg", np.clip(noisy_of(clean, 1), 0, 1))
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    args = ["-q", "denoise", str(src), "-o", str(out), "--jobs", str(jobs), "--threads", "1"]
    assert main(args) == 2  # broken.png fails, the others are written
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.jpg"]
    with Image.open(out / "b.jpg") as img:
        assert img.format == "JPEG"
        assert img.getexif().get(0x010F) == "edgerestore-test-camera"
        assert img.info.get("icc_profile") == b"fake-icc-profile-for-the-test"
    before = (out / "a.png").stat().st_mtime_ns
    (src / "broken.png").unlink()
    assert main(args) == 0  # existing outputs are skipped...
    assert (out / "a.png").stat().st_mtime_ns == before
    assert main([*args, "--overwrite"]) == 0  # ...unless --overwrite
    assert (out / "a.png").stat().st_mtime_ns != before


def _photo_with_metadata(path: Path, pixels: np.ndarray) -> tuple[bytes, bytes]:
    """Write ``pixels`` with a camera EXIF tag and a real sRGB ICC profile: a JPEG (8-bit)
    or a 16-bit PNG (written as Pillow cannot, by edgerestore's own 16-bit writer)."""
    from PIL import ImageCms

    from edgerestore.runtime.image_io import ImageInfo

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010F] = "edgerestore-test-camera"  # Make
    h, w, c = pixels.shape
    if path.suffix == ".png":
        like = ImageInfo(str(path), "PNG", w, h, c, 16, False, exif.tobytes(), icc)
        write_image(path, pixels, bit_depth=16, like=like)
    else:
        Image.fromarray((pixels * 255).round().astype(np.uint8)).save(
            path, quality=90, exif=exif.tobytes(), icc_profile=icc)
    return exif.tobytes(), icc


@pytest.mark.parametrize("name", ["photo.jpg", "scan16.png"])
@pytest.mark.parametrize("task", ["denoise", "deblur"])
def test_a_file_restored_alone_or_in_a_folder_gives_the_same_bytes_and_metadata(
        tmp_path, name, task):
    """One per-file path: the single-file command, a folder and ``edgerestore.restore_file``
    write the same bytes, keep the EXIF and ICC profile, JPEG at quality 95, 16 bits."""
    import edgerestore

    src = tmp_path / "in"
    src.mkdir()
    _, icc = _photo_with_metadata(src / name, np.clip(noisy_of(scene(40)), 0, 1))
    np.save(tmp_path / "k.npy", gaussian_kernel(1.0, 5))
    options = {"denoise": [], "deblur": ["--kernel", str(tmp_path / "k.npy"), "--sigma", "2.55",
                                         "--iters", "2"]}[task]
    alone, folder = tmp_path / f"alone_{name}", tmp_path / "folder"
    assert main(["-q", task, str(src / name), "-o", str(alone), "--threads", "1",
                 *options]) == 0
    assert main(["-q", task, str(src), "-o", str(folder), "--threads", "1", *options]) == 0
    solver = {"kernel": tmp_path / "k.npy", "sigma": 2.55, "iters": 2} if task == "deblur" \
        else {}
    edgerestore.restore_file(task, src / name, tmp_path / f"api_{name}", threads=1, **solver)
    written = alone.read_bytes()
    assert (folder / name).read_bytes() == written
    assert (tmp_path / f"api_{name}").read_bytes() == written
    with Image.open(alone) as img:
        assert img.getexif().get(0x010F) == "edgerestore-test-camera"
        assert img.info.get("icc_profile") == icc
        if img.format == "JPEG":  # quality 95, not Pillow's default 75
            reference = io.BytesIO()
            Image.new("RGB", (8, 8)).save(reference, "JPEG", quality=JPEG_QUALITY)
            assert JPEG_QUALITY == 95 and img.quantization == Image.open(reference).quantization
    restored, info = read_image(alone)
    assert info.bit_depth == (16 if name.endswith(".png") else 8)
    assert not np.array_equal(restored, read_image(src / name)[0])  # it was restored


def test_deblur_batch_with_one_kernel(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    kernel = gaussian_kernel(1.2, 7)
    np.save(tmp_path / "k.npy", kernel)
    for i in range(2):
        write_image(src / f"{i}.png", blur_circular(scene(48)[:, :, : 3 - 2 * i], kernel))
    assert main(["-q", "deblur", str(src / "*.png"), "-o", str(out), "--kernel",
                 str(tmp_path / "k.npy"), "--sigma", "2.55", "--iters", "3",
                 "--threads", "1"]) == 0
    assert read_image(out / "1.png")[0].shape == (48, 48, 1)  # grey: the grey prior


def test_batch_refuses_colliding_names_and_single_input_commands(tmp_path):
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
        write_image(tmp_path / folder / "same.png", scene(32))
    assert main(["-q", "denoise", str(tmp_path / "x"), str(tmp_path / "y"), "-o",
                 str(tmp_path / "out")]) == 2
    assert main(["-q", "upscale", str(tmp_path / "x"), "-o", str(tmp_path / "o.png"),
                 "--scale", "2"]) == 2


def test_manifest_is_plain_json_with_timings():
    data = json.loads((packaged.PACKAGED_DIR / packaged.MANIFEST).read_text())
    for entry in data["models"].values():
        assert entry["macs_per_pixel"] > 0
        assert all(f["ms_256x256_1thread"] > 0 for f in entry["files"])
