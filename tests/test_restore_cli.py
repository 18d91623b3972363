"""Plug-and-play restoration from the command line: deblur / inpaint / upscale and eval deblur.

The networks are tiny DnCNNs built in the test (nothing is trained): one with random
weights stands in for the MAP denoiser, and one whose last convolution is zero is the
identity, which keeps the evaluation deterministic and its numbers meaningful.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import save_tiny_dncnn

from edgerestore.cli import main
from edgerestore.models.weights_io import save_weights
from edgerestore.runtime.image_io import read_image, write_image
from edgerestore.runtime.kernels import motion_kernel
from edgerestore.runtime.samples import load_sample

CARD = {"name": "tiny", "task": "map_denoiser", "sigma": 11.0}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """A 40x40 RGB photo crop, a 9x9 motion kernel as .npy and .png, and a tiny denoiser."""
    root = tmp_path_factory.mktemp("restore")
    image = load_sample("astronaut")[::8, ::8][8:48, 12:52]
    write_image(root / "in.png", image)
    kernel = motion_kernel(9, seed=0)
    np.save(root / "k.npy", kernel)
    write_image(root / "k.png", (kernel / kernel.max())[:, :, None].astype(np.float32))
    return {"image": root / "in.png", "npy": root / "k.npy", "png": root / "k.png",
            "model": save_tiny_dncnn(root / "map.safetensors", card=CARD), "root": root}


def run(*argv: str | Path) -> int:
    return main(["-q", *map(str, argv)])


@pytest.mark.parametrize(("method", "kernel", "extra", "grow"), [
    ("admm", "npy", ["--sigma", "2.55"], 0),
    ("hqs", "png", ["--sigma", "2.55", "--boundary", "valid"], 8),
    ("dmsp", "npy", ["--boundary", "circular"], 0),  # noise-blind DMSP
])
def test_deblur_methods_write_outputs_of_the_right_size(files, tmp_path, method, kernel, extra,
                                                        grow):
    out = tmp_path / "out.png"
    assert run("deblur", files["image"], "-o", out, "--kernel", files[kernel], "--denoiser",
               files["model"], "--method", method, "--iters", "3", *extra) == 0
    restored, info = read_image(out)
    assert restored.shape == (40 + grow, 40 + grow, 3) and info.bit_depth == 8


def test_dmsp_takes_a_separate_dae(files, tmp_path):
    dae = save_tiny_dncnn(tmp_path / "dae.safetensors", identity=True, card=CARD)
    out = tmp_path / "out.png"
    assert run("deblur", files["image"], "-o", out, "--kernel", files["npy"], "--denoiser",
               files["model"], "--method", "dmsp", "--dae", dae, "--sigma", "2.55",
               "--iters", "3") == 0
    assert read_image(out)[0].shape == (40, 40, 3)


def test_inpaint_and_upscale(files, tmp_path):
    mask = (np.random.default_rng(0).random((40, 40, 1)) > 0.5).astype(np.float32)
    write_image(tmp_path / "mask.png", mask)
    out = tmp_path / "filled.png"
    assert run("inpaint", files["image"], "-o", out, "--mask", tmp_path / "mask.png",
               "--denoiser", files["model"], "--iters", "3") == 0
    assert read_image(out)[0].shape == (40, 40, 3)
    out = tmp_path / "big.png"
    assert run("upscale", files["image"], "-o", out, "--scale", "2", "--denoiser",
               files["model"], "--iters", "3", "--sigma", "1") == 0
    assert read_image(out)[0].shape == (80, 80, 3)


def test_inpaint_refuses_a_mask_of_another_size(files, tmp_path, capsys):
    write_image(tmp_path / "mask.png", np.ones((20, 40, 1), np.float32))
    out = tmp_path / "filled.png"
    assert run("inpaint", files["image"], "-o", out, "--mask", tmp_path / "mask.png",
               "--denoiser", files["model"]) == 2
    assert "mask is 40x20, the image is 40x40" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(("kernel", "message"), [
    (np.array([[0.5, -0.2], [0.4, 0.3]]), "negative entries"),
    (np.array([[0.5, np.nan], [0.4, 0.3]]), "NaN"),
    (np.ones((48, 48)), "larger than the image"),
])
def test_bad_kernels_exit_2_with_a_message_and_no_output(files, tmp_path, capsys, kernel,
                                                         message):
    np.save(tmp_path / "bad.npy", kernel)
    out = tmp_path / "out.png"
    assert run("deblur", files["image"], "-o", out, "--kernel", tmp_path / "bad.npy",
               "--denoiser", files["model"]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_mat_kernel_by_one_based_index(files, tmp_path, capsys):
    scipy_io = pytest.importorskip("scipy.io")
    cell = np.empty((1, 2), dtype=object)
    cell[0, 0], cell[0, 1] = motion_kernel(7, seed=1), motion_kernel(9, seed=2)
    scipy_io.savemat(tmp_path / "kernels.mat", {"kernels": cell})
    out = tmp_path / "out.png"
    assert run("deblur", files["image"], "-o", out, "--kernel", f"{tmp_path / 'kernels.mat'}:2",
               "--denoiser", files["model"], "--sigma", "2.55", "--iters", "2") == 0
    assert out.exists()
    assert run("deblur", files["image"], "-o", tmp_path / "x.png", "--kernel",
               f"{tmp_path / 'kernels.mat'}:3", "--denoiser", files["model"]) == 2
    assert "out of range 1..2" in capsys.readouterr().err


def test_rgba_input_and_unsupported_denoisers_are_user_errors(files, tmp_path, capsys):
    write_image(tmp_path / "rgba.png", np.full((40, 40, 4), 0.5, np.float32))
    out = tmp_path / "out.png"
    assert run("deblur", tmp_path / "rgba.png", "-o", out, "--kernel", files["npy"],
               "--denoiser", files["model"]) == 2
    assert "alpha channel" in capsys.readouterr().err
    (tmp_path / "model.onnx").write_bytes(b"not a model")
    assert run("deblur", files["image"], "-o", out, "--kernel", files["npy"], "--denoiser",
               tmp_path / "model.onnx") == 2
    assert "not a loadable ONNX model" in capsys.readouterr().err
    (tmp_path / "model.pt").write_bytes(b"pickle")
    assert run("deblur", files["image"], "-o", out, "--kernel", files["npy"], "--denoiser",
               tmp_path / "model.pt") == 2
    assert "supported: .safetensors, .onnx, .tflite" in capsys.readouterr().err
    assert not out.exists()


def test_output_never_overwrites_the_input_without_in_place(files, tmp_path):
    image = tmp_path / "photo.png"
    image.write_bytes(files["image"].read_bytes())
    args = ["deblur", image, "-o", image, "--kernel", files["npy"], "--denoiser", files["model"],
            "--sigma", "2.55", "--iters", "2"]
    assert run(*args) == 2
    assert image.read_bytes() == files["image"].read_bytes()
    assert run(*args, "--in-place") == 0
    assert image.read_bytes() != files["image"].read_bytes()


def test_16_bit_input_keeps_16_bits(files, tmp_path):
    write_image(tmp_path / "in16.png", read_image(files["image"])[0], bit_depth=16)
    out = tmp_path / "out16.png"
    assert run("deblur", tmp_path / "in16.png", "-o", out, "--kernel", files["npy"],
               "--denoiser", files["model"], "--sigma", "2.55", "--iters", "2") == 0
    assert read_image(out)[1].bit_depth == 16


def test_torch_denoisers_follow_the_protocol(files, tmp_path):
    from edgerestore.models.blindspot import DilatedBlindSpotNet
    from edgerestore.models.blindspot_denoiser import BlindSpotDenoiser
    from edgerestore.models.gaussian_head import out_channels_for
    from edgerestore.models.torch_denoisers import denoiser_sigma, load_torch_denoiser

    assert denoiser_sigma(files["model"]) == pytest.approx(11 / 255)
    dncnn = load_torch_denoiser(files["model"])
    grey = read_image(files["image"])[0][:, :, :1]
    # fixed strength: sigma is ignored; a colour model serves a grey image
    np.testing.assert_array_equal(dncnn(grey, 0.01), dncnn(grey, 0.2))
    assert dncnn(grey, None).shape == grey.shape
    torch.manual_seed(0)
    backbone = DilatedBlindSpotNet(3, out_channels_for(3), width=8, depth=3, branch_width=4,
                                   mix_widths=(8, 8))
    model = BlindSpotDenoiser(backbone, 3)
    save_weights(model, model.config(), tmp_path / "bs.safetensors")
    blindspot = load_torch_denoiser(tmp_path / "bs.safetensors")
    assert denoiser_sigma(tmp_path / "bs.safetensors") is None
    noisy = read_image(files["image"])[0]
    assert not np.allclose(blindspot(noisy, 0.01), blindspot(noisy, 0.2))
    assert blindspot(noisy, None).shape == noisy.shape


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def test_eval_deblur_compares_every_method_on_the_same_observations(tmp_path, capsys):
    images = tmp_path / "images"
    images.mkdir()
    camera = load_sample("camera")[::8, ::8]
    write_image(images / "a.png", camera[8:40, 8:40])
    write_image(images / "b.png", camera[24:56, 20:52])
    np.savez(tmp_path / "kernels.npz", k1=motion_kernel(7, seed=3), k2=motion_kernel(9, seed=4))
    model = save_tiny_dncnn(tmp_path / "identity.safetensors", channels=1, identity=True,
                            card=CARD)
    out, plot = tmp_path / "eval.json", tmp_path / "convergence.png"
    assert run("eval", "deblur", "--denoiser", model, "--images", images, "--kernels",
               tmp_path / "kernels.npz", "--sigma", "2.55", "--seed", "0", "--json", out,
               "--iters-admm", "10", "--iters-dmsp", "20", "--convergence-plot", plot) == 0
    result = json.loads(out.read_text())
    assert result["count"] == 4 and result["protocol"] == "dpir"
    assert result["boundary"] == "circular" and result["denoiser_sigma"] == pytest.approx(11)
    assert set(result["methods"]) == {"admm", "hqs", "dmsp", "wiener", "uwiener", "bm3d"}
    for scored in result["methods"].values():
        assert all(_finite(scored[k]) for k in ("psnr", "ssim", "iterations", "seconds"))
        rows = scored["per_image"]
        assert [(r["image"], r["kernel"]) for r in rows] == [
            ("a.png", "k1"), ("a.png", "k2"), ("b.png", "k1"), ("b.png", "k2")]
        assert all(_finite(r["psnr"]) and 0 < r["ssim"] <= 1 for r in rows)
    assert result["methods"]["admm"]["iterations"] <= 10
    assert result["methods"]["dmsp"]["iterations"] == 20
    speed = result["speed"]
    assert speed["cases"] == 4 and 0 <= speed["cases_reached"] <= 4
    for case in speed["per_image"]:
        assert "speedup" in case and "admm_seconds_to_reach_dmsp_psnr" in case
        assert len(case["admm_trace"]["psnr"]) == len(case["admm_trace"]["seconds"])
        if case["speedup"] is not None:
            assert case["speedup"] == pytest.approx(
                case["dmsp_seconds"] / case["admm_seconds_to_reach_dmsp_psnr"])
    assert (speed["speedup_mean"] is None) == (speed["cases_reached"] == 0)
    assert set(result["convergence"]) >= {"admm", "hqs", "dmsp"}
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "per_image" not in capsys.readouterr().out


def test_eval_deblur_authors_protocol_recovers_the_full_image(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    write_image(images / "a.png", load_sample("astronaut")[::8, ::8][8:40, 8:40])
    cell = np.empty((1, 1), dtype=object)
    cell[0, 0] = motion_kernel(8, seed=5)  # even size: the baselines must keep its centre
    pytest.importorskip("scipy.io").savemat(tmp_path / "kernels.mat", {"kernels": cell})
    model = save_tiny_dncnn(tmp_path / "identity.safetensors", identity=True, card=CARD)
    out = tmp_path / "eval.json"
    assert run("eval", "deblur", "--denoiser", model, "--images", images, "--kernels",
               tmp_path / "kernels.mat", "--protocol", "authors", "--methods", "admm", "dmsp",
               "wiener", "--iters-admm", "5", "--iters-dmsp", "5", "--threads", "1",
               "--json", out) == 0
    result = json.loads(out.read_text())
    assert result["boundary"] == "valid" and result["count"] == 1
    assert result["scored"].startswith("image cropped by the kernel's valid margins")
    assert result["methods"]["wiener"]["per_image"][0]["kernel"] == "1"
    assert all(_finite(result["methods"][m]["psnr"]) for m in ("admm", "dmsp", "wiener"))
    assert "speedup" in result["speed"]["per_image"][0]
