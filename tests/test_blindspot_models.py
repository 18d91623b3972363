"""Blind-spot architectures, Gaussian head and MAC counter.

The central property is checked by autograd, not by reading the code: the
gradient of every output pixel with respect to the same input pixel must be
exactly zero (all channels), including at borders and on odd, non-square sizes.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from edgerestore.errors import InputError, ModelFileError
from edgerestore.models import gaussian_head as gh
from edgerestore.models.blindspot import CenterlessConv2d, DilatedBlindSpotNet
from edgerestore.models.laine_unet import LaineBlindSpotUNet, ShiftConv2d
from edgerestore.models.macs import count, format_table
from edgerestore.models.registry import build_model
from edgerestore.runtime import bayes

F64 = torch.float64


def tiny_dilated(depth: int = 3, channels: int = 3, hole: int = 0) -> DilatedBlindSpotNet:
    torch.manual_seed(0)
    net = DilatedBlindSpotNet(channels, gh.out_channels_for(channels), width=8, depth=depth,
                              branch_width=4, mix_widths=(8, 8), hole=hole)
    return net.double()


def tiny_laine(channels: int = 3) -> LaineBlindSpotUNet:
    torch.manual_seed(0)
    net = LaineBlindSpotUNet(channels, gh.out_channels_for(channels), base_width=8,
                             head_widths=(16, 8))
    return net.double()


def sample_positions(height: int, width: int, n: int = 30) -> list[tuple[int, int]]:
    """Corners, edge midpoints and random interior pixels."""
    fixed = [(0, 0), (0, width - 1), (height - 1, 0), (height - 1, width - 1),
             (0, width // 2), (height // 2, 0), (height - 1, width // 2), (height // 2, width - 1)]
    rng = np.random.default_rng(0)
    rand = [(int(rng.integers(height)), int(rng.integers(width))) for _ in range(n - len(fixed))]
    return fixed + rand


def input_grad(net: nn.Module, x: torch.Tensor, outputs: list[tuple[int, int]]) -> torch.Tensor:
    """Gradient wrt ``x`` of sample k's output (all channels) at ``outputs[k]``.

    Each position gets its own batch entry, so one backward pass gives the
    Jacobian rows of all positions without mixing them.
    """
    x = x.clone().requires_grad_(True)
    y = net(x)
    picked = torch.stack([y[k, :, i, j].sum() for k, (i, j) in enumerate(outputs)])
    (grad,) = torch.autograd.grad(picked.sum(), x)
    return grad


@pytest.mark.parametrize(
    ("make", "n_positions"),
    [(lambda: tiny_dilated(3), 30), (lambda: tiny_dilated(11), 30), (tiny_laine, 16)],
    ids=["dilated-depth3", "dilated-depth11", "laine"],  # Laine: 4 rotations, slow float64
)
def test_output_never_depends_on_its_own_input_pixel(make, n_positions):
    net, (h, w) = make(), (29, 23)  # Laine pads this to 32x32
    positions = sample_positions(h, w, n_positions)
    torch.manual_seed(1)
    grad = input_grad(net, torch.randn(len(positions), 3, h, w, dtype=F64), positions)
    for k, (i, j) in enumerate(positions):
        assert torch.all(grad[k, :, i, j] == 0), (i, j)
        assert grad[k].abs().sum() > 0  # not blind everywhere


def test_default_dilated_receptive_field_is_43():
    assert DilatedBlindSpotNet(3, 9).receptive_field == 43


@pytest.mark.parametrize(("depth", "hole"), [(3, 0), (11, 0), (3, 1), (3, 2)])
def test_dilated_receptive_field_is_the_full_window_minus_the_hole(depth, hole):
    """The window minus the centre, or (camera-noise variant) minus the (2 hole + 1)^2
    square around it."""
    net = tiny_dilated(depth, channels=1, hole=hole)
    rf = net.receptive_field
    assert rf == 4 * depth - 1 + 2 * hole
    side = rf + 8
    c = side // 2
    torch.manual_seed(1)
    grad = input_grad(net, torch.randn(1, 1, side, side, dtype=F64), [(c, c)])[0, 0]
    expected = torch.zeros(side, side, dtype=torch.bool)
    lo = c - rf // 2
    expected[lo : lo + rf, lo : lo + rf] = True
    expected[c - hole : c + hole + 1, c - hole : c + hole + 1] = False
    assert torch.equal(grad != 0, expected)
    assert build_model(json.loads(json.dumps(net.config()))).hole == hole


def test_hole_must_be_a_small_non_negative_integer():
    with pytest.raises(InputError):
        DilatedBlindSpotNet(1, 2, hole=-1)


def test_laine_receptive_field_is_the_whole_image_minus_centre():
    net = tiny_laine(channels=1)
    torch.manual_seed(1)
    grad = input_grad(net, torch.randn(1, 1, 32, 32, dtype=F64), [(16, 16)])[0, 0]
    expected = torch.ones(32, 32, dtype=torch.bool)
    expected[16, 16] = False
    assert torch.equal(grad != 0, expected)


def test_shift_conv_looks_only_upwards():
    torch.manual_seed(0)
    conv = ShiftConv2d(2, 3).double()
    grad = input_grad(conv, torch.randn(1, 2, 9, 9, dtype=F64), [(4, 4)])[0].abs().sum(0)
    assert (grad != 0).nonzero().tolist() == [[r, c] for r in (2, 3, 4) for c in (3, 4, 5)]


@pytest.mark.parametrize("make", [tiny_dilated, tiny_laine], ids=["dilated", "laine"])
def test_output_size_equals_input_size_for_odd_sizes(make):
    net = make()
    with torch.no_grad():
        y = net(torch.randn(2, 3, 37, 29, dtype=F64))
    assert y.shape == (2, 9, 37, 29)


def test_centerless_conv_stores_eight_taps_and_keeps_a_zero_centre():
    torch.manual_seed(0)
    conv = CenterlessConv2d(4, 6, dilation=2)
    assert conv.weight.shape == (6, 4, 8)
    assert sum(p.numel() for p in conv.parameters()) == 8 * 4 * 6 + 6
    kernel = conv.kernel()
    assert torch.equal(kernel.flatten(2)[..., [0, 1, 2, 3, 5, 6, 7, 8]], conv.weight)

    opt = torch.optim.AdamW(conv.parameters(), lr=0.1, weight_decay=0.1)
    conv(torch.randn(2, 4, 11, 11)).square().sum().backward()
    opt.step()
    assert torch.all(conv.kernel()[:, :, 1, 1] == 0)
    assert conv(torch.randn(1, 4, 11, 13)).shape == (1, 6, 11, 13)


@pytest.mark.parametrize("make", [tiny_dilated, tiny_laine], ids=["dilated", "laine"])
def test_config_round_trips_through_json_and_registry(make):
    net = make()
    rebuilt = build_model(json.loads(json.dumps(net.config())))
    assert type(rebuilt) is type(net)
    assert rebuilt.config() == net.config()


@pytest.mark.parametrize(
    "config",
    [{"arch": "dncnn9000", "in_channels": 3, "out_channels": 3},
     {"in_channels": 3, "out_channels": 3},
     {"arch": "dilated_blindspot", "in_channels": 3, "out_channels": 9, "width": 0},
     {"arch": "laine_unet", "in_channels": 3, "out_channels": 9, "colour": "blue"}],
)
def test_registry_rejects_bad_configs(config):
    with pytest.raises(ModelFileError):
        build_model(config)


# ---------------------------------------------------------------- Gaussian head


def laine_covariance(a: torch.Tensor) -> torch.Tensor:
    """Sigma_x written out entry by entry as in Laine's code (a: [..., 6])."""
    a0, a1, a2, a3, a4, a5 = a.unbind(-1)
    c00, c11, c22 = a0**2 + a1**2 + a2**2, a3**2 + a4**2, a5**2
    c01, c02, c12 = a1 * a3 + a2 * a4, a2 * a5, a4 * a5
    rows = [torch.stack(r, -1) for r in ([c00, c01, c02], [c01, c11, c12], [c02, c12, c22])]
    return torch.stack(rows, -2)


def random_head(channels: int, b: int = 2, h: int = 4, w: int = 5):
    gen = torch.Generator().manual_seed(channels)
    raw = torch.randn(b, gh.out_channels_for(channels), h, w, dtype=F64, generator=gen)
    raw[:, :channels] = raw[:, :channels].abs()  # Poisson needs mostly positive means
    noisy = raw[:, :channels] + 0.3 * torch.randn(b, channels, h, w, dtype=F64, generator=gen)
    return raw, noisy


def test_head_output_counts():
    assert (gh.out_channels_for(3), gh.out_channels_for(1)) == (9, 2)
    with pytest.raises(InputError):
        gh.out_channels_for(2)


def test_split_prior_matches_laines_covariance():
    raw, _ = random_head(3)
    mean, sigma = gh.split_prior(raw, 3)
    assert torch.equal(mean, raw[:, :3])
    assert torch.allclose(sigma, laine_covariance(raw[:, 3:].permute(0, 2, 3, 1)))


@pytest.mark.parametrize("noise_model", ["gauss", "poisson"])
def test_rgb_nll_equals_multivariate_normal_log_prob(noise_model):
    raw, noisy = random_head(3)
    param = torch.tensor([0.04, 0.2], dtype=F64) if noise_model == "gauss" else torch.tensor(
        [5.0, 30.0], dtype=F64)
    nll = gh.nll_loss(raw, noisy, param, noise_model, reduction="none")

    mu = raw[:, :3].permute(0, 2, 3, 1)
    if noise_model == "gauss":
        var_n = param.view(-1, 1, 1, 1).expand_as(mu)
    else:
        var_n = mu.clamp_min(1e-3) / param.view(-1, 1, 1, 1)
    cov = laine_covariance(raw[:, 3:].permute(0, 2, 3, 1)) + torch.diag_embed(var_n)
    dist = torch.distributions.MultivariateNormal(mu, covariance_matrix=cov)
    expected = -dist.log_prob(noisy.permute(0, 2, 3, 1))
    assert nll.shape == (2, 4, 5)
    assert torch.allclose(nll, expected, rtol=1e-10, atol=1e-10)
    assert torch.allclose(gh.nll_loss(raw, noisy, param, noise_model), expected.mean())


def test_gray_nll_equals_normal_log_prob():
    raw, noisy = random_head(1)
    nll = gh.nll_loss(raw, noisy, 0.05, reduction="none")
    std = (raw[:, 1] ** 2 + 0.05).sqrt()
    expected = -torch.distributions.Normal(raw[:, 0], std).log_prob(noisy[:, 0])
    assert torch.allclose(nll, expected, rtol=1e-10, atol=1e-10)


def test_nll_backpropagates_in_float32():
    raw, noisy = random_head(3)
    raw = raw.float().requires_grad_(True)
    loss = gh.nll_loss(raw, noisy.float(), torch.full((2, 1, 1, 1), 0.01))
    loss.backward()
    assert loss.dtype == torch.float32 and torch.isfinite(raw.grad).all()


def test_gray_posterior_mean_is_the_scalar_closed_form():
    raw, noisy = random_head(1)
    var_n = 0.05
    var_x = raw[:, 1:] ** 2 + bayes.COV_EPS
    expected = (noisy * var_x + raw[:, :1] * var_n) / (var_x + var_n)
    assert torch.allclose(gh.posterior_mean(raw, noisy, var_n), expected, rtol=0, atol=1e-12)
    assert torch.equal(gh.prior_mean(raw), raw[:, :1])


def test_rgb_posterior_mean_equals_laines_information_form():
    raw, noisy = random_head(3)
    var_n = torch.tensor([0.04, 0.2], dtype=F64)
    eye = torch.eye(3, dtype=F64)
    inv_x = torch.linalg.inv(laine_covariance(raw[:, 3:].permute(0, 2, 3, 1)) + 1e-6 * eye)
    inv_n = torch.linalg.inv(var_n.view(-1, 1, 1, 1, 1) * eye + 1e-6 * eye)
    rhs = inv_x @ raw[:, :3].permute(0, 2, 3, 1)[..., None]
    rhs = rhs + inv_n @ noisy.permute(0, 2, 3, 1)[..., None]
    expected = (torch.linalg.inv(inv_x + inv_n) @ rhs)[..., 0].permute(0, 3, 1, 2)
    assert torch.allclose(gh.posterior_mean(raw, noisy, var_n), expected, atol=1e-5)


@pytest.mark.parametrize("channels", [1, 3])
def test_numpy_runtime_posterior_matches_torch(channels):
    raw, noisy = random_head(channels, b=1, h=6, w=7)
    raw_hwk = raw[0].permute(1, 2, 0).numpy().astype(np.float32)
    noisy_hwc = noisy[0].permute(1, 2, 0).numpy().astype(np.float32)
    as_nchw = lambda a: torch.from_numpy(a).permute(2, 0, 1)[None]  # noqa: E731
    torch_out = gh.posterior_mean(as_nchw(raw_hwk), as_nchw(noisy_hwc), 0.02)
    np_out = bayes.posterior_mean(raw_hwk, noisy_hwc, 0.02)
    assert np_out.shape == (6, 7, channels)
    np.testing.assert_allclose(np_out, torch_out[0].permute(1, 2, 0).numpy(), atol=1e-5, rtol=0)
    np.testing.assert_array_equal(bayes.prior_mean(raw_hwk), raw_hwk[..., :channels])


# ---------------------------------------------------------------- MAC counter


def test_mac_count_of_single_layers_by_hand():
    conv = nn.Conv2d(3, 5, 3, padding=1)
    c = count(conv, 3, 7, 6)
    assert (c.macs, c.dense_macs, c.params) == (7 * 6 * 5 * 3 * 9,) * 2 + (5 * 3 * 9 + 5,)
    assert c.macs_per_pixel == 5 * 3 * 9

    hole = count(CenterlessConv2d(4, 6, dilation=2), 4, 5, 5)
    assert (hole.macs, hole.dense_macs) == (25 * 6 * 4 * 8, 25 * 6 * 4 * 9)

    linear = count(nn.Sequential(nn.Flatten(), nn.Linear(48, 10)), 3, 4, 4)
    assert linear.macs == 480 and linear.params == 490


def test_laine_is_charged_for_all_four_rotations():
    net = tiny_laine()
    c = count(net, 3, 32, 32)
    first_conv = 3 * 8 * 9  # enc_conv0 per pixel, once per rotation
    head_in = 4 * 16
    assert c.macs > 4 * first_conv + head_in * 16
    assert net.training  # the counter restores the mode


def test_default_models_mac_table():
    torch.manual_seed(0)
    rows = [("laine_unet (3->9)", count(LaineBlindSpotUNet(3, 9), 3, 32, 32)),
            ("dilated_blindspot (3->9)", count(DilatedBlindSpotNet(3, 9), 3, 32, 32))]
    table = format_table(rows)
    print("\n" + table)
    assert all(c.macs_per_pixel > 0 and c.params > 0 for _, c in rows)
    assert "laine_unet" in table and "dilated_blindspot" in table
    assert math.isclose(rows[0][1].macs_per_pixel, rows[0][1].dense_macs_per_pixel)
