"""The documented camera-noise sequence (README, "Camera noise"), end to end on tiny
settings: noisy photos only -> a measured-level blind-patch model -> an ONNX file ->
a photo restored by the torch-free runtime's ``denoise`` command, with no sigma given.

Every step is the CLI a user types; the model is tiny and trains for two steps, so the
test checks the plumbing (files, cards, the stride-2 level reaching the runtime), not
the quality, which ``benchmarks/camera_noise.py`` measures.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgerestore.cli import main
from edgerestore.runtime.image_io import read_image, write_image
from edgerestore.runtime.samples import load_sample
from edgerestore.runtime.sigma_estimate import CORRELATED_NOISE_STRIDE

pytest.importorskip("torch")
pytest.importorskip("onnx")


@pytest.fixture
def clean_folder(tmp_path):
    """Four 64x64 crops of a bundled sample: stand-ins for a user's photos."""
    folder = tmp_path / "clean"
    folder.mkdir()
    image = load_sample("astronaut")
    for i in range(4):
        write_image(folder / f"p{i}.png", image[64 * i:64 * i + 64, 100:164])
    return folder


def test_noisy_photos_to_a_restored_photo(tmp_path, clean_folder):
    noisy = tmp_path / "noisy"
    assert main(["-q", "add-noise", str(clean_folder), "-o", str(noisy),
                 "--noise", "camera:iso=1600", "--seed", "1"]) == 0
    weights = tmp_path / "camera_tiny.safetensors"
    assert main(["-q", "train", "blindspot", "--data", str(noisy), "--already-noisy",
                 "--noise", "camera:iso=400-6400", "--sigma-mode", "measured", "--hole", "1",
                 "--width", "8", "--depth", "2", "--branch-width", "4", "--mix-widths", "8",
                 "--steps", "2", "--batch", "2", "--patch", "32", "--threads", "1",
                 "--out", str(weights), "--run-dir", str(tmp_path / "run")]) == 0
    card = json.loads(weights.with_suffix(".json").read_text())
    assert card["training"]["clean_targets_used"] is False
    assert card["training"]["already_noisy"] and card["training"]["sigma_mode"] == "measured"
    exported = tmp_path / "export"
    assert main(["-q", "export", "--model", str(weights), "--format", "onnx",
                 "--precision", "fp32", "--out", str(exported)]) == 0
    onnx_file = exported / "camera_tiny_fp32.onnx"
    photo = noisy / "p0.png"
    before = photo.read_bytes()
    out = tmp_path / "restored.png"
    assert main(["-q", "denoise", str(photo), "-o", str(out), "--model", str(onnx_file)]) == 0
    assert photo.read_bytes() == before  # the input is never changed
    restored, _ = read_image(out)
    assert restored.shape == read_image(photo)[0].shape
    assert not np.array_equal(restored, read_image(photo)[0])

    from edgerestore.runtime.exported_denoiser import ExportedDenoiser

    den = ExportedDenoiser(onnx_file)
    assert den.estimate_stride == CORRELATED_NOISE_STRIDE
