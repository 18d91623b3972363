"""The real-photo sequence on tiny settings: a folder of noisy photos -> AP-BSN training
(no clean image) -> export -> ``edgerestore adapt`` on other noisy photos -> ``denoise``
with the adapted file in the torch-free runtime. And the pair-folder dev set."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from edgerestore.cli import main
from edgerestore.runtime.image_io import read_image, write_image

pytest.importorskip("torch")
pytest.importorskip("onnx")

TINY = ["--width", "8", "--depth", "2", "--branch-width", "4", "--mix-widths", "8"]
SHORT = ["--steps", "3", "--batch", "2", "--patch", "40", "--threads", "1"]


def noisy_photos(folder: Path, count: int, seed: int, clean_folder: Path | None = None) -> Path:
    """Generated scenes with spatially correlated noise (a 2x2 box over white noise, as
    demosaicing correlates neighbours); optionally their clean versions beside them."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for i in range(count):
        y, x = np.mgrid[0:64, 0:72] / 30.0
        clean = np.stack([0.5 + 0.3 * np.sin(3 * x + i), 0.4 + 0.3 * np.cos(2 * y),
                          0.3 + 0.2 * x * y / 4], axis=2)
        white = rng.normal(0, 0.1, (65, 73, 3))
        noise = (white[:-1, :-1] + white[1:, :-1] + white[:-1, 1:] + white[1:, 1:]) / 2
        write_image(folder / f"p{i}.png", np.clip(clean + noise, 0, 1).astype(np.float32))
        if clean_folder is not None:
            clean_folder.mkdir(parents=True, exist_ok=True)
            write_image(clean_folder / f"p{i}.png", np.clip(clean, 0, 1).astype(np.float32))
    return folder


def test_noisy_folder_to_adapted_model_on_the_device(tmp_path):
    base_photos = noisy_photos(tmp_path / "mine", 3, seed=0)
    dev = tmp_path / "dev"
    noisy_photos(dev / "noisy", 2, seed=5, clean_folder=dev / "clean")
    base = tmp_path / "base.safetensors"
    assert main(["-q", "train", "blindspot", "--data", str(base_photos), "--already-noisy",
                 "--pd-stride", "2", *TINY, *SHORT, "--out", str(base),
                 "--run-dir", str(tmp_path / "run"), "--dev-images", str(dev),
                 "--dev-count", "2", "--checkpoint-every", "3"]) == 0
    card = json.loads(base.with_suffix(".json").read_text())
    assert "real noisy/clean pairs" in card["dev_set"]
    assert np.isfinite(card["dev_psnr"])
    assert card["training"]["clean_targets_used"] is False

    later = noisy_photos(tmp_path / "later", 2, seed=9)
    out = tmp_path / "adapted.onnx"
    assert main(["-q", "adapt", str(later / "p0.png"), str(later), "-o", str(out),
                 "--from", str(base), *SHORT]) == 0
    adapted = json.loads(out.with_suffix(".json").read_text())
    assert str(base_photos) in str(adapted["lineage"][0]["data"])  # the base stage is kept
    assert len(adapted["lineage"]) == 2 and adapted["training"]["already_noisy"] is True
    assert out.is_file() and out.with_name("adapted.onnx.json").is_file()

    code = textwrap.dedent(f"""
        import sys
        from edgerestore.cli import main
        assert main(["-q", "denoise", {str(later / "p1.png")!r}, "-o",
                     {str(tmp_path / "out.png")!r}, "--model", {str(out)!r}]) == 0
        assert "torch" not in sys.modules, "the runtime imported torch"
    """)
    subprocess.run([sys.executable, "-c", code], check=True)
    restored = read_image(tmp_path / "out.png")[0]
    assert restored.shape == (64, 72, 3)


@pytest.mark.parametrize("source", ["map_rgb", "model.onnx"])
def test_adapt_refuses_what_it_cannot_continue(tmp_path, source, capsys):
    photos = noisy_photos(tmp_path / "mine", 1, seed=0)
    code = main(["adapt", str(photos), "-o", str(tmp_path / "m.onnx"), "--from", source])
    assert code == 2
    assert "error:" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()


def test_adapt_refuses_an_output_that_is_not_a_runtime_file(tmp_path, capsys):
    photos = noisy_photos(tmp_path / "mine", 1, seed=0)
    assert main(["adapt", str(photos), "-o", str(tmp_path / "m.png")]) == 2
    assert ".onnx or .tflite" in capsys.readouterr().err
