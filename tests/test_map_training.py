"""MAP denoiser training (R and D together), resume, and the paper's guarantee check on a
tiny trained pair."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from conftest import run_crashing_at, write_sample_crops

from edgerestore.cli import main
from edgerestore.models.dncnn import DnCNN
from edgerestore.models.map_check import check_map
from edgerestore.models.train_map import MapTraining, map_loss, train_map
from edgerestore.models.weights_io import load_card, load_weights
from edgerestore.runtime.samples import load_sample


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return write_sample_crops(tmp_path_factory.mktemp("clean"), 96, 96)


def tiny(tmp: Path, data: Path, **kw) -> MapTraining:
    base = MapTraining(data=str(data), out=str(tmp / "map.safetensors"),
                       dae_out=str(tmp / "dae.safetensors"), run_dir=str(tmp / "run"),
                       depth=5, width=16, dae_depth=5, dae_width=16, steps=300, batch=4,
                       patch=32, checkpoint_every=150, threads=1, lr=2e-3, sigma_r=25,
                       device="cpu")
    return replace(base, **kw)


def test_dae_weights_get_no_gradient_from_the_map_loss():
    dae, den = DnCNN(3, 3, 8), DnCNN(3, 3, 8)
    dae.requires_grad_(False)
    v = torch.rand(2, 3, 16, 16)
    map_loss(den(v), v, dae, 0.05, 2 / 0.05**2).backward()
    assert all(p.grad is None for p in dae.parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in den.parameters())


def test_map_loss_gradient_is_the_dae_prior_gradient_plus_the_data_term():
    """R's output is a constant (stop-gradient): dL/dD = 2 (D - R(D + n)) / (N sigma^2)
    + rho (D - v) / N. Letting the gradient through R's input would add R's Jacobian."""
    torch.manual_seed(0)
    dae = DnCNN(3, 3, 8)
    dae.requires_grad_(False)
    v = torch.rand(1, 3, 8, 8)
    d_out = (v + 0.1 * torch.randn_like(v)).requires_grad_(True)
    sigma, rho = 0.05, 2 / 0.05**2
    map_loss(d_out, v, dae, sigma, rho,
             torch.randn(d_out.shape, generator=torch.Generator().manual_seed(3))).backward()
    n = torch.randn(d_out.shape, generator=torch.Generator().manual_seed(3)) * sigma
    expected = (2 * (d_out - dae(d_out + n)) / sigma**2 + rho * (d_out - v)) / v.numel()
    torch.testing.assert_close(d_out.grad, expected.detach(), rtol=1e-4, atol=1e-6)


def test_efficient_d_trains_against_a_frozen_prior(tmp_path, data_dir):
    pair = tiny(tmp_path / "pair", data_dir, steps=4, checkpoint_every=4)
    train_map(pair)
    before = Path(pair.dae_out).read_bytes()
    small = tiny(tmp_path / "small", data_dir, steps=4, checkpoint_every=4, depth=3, width=8,
                 init_dae=pair.dae_out, freeze_dae=True, dae_out=pair.dae_out)
    train_map(small)
    assert Path(pair.dae_out).read_bytes() == before
    assert load_card(small.out)["dae"] == "dae.safetensors"
    assert load_weights(small.out)[1]["depth"] == 3
    with pytest.raises(Exception, match="init-dae"):
        train_map(replace(small, init_dae=None))
    with pytest.raises(Exception, match="cannot initialise"):
        train_map(replace(small, init_map=pair.dae_out, freeze_dae=True))


def test_trained_pair_satisfies_the_map_guarantee(tmp_path, data_dir):
    cfg = tiny(tmp_path, data_dir)
    train_map(cfg)
    den, dcfg = load_weights(cfg.out)
    dae, rcfg = load_weights(cfg.dae_out)
    assert dcfg["role"] == "map" and rcfg["role"] == "dae"
    assert load_card(cfg.out)["training"]["rho"] == pytest.approx(2 / (25 / 255) ** 2)
    clean = [load_sample(n)[100:196, 100:196] for n in ("astronaut", "coffee")]
    report = check_map(den, dae, clean, cfg.sigma_v_unit, cfg.sigma_r_unit, cfg.rho_value)
    assert report["objective_lowest_at_D"]
    assert report["grad_ratio_D_over_v"] < 0.5
    assert main(["-q", "check-map", "--map", cfg.out, "--dae", cfg.dae_out, "--images",
                 str(data_dir), "--limit", "2", "--card"]) == 0
    assert load_card(cfg.out)["map_check"]["objective_lowest_at_D"] is True
    assert main(["-q", "check-map", "--map", cfg.dae_out, "--dae", cfg.out, "--images",
                 str(data_dir)]) == 2


def test_map_resume_matches_an_uninterrupted_run(tmp_path, data_dir, monkeypatch):
    from edgerestore.models import train_map as module

    full = tiny(tmp_path / "a", data_dir, steps=6, checkpoint_every=3)
    train_map(full)
    crashed = tiny(tmp_path / "b", data_dir, steps=6, checkpoint_every=3)
    run_crashing_at(monkeypatch, module, 4, lambda: train_map(crashed))
    train_map(crashed, resume=True)
    for name in ("map.safetensors", "dae.safetensors"):
        a, _ = load_weights(tmp_path / "a" / name)
        b, _ = load_weights(tmp_path / "b" / name)
        for pa, pb in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
            torch.testing.assert_close(pa, pb, rtol=0, atol=1e-6)


def test_train_map_cli(tmp_path, data_dir):
    out = tmp_path / "m.safetensors"
    assert main(["-q", "train", "map", "--data", str(data_dir), "--out", str(out),
                 "--dae-out", str(tmp_path / "r.safetensors"), "--depth", "3", "--width", "8",
                 "--dae-depth", "3", "--dae-width", "8", "--steps", "4", "--batch", "2",
                 "--patch", "24", "--checkpoint-every", "2", "--device", "cpu"]) == 0
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["training"]["images_seen"] == 8 and card["task"] == "map_denoiser"
    assert card["training"]["sigma_r"] == 11.0


def test_init_from_a_map_file_continues_both_networks(tmp_path, data_dir):
    """--init-from takes D from the file and R from the DAE its card names; the lineage
    of the new cards has both stages."""
    first = tiny(tmp_path / "a", data_dir, steps=4, checkpoint_every=4)
    train_map(first)
    more = tiny(tmp_path / "b", data_dir, steps=2, checkpoint_every=2, init_from=first.out)
    card = train_map(more)
    assert [s["images_seen"] for s in card["lineage"]] == [16, 8]
    assert load_card(more.dae_out)["total"]["images_seen"] == 24
    a, _ = load_weights(first.out)
    b, _ = load_weights(more.out)
    assert any(not torch.equal(p, q) for p, q in zip(a.state_dict().values(),
                                                     b.state_dict().values(), strict=True))
    (tmp_path / "a" / "map.json").write_text("{}")
    with pytest.raises(Exception, match="names no DAE"):
        train_map(tiny(tmp_path / "c", data_dir, steps=2, init_from=first.out))


def test_init_map_keeps_the_lineage_of_the_denoiser_it_continues(tmp_path, data_dir):
    """Fine-tuning a trained D against a frozen R (``--init-map D --init-dae R
    --freeze-dae``) extends D's lineage instead of starting a new one."""
    first = tiny(tmp_path / "a", data_dir, steps=4, checkpoint_every=4)
    train_map(first)
    more = tiny(tmp_path / "b", data_dir, steps=2, checkpoint_every=2, init_map=first.out,
                init_dae=first.dae_out, freeze_dae=True)
    card = train_map(more)
    assert [s["images_seen"] for s in card["lineage"]] == [16, 8]
    assert card["lineage"][1]["init_from"] == first.out
    assert card["total"]["images_seen"] == 24


def _denoising_loss_after(net: DnCNN, steps: int) -> float:
    torch.manual_seed(0)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.nn.functional.avg_pool2d(torch.rand(8, 3, 96, 96), 4)  # smooth patches
    for _ in range(steps):
        n = 0.1 * torch.randn_like(x)
        loss = torch.nn.functional.mse_loss(net(x + n), x)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss.item()


def test_a_deep_dncnn_trains_from_scratch_only_with_its_training_init():
    """17 plain conv layers: at PyTorch's default init the body's signal vanishes and the
    net stays the identity (loss = noise variance 0.01); ``init_for_training`` starts at
    the identity too, but learns."""
    torch.manual_seed(1)
    fresh = DnCNN(3, 17, 16)
    fresh.init_for_training()
    x = torch.rand(1, 3, 8, 8)
    assert torch.equal(fresh(x), x)
    torch.manual_seed(1)
    default = DnCNN(3, 17, 16)
    assert _denoising_loss_after(default, 150) > 0.0095
    assert _denoising_loss_after(fresh, 150) < 0.0085
