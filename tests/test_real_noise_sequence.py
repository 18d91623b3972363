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

    from edgerestore.models.weights_io import load_weights, save_weights

    net, _ = load_weights(base)
    net.set_r3_steps(0)  # the base runs without R3: so must the adapted file
    save_weights(net, net.config(), base, card)

    later = noisy_photos(tmp_path / "later", 2, seed=9)
    out = tmp_path / "adapted.onnx"
    assert main(["-q", "adapt", str(later / "p0.png"), str(later), "-o", str(out),
                 "--from", str(base), *SHORT]) == 0
    adapted = json.loads(out.with_suffix(".json").read_text())
    assert str(base_photos) in str(adapted["lineage"][0]["data"])  # the base stage is kept
    assert len(adapted["lineage"]) == 2 and adapted["training"]["already_noisy"] is True
    assert out.is_file() and out.with_name("adapted.onnx.json").is_file()
    from edgerestore.runtime.model_metadata import read_card

    assert read_card(out).raw["arch"] == "pd_blindspot"
    assert json.loads(out.with_name("adapted.onnx.json").read_text())["tile_align"] == 2

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


def test_noise_kind_tells_camera_noise_from_white_noise():
    from edgerestore.runtime.sigma_estimate import noise_kind

    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:128, 0:128] / 40.0
    clean = np.stack([0.5 + 0.2 * np.sin(x), 0.5 + 0.2 * np.cos(y), 0.4 + 0.0 * x], axis=2)
    white = rng.normal(0, 20 / 255, (129, 129, 3))
    correlated = (white[:-1, :-1] + white[1:, :-1] + white[:-1, 1:] + white[1:, 1:]) / 2
    assert noise_kind(clean + white[:-1, :-1]) == "gaussian"
    assert noise_kind(clean + correlated) == "real"
    assert noise_kind(np.full((64, 64, 3), 0.5)) == "real"  # an empty finest band


@pytest.mark.parametrize("table", [[], [[3, 0.5], [2, 1.0]], [[1, 1.5]], "x", [[1, 2, 3]]])
def test_an_input_blend_table_must_make_sense(table):
    from edgerestore.errors import InputError
    from edgerestore.runtime.input_blend import check_table

    with pytest.raises(InputError):
        check_table(table)


def test_the_input_blend_keeps_part_of_a_low_noise_input():
    from edgerestore.runtime.input_blend import blend_weight, blend_with_input

    table = ((2.0, 0.5), (6.0, 1.0))
    assert blend_weight(0.0, table) == 0.5 and blend_weight(4.0, table) == 0.75
    assert blend_weight(50.0, table) == 1.0
    flat = np.full((32, 32, 3), 0.5, np.float32)
    np.testing.assert_allclose(blend_with_input(flat, flat + 0.1, table), flat + 0.05,
                               atol=1e-6)
    noisy = flat + np.random.default_rng(0).normal(0, 30 / 255, flat.shape).astype(np.float32)
    assert blend_with_input(noisy, flat, table) is flat  # high noise: all of the output


def test_exported_file_blends_as_pytorch_does_and_r3_is_an_export_choice(tmp_path):
    import torch

    from edgerestore.models.blindspot import DilatedBlindSpotNet
    from edgerestore.models.pd_blindspot import INPUT_BLEND, PDBlindSpotNet
    from edgerestore.models.weights_io import save_weights
    from edgerestore.runtime.exported_denoiser import ExportedDenoiser

    torch.manual_seed(0)
    backbone = DilatedBlindSpotNet(3, 3, width=8, depth=2, branch_width=4, mix_widths=(8,))
    net = PDBlindSpotNet(backbone, 3, r3_steps=2).eval()
    weights = tmp_path / "pd.safetensors"
    save_weights(net, net.config(), weights, {"name": "pd"})
    assert main(["-q", "export", "--model", str(weights), "--format", "onnx", "--precision",
                 "fp32", "--r3", "0", "--out", str(tmp_path / "x")]) == 0
    den = ExportedDenoiser(tmp_path / "x" / "pd_fp32.onnx")
    assert den.input_blend == INPUT_BLEND
    assert den.align == 2  # R3 off: the pixel-shuffle stride alone (no mask period)
    _, x = np.mgrid[0:48, 0:40] / 20.0
    image = np.clip(np.stack([0.5 + 0.2 * np.sin(x)] * 3, axis=2)
                    + np.random.default_rng(1).normal(0, 2 / 255, (48, 40, 3)), 0, 1)
    image = image.astype(np.float32)
    net.set_r3_steps(0)
    want = net.denoise(torch.from_numpy(image.transpose(2, 0, 1))[None])[0].numpy()
    np.testing.assert_allclose(den.denoise(image), want.transpose(1, 2, 0), atol=1e-4)


def _scene(noise: str) -> np.ndarray:
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:96, 0:96] / 30.0
    clean = np.stack([0.5 + 0.2 * np.sin(x), 0.5 + 0.2 * np.cos(y), 0.4 + 0.1 * x / 3], axis=2)
    white = rng.normal(0, 20 / 255, (97, 97, 3))
    if noise == "real":
        white = (white[:-1, :-1] + white[1:, :-1] + white[:-1, 1:] + white[1:, 1:]) / 2
    else:
        white = white[:-1, :-1]
    return np.clip(clean + white, 0, 1).astype(np.float32)


@pytest.mark.parametrize("kind", ["real", "gaussian"])
def test_auto_serves_the_noise_it_measures(kind):
    import edgerestore
    from edgerestore.runtime.packaged import default_name

    image = _scene(kind)
    want = "blindspot_real_rgb" if kind == "real" else default_name("denoise", 3, 25 / 255)
    got = edgerestore.denoise(image, noise="auto", threads=1)
    np.testing.assert_allclose(got, edgerestore.denoise(image, model=want, threads=1), atol=1e-6)
    told = "gaussian" if kind == "real" else "real"  # --noise overrides the measurement
    other = edgerestore.denoise(image, noise=told, threads=1)
    assert np.abs(other - got).max() > 1e-3


@pytest.mark.parametrize("extra", [["--noise", "real", "--sigma", "10"],
                                   ["--noise", "gaussian", "--model", "blindspot_gauss25_rgb"]])
def test_noise_options_that_would_be_ignored_are_refused(tmp_path, extra, capsys):
    write_image(tmp_path / "in.png", _scene("real"))
    assert main(["denoise", str(tmp_path / "in.png"), "-o", str(tmp_path / "out.png"),
                 *extra]) == 2
    assert "error:" in capsys.readouterr().err
    assert not (tmp_path / "out.png").exists()


def test_the_real_noise_model_refuses_a_grey_photo(tmp_path, capsys):
    write_image(tmp_path / "in.png", _scene("real")[:, :, 0])
    assert main(["denoise", str(tmp_path / "in.png"), "-o", str(tmp_path / "out.png"),
                 "--noise", "real"]) == 2
    assert "colour" in capsys.readouterr().err


def test_without_noise_the_default_measures_it():
    """No --noise: camera noise gets the real-noise model, white noise and a given sigma
    the Gaussian one."""
    import edgerestore

    real, white = _scene("real"), _scene("gauss")
    for image, kind in ((real, "real"), (white, "gaussian")):
        np.testing.assert_allclose(edgerestore.denoise(image, threads=1),
                                   edgerestore.denoise(image, noise=kind, threads=1), atol=1e-6)
    assert np.abs(edgerestore.denoise(real, threads=1)
                  - edgerestore.denoise(real, noise="gaussian", threads=1)).max() > 1e-3
    np.testing.assert_allclose(edgerestore.denoise(real, sigma=20, threads=1),
                               edgerestore.denoise(real, sigma=20, noise="gaussian", threads=1),
                               atol=1e-6)
