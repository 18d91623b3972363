"""AP-BSN wrapper: PD is an exact permutation, the blind spot survives it (checked by
autograd), asymmetric inference and R3 run, weights files rebuild it, it learns."""

from __future__ import annotations

import pytest
import torch

from edgerestore.errors import InputError, ModelFileError
from edgerestore.models.blindspot import DilatedBlindSpotNet
from edgerestore.models.pd_blindspot import PDBlindSpotNet, pd_down, pd_up
from edgerestore.models.registry import build_model
from edgerestore.models.weights_io import load_weights, save_weights

F64 = torch.float64


def tiny(channels: int = 3, **pd) -> PDBlindSpotNet:
    torch.manual_seed(0)
    backbone = DilatedBlindSpotNet(channels, channels, width=8, depth=3, branch_width=4,
                                   mix_widths=(8,))
    return PDBlindSpotNet(backbone, channels, **pd).double()


@pytest.mark.parametrize("stride", [1, 2, 5])
def test_pd_and_its_inverse_are_exact_inverses(stride):
    x = torch.randn(2, 3, 4 * stride, 3 * stride, dtype=F64)
    down = pd_down(x, stride)
    assert down.shape == (2 * stride**2, 3, 4, 3)
    assert torch.equal(pd_up(down, stride), x)
    assert torch.equal(pd_down(pd_up(down, stride), stride), down)
    # sub-image (p, q) of image b is every stride-th pixel starting at (p, q)
    p, q = stride - 1, stride // 2
    assert torch.equal(down[stride**2 + p * stride + q], x[1, :, p::stride, q::stride])


def output_grad(fn, x: torch.Tensor, i: int, j: int) -> torch.Tensor:
    """Gradient wrt ``x`` of all channels of output pixel (i, j), summed over channels."""
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(fn(x)[0, :, i, j].sum(), x)
    return grad[0].abs().sum(0)


@pytest.mark.parametrize("size", [(20, 25), (13, 17)])  # a multiple of 5, and padded
def test_blind_spot_survives_pd_at_the_training_stride(size):
    net = tiny(train_stride=5).train()
    h, w = size
    torch.manual_seed(1)
    x = torch.randn(1, 3, h, w, dtype=F64)
    for i, j in [(0, 0), (h - 1, w - 1), (h // 2, w // 3), (h - 1, 0), (7, w - 2)]:
        grad = output_grad(net, x, i, j)
        assert grad[i, j] == 0, (i, j)
        assert grad.sum() > 0
        rows = torch.arange(h)[:, None] % 5 != i % 5
        cols = torch.arange(w)[None, :] % 5 != j % 5
        assert torch.all(grad[rows | cols] == 0), "reads outside its own sub-image"


def test_blind_spot_also_holds_at_the_inference_stride():
    net = tiny()
    x = torch.randn(1, 3, 15, 11, dtype=F64)
    for i, j in [(0, 0), (14, 10), (6, 5)]:
        assert output_grad(lambda t: net.blind_spot(t, 2), x, i, j)[i, j] == 0


def test_asymmetric_inference_with_r3_is_finite_deterministic_and_refines():
    net = tiny(train_stride=5, infer_stride=2, r3_steps=3, r3_prob=0.16).eval()
    x = torch.rand(2, 3, 21, 18, dtype=F64)
    with torch.no_grad():
        out = net(x)
        again = net(x)
        plain = net.blind_spot(x, 2)
    assert out.shape == x.shape and torch.isfinite(out).all()
    assert torch.equal(out, again)  # R3's masks are seeded
    assert not torch.allclose(out, plain)  # R3 changed the PD output
    assert torch.equal(tiny(r3_steps=0).eval()(x), plain)
    assert net.denoise(x).dtype == torch.float32 and net.training is False


def test_denoise_restores_training_mode_and_forward_follows_it():
    net = tiny().train()
    x = torch.rand(1, 3, 10, 10, dtype=F64)
    with torch.no_grad():
        assert torch.equal(net(x), net.blind_spot(x, 5))
    net.denoise(x)
    assert net.training


def test_weights_file_rebuilds_it(tmp_path):
    net = tiny(channels=1, train_stride=4, infer_stride=3, r3_steps=2, r3_prob=0.25).float()
    save_weights(net, net.config(), tmp_path / "m.safetensors")
    loaded, config = load_weights(tmp_path / "m.safetensors")
    assert isinstance(loaded, PDBlindSpotNet) and config == net.config()
    x = torch.rand(1, 1, 12, 12)
    with torch.no_grad():
        assert torch.equal(loaded(x), net.eval()(x))
    with pytest.raises(ModelFileError, match="pd_blindspot"):
        build_model({**net.config(), "train_stride": 0})


def test_bad_settings_are_input_errors():
    backbone = DilatedBlindSpotNet(3, 9, width=4, depth=2, branch_width=2, mix_widths=(4,))
    with pytest.raises(InputError, match="3 channels"):
        PDBlindSpotNet(backbone, 3)
    backbone = DilatedBlindSpotNet(3, 3, width=4, depth=2, branch_width=2, mix_widths=(4,))
    for bad in ({"train_stride": 0}, {"infer_stride": 2.5}, {"r3_steps": -1},
                {"r3_prob": 1.5}):
        with pytest.raises(InputError):
            PDBlindSpotNet(backbone, 3, **bad)


def test_l1_loss_trains_the_backbone():
    net = tiny(train_stride=2).float().train()
    torch.manual_seed(2)
    clean = torch.linspace(0, 1, 24).repeat(2, 3, 24, 1)
    noisy = clean + 0.1 * torch.randn_like(clean)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(60):
        loss = net.nll(net(noisy), noisy, None)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_pd_inference_path_exports_to_onnx_and_matches_torch():
    """The PD path is reshapes and transposes: the export pipeline's ONNX exporter takes it
    (R3 off: its random masks are not part of the exported graph)."""
    pytest.importorskip("onnxslim")
    import numpy as np
    import onnxruntime as ort

    from edgerestore.export.graph import GraphSpec
    from edgerestore.export.onnx_export import export_fp32

    net = tiny(train_stride=5, infer_stride=2, r3_steps=0).float().eval()
    spec = GraphSpec(net, "denoise", ("noisy",), "denoised", 3, 3, "NCHW", None)
    model = export_fp32(spec, level=0.0)
    ops = {node.op_type for node in model.graph.node}
    assert {"Reshape", "Transpose"} <= ops
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for size in ((30, 44), (31, 45)):  # traced at 64x64: any size still runs
        x = torch.rand(1, 3, *size)
        (out,) = session.run(None, {"noisy": x.numpy()})
        with torch.no_grad():
            np.testing.assert_allclose(out, net(x).numpy(), atol=1e-5)
