"""AP-BSN (pd_blindspot) from weights to the torch-free runtime: rank-4 pixel shuffles
equal to the 6-D definition, fixed R3 masks outside the weights, ONNX parity with
PyTorch, tiles aligned to the stride and mask period that reproduce the whole-image
result, and the runtime, CLI and loaders taking the model without torch.

A tiny network (width 8, depth 2, 2 R3 passes) built here keeps it fast; the TFLite
conversion and its GPU op audit are marked slow.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from edgerestore.cli import main
from edgerestore.runtime.image_io import read_image, write_image

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from edgerestore.models.blindspot import DilatedBlindSpotNet  # noqa: E402
from edgerestore.models.pd_blindspot import (  # noqa: E402
    R3_PERIOD,
    PDBlindSpotNet,
    pd_down,
    pd_up,
)
from edgerestore.models.weights_io import load_weights, save_weights  # noqa: E402


def tiny_pd(r3_steps: int = 2) -> PDBlindSpotNet:
    torch.manual_seed(0)
    backbone = DilatedBlindSpotNet(3, 3, width=8, depth=2, branch_width=4, mix_widths=(8,))
    return PDBlindSpotNet(backbone, 3, r3_steps=r3_steps).eval()


def photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth generated picture plus noise, HxWx3 float32 in [0, 1]."""
    y, x = np.mgrid[0:height, 0:width] / 40.0
    base = np.stack([0.5 + 0.3 * np.sin(3 * x), 0.4 + 0.3 * np.cos(2 * y), 0.3 + 0.2 * x * y],
                    axis=2)
    noisy = base + np.random.default_rng(seed).normal(0, 0.08, base.shape)
    return np.clip(noisy, 0, 1).astype(np.float32)


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pd") / "tiny_pd.safetensors"
    net = tiny_pd()
    save_weights(net, net.config(), path, {"name": "tiny_pd", "noise": "camera:iso=1600"})
    return path


@pytest.fixture(scope="module")
def onnx_file(weights) -> Path:
    out = weights.parent / "export"
    assert main(["-q", "export", "--model", str(weights), "--format", "onnx", "--precision",
                 "fp32", "--out", str(out)]) == 0
    return out / "tiny_pd_fp32.onnx"


def _down_6d(x, s):
    """The 6-D definition the rank-4 pd_down replaced (the training run used it)."""
    b, c, h, w = x.shape
    return (x.reshape(b, c, h // s, s, w // s, s).permute(0, 3, 5, 1, 2, 4)
            .reshape(b * s * s, c, h // s, w // s))


def _up_6d(y, s):
    n, c, h, w = y.shape
    return (y.reshape(n // (s * s), s, s, c, h, w).permute(0, 3, 4, 1, 5, 2)
            .reshape(n // (s * s), c, h * s, w * s))


@pytest.mark.parametrize("stride", [1, 2, 3, 5])
def test_rank4_pixel_shuffles_equal_the_6d_definition(stride):
    x = torch.randn(2, 3, 4 * stride, 5 * stride)
    assert torch.equal(pd_down(x, stride), _down_6d(x, stride))
    y = torch.randn(3 * stride * stride, 2, 4, 3)
    assert torch.equal(pd_up(y, stride), _up_6d(y, stride))


def test_r3_masks_are_fixed_and_not_in_the_weights(weights):
    net = tiny_pd()
    assert not any("mask" in k for k in net.state_dict())
    loaded, _ = load_weights(weights)  # the strict loader: no missing / extra tensors
    assert torch.equal(loaded.r3_mask, tiny_pd().r3_mask)
    mask = net.r3_mask
    assert mask.shape == (1, 2 * 3, R3_PERIOD, R3_PERIOD)
    assert 0.1 < float(mask.mean()) < 0.22  # r3_prob 0.16
    x = torch.rand(1, 3, 40, 36)
    with torch.no_grad():
        assert torch.equal(net(x), loaded(x))


def test_r3_masks_repeat_with_their_period():
    """A crop at a multiple of the period gets the whole image's masks (what tiling needs)."""
    net = tiny_pd()
    noisy, denoised = torch.rand(1, 3, 80, 70), torch.rand(1, 3, 80, 70)
    captured = []
    net.backbone.register_forward_hook(lambda _m, inputs, _o: captured.append(inputs[0]))
    with torch.no_grad():
        net.refine(noisy, denoised)
        net.refine(noisy[..., R3_PERIOD:, R3_PERIOD:], denoised[..., R3_PERIOD:, R3_PERIOD:])
    whole, crop = captured[:2], captured[2:]
    for a, b in zip(whole, crop, strict=True):
        assert torch.equal(a[..., R3_PERIOD:, R3_PERIOD:], b)
    # The eager / torch.export spelling (concatenated periods) is the traced one (a gather).
    rows, cols = torch.arange(37) % R3_PERIOD, torch.arange(70) % R3_PERIOD
    assert torch.equal(net.tiled_mask(37, 70),
                       net.r3_mask.index_select(2, rows).index_select(3, cols))


def test_onnx_matches_pytorch_at_any_size(weights, onnx_file):
    import onnxruntime as ort

    net, _ = load_weights(weights)
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    for h, w in ((64, 64), (37, 53)):  # odd sizes take the replicate pad
        x = photo(h, w).transpose(2, 0, 1)[None].copy()
        with torch.no_grad():
            want = net(torch.from_numpy(x)).numpy()
        got = session.run(None, {"noisy": x})[0]
        assert got.shape == want.shape
        assert np.abs(got - want).max() < 1e-5


def test_card_records_task_receptive_field_and_alignment(onnx_file):
    from edgerestore.runtime.model_metadata import read_card

    card = read_card(onnx_file)
    assert card.task == "denoise_direct" and card.inputs == ("noisy",)
    backbone = 4 * 2 - 1  # dilated net of depth 2
    assert card.receptive_field == 2 * (backbone - 1) + 1 + (backbone - 1)
    assert card.tile_align == R3_PERIOD


def test_aligned_tiles_reproduce_the_whole_image(onnx_file):
    from edgerestore.runtime.exported_denoiser import ExportedDenoiser
    from edgerestore.runtime.tiling import run_tiled

    image = photo(200, 170)
    whole = ExportedDenoiser(onnx_file, max_tile=4096)
    tiled = ExportedDenoiser(onnx_file, max_tile=96)
    assert tiled.tile_count(200, 170) == 4 * 3  # origins 0, 32, 64, 96 and 0, 32, 64
    reference = whole.denoise(image)
    np.testing.assert_allclose(tiled.denoise(image), reference, atol=2e-6)
    # The same tiles without the alignment shift the pixel-shuffle phase and R3 masks.
    unaligned = run_tiled(image, lambda t: tiled._run_tile(t, None), tile=(96, 96),
                          halo=tiled.halo, blend=tiled.blend)
    assert np.abs(unaligned - reference).max() > 1e-3


def test_runtime_runs_it_without_torch(onnx_file):
    code = textwrap.dedent(f"""
        import sys
        import numpy as np
        from edgerestore.runtime.exported_denoiser import ExportedDenoiser
        den = ExportedDenoiser({str(onnx_file)!r}, max_tile=96)
        out = den.denoise(np.full((70, 90, 3), 0.5, np.float32))
        assert out.shape == (70, 90, 3) and np.isfinite(out).all()
        assert "torch" not in sys.modules, "the runtime imported torch"
    """)
    subprocess.run([sys.executable, "-c", code], check=True)


def test_denoise_command_runs_the_onnx_file(onnx_file, tmp_path):
    image = photo(48, 40)
    write_image(tmp_path / "in.png", image)
    assert main(["-q", "denoise", str(tmp_path / "in.png"), "-o", str(tmp_path / "out.png"),
                 "--model", str(onnx_file), "--threads", "1"]) == 0
    out = read_image(tmp_path / "out.png")[0]
    assert out.shape == image.shape
    assert np.abs(out - image).mean() > 1e-3  # it changed the image


def test_weights_load_as_a_denoiser_that_ignores_sigma(weights, onnx_file):
    from edgerestore.loading import load_denoiser

    image = photo(40, 36)
    torch_den = load_denoiser(weights, "cpu", 1).denoise
    onnx_den = load_denoiser(onnx_file, "cpu", 1).denoise
    out = torch_den(image, 0.1)
    np.testing.assert_array_equal(out, torch_den(image, None))
    np.testing.assert_allclose(onnx_den(image, 0.1), out, atol=1e-5)
    grey = torch_den(image[:, :, :1], None)  # a colour model denoises grey as grey RGB
    assert grey.shape == (40, 36, 1)


def test_deblur_takes_the_weights_as_its_prior(weights, tmp_path):
    write_image(tmp_path / "in.png", photo(32, 32))
    np.save(tmp_path / "k.npy", np.full((3, 3), 1 / 9, np.float32))
    assert main(["-q", "deblur", str(tmp_path / "in.png"), "--kernel", str(tmp_path / "k.npy"),
                 "--model", str(weights), "--iters", "2", "--sigma", "2.55", "--device",
                 "cpu", "-o", str(tmp_path / "out.png")]) == 0
    assert read_image(tmp_path / "out.png")[0].shape == (32, 32, 3)


@pytest.mark.slow
def test_tflite_conversion_is_gpu_ready_and_matches_pytorch(weights, tmp_path):
    pytest.importorskip("litert_torch")
    from edgerestore.export.op_audit import audit_tflite
    from edgerestore.runtime.exported_denoiser import ExportedDenoiser

    assert main(["-q", "export", "--model", str(weights), "--format", "tflite", "--precision",
                 "fp32", "--tile", "64", "--out", str(tmp_path)]) == 0
    path = tmp_path / "tiny_pd_fp32_64x64.tflite"
    audit = audit_tflite(path)
    assert audit["gpu_ready"], audit["flags"]
    net, _ = load_weights(weights)
    image = photo(64, 64)
    with torch.no_grad():
        want = net(torch.from_numpy(image.transpose(2, 0, 1)[None].copy()))[0].numpy()
    got = ExportedDenoiser(path).denoise(image)
    assert np.abs(got - want.transpose(1, 2, 0)).max() < 1e-4
