"""A blind-spot model with a *measured* noise level (camera photos): the level is the
sub-image MAD estimate of the noisy image in training, in PyTorch inference and in the
torch-free runtime, so all three agree; the exported file takes a sigma input and its
card tells the runtime which stride to measure with."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import correlated_noise

from edgerestore.cli import main
from edgerestore.runtime.sigma_estimate import CORRELATED_NOISE_STRIDE, estimate_sigma

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from edgerestore.errors import InputError  # noqa: E402
from edgerestore.models.blindspot import DilatedBlindSpotNet  # noqa: E402
from edgerestore.models.blindspot_denoiser import BlindSpotDenoiser  # noqa: E402
from edgerestore.models.weights_io import save_weights  # noqa: E402
from edgerestore.runtime.exported_denoiser import ExportedDenoiser  # noqa: E402


def tiny(seed: int = 0) -> BlindSpotDenoiser:
    torch.manual_seed(seed)
    backbone = DilatedBlindSpotNet(3, 9, width=8, depth=2, branch_width=4, mix_widths=(8,),
                                   hole=1)
    return BlindSpotDenoiser(backbone, 3, "gauss", "measured").eval()


def correlated_photo(rng: np.random.Generator) -> np.ndarray:
    """A smooth image plus noise whose lag-1 correlation (0.5) fools the plain MAD."""
    yy, xx = np.mgrid[0:48, 0:56] / 56.0
    clean = np.stack([0.3 + 0.4 * xx, 0.5 + 0.2 * yy, 0.6 - 0.3 * xx * yy], axis=2)
    return np.clip(clean + correlated_noise(clean.shape, 20.4, rng), 0, 1).astype(np.float32)


def test_the_measured_level_is_the_sub_image_estimate():
    model = tiny()
    image = correlated_photo(np.random.default_rng(1))
    level = model.estimated_level(torch.from_numpy(image.transpose(2, 0, 1))[None])
    want = estimate_sigma(image, CORRELATED_NOISE_STRIDE)
    assert level.item() == pytest.approx(want, rel=1e-6)
    assert want > 1.5 * estimate_sigma(image)  # the plain MAD reads it far too low


def test_measured_level_needs_gaussian_noise():
    with pytest.raises(InputError, match="Gaussian"):
        BlindSpotDenoiser(tiny().backbone, 3, "poisson", "measured")


def test_measured_model_exports_with_a_sigma_input_the_runtime_measures(tmp_path):
    model = tiny()
    path = tmp_path / "tiny_measured.safetensors"
    save_weights(model, model.config(), path, {"name": "tiny_measured",
                                               "noise": "camera:iso=400-6400"})
    out = tmp_path / "export"
    assert main(["-q", "export", "--model", str(path), "--format", "onnx", "--precision",
                 "fp32", "--out", str(out)]) == 0
    den = ExportedDenoiser(out / "tiny_measured_fp32.onnx", max_tile=4096)
    assert den.metadata["noise"]["sigma_estimate_stride"] == CORRELATED_NOISE_STRIDE
    assert den.takes_level and den.estimate_stride == CORRELATED_NOISE_STRIDE
    image = correlated_photo(np.random.default_rng(2))
    got = den.denoise(image)  # no sigma: measured on the sub-images, as in training
    with torch.no_grad():
        want = model.denoise(torch.from_numpy(image.transpose(2, 0, 1))[None])
    np.testing.assert_allclose(got, want[0].permute(1, 2, 0).numpy(), atol=2e-5)
    plain = den.denoise(image, sigma=estimate_sigma(image))
    assert not np.allclose(got, plain, atol=1e-4)  # the stride matters
