"""A blind-spot model that learned its own noise level (trained on camera photos, with a
blind patch) exports as image in, image out: the level comes from the model's estimator
inside the graph, not from the runtime's MAD estimate, and ONNX matches PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

from edgerestore.cli import main

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from edgerestore.models.blindspot import DilatedBlindSpotNet  # noqa: E402
from edgerestore.models.blindspot_denoiser import BlindSpotDenoiser  # noqa: E402
from edgerestore.models.weights_io import save_weights  # noqa: E402
from edgerestore.runtime.exported_denoiser import ExportedDenoiser  # noqa: E402


def test_learned_level_model_exports_without_a_level_input(tmp_path):
    torch.manual_seed(0)
    backbone = DilatedBlindSpotNet(3, 9, width=8, depth=2, branch_width=4, mix_widths=(8,),
                                   hole=1)
    model = BlindSpotDenoiser(backbone, 3, "gauss", "estimated").eval()
    with torch.no_grad():  # a level far from the initial 25/255, so a wrong path shows
        model.estimator.net[-1].bias.fill_(float(np.log(12 / 255)))
    path = tmp_path / "tiny_hole.safetensors"
    save_weights(model, model.config(), path, {"name": "tiny_hole"})
    out = tmp_path / "export"
    assert main(["-q", "export", "--model", str(path), "--format", "onnx", "--precision",
                 "fp32", "--out", str(out)]) == 0
    den = ExportedDenoiser(out / "tiny_hole_fp32.onnx", max_tile=4096)
    rng = np.random.default_rng(0)
    image = np.clip(0.5 + 0.1 * rng.standard_normal((40, 52, 3)), 0, 1).astype(np.float32)
    got = den.denoise(image, sigma=50 / 255)  # no level input: a given sigma changes nothing
    with torch.no_grad():
        want = model.denoise(torch.from_numpy(image.transpose(2, 0, 1))[None])
    np.testing.assert_allclose(got, want[0].permute(1, 2, 0).numpy(), atol=2e-5)
    assert not np.allclose(got, image, atol=1e-3)
