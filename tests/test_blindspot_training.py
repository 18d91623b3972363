"""Blind-spot training, resume (also after kill -9), weights round trip and evaluation,
all on tiny models and small generated data."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY_BACKBONE as TINY
from conftest import run_crashing_at, tiny_blindspot_training
from torch import nn

from edgerestore.cli import main
from edgerestore.errors import InputError, ModelFileError
from edgerestore.models import train_blindspot
from edgerestore.models.state_match import LayerMismatch, load_matching
from edgerestore.models.train_blindspot import BlindSpotTraining, train
from edgerestore.models.weights_io import load_card, load_weights, save_weights


def settings(tmp: Path, data: Path, **kw) -> BlindSpotTraining:
    return tiny_blindspot_training(tmp, data, **kw)


def test_training_lowers_the_loss_and_writes_weights_and_card(tmp_path, train_images):
    cfg = settings(tmp_path, train_images, steps=40, checkpoint_every=20, lr=3e-3,
                   dev_images=str(train_images), dev_count=1)
    card = train(cfg)
    hist = card["history"]
    assert hist[-1]["loss"] < hist[0]["loss"] or hist[-1]["loss"] < 0
    assert "dev_psnr" in card and card["training"]["images_seen"] == 80
    assert card["training"]["clean_targets_used"] is False
    model, config = load_weights(cfg.out)
    assert config["backbone"]["width"] == 8
    assert load_card(cfg.out)["weights_sha256"]
    x = torch.rand(1, 3, 20, 20)
    assert model.denoise(x, torch.tensor([0.1])).shape == x.shape


def test_resume_continues_exactly_where_a_crash_left_off(tmp_path, train_images, monkeypatch):
    full = train(settings(tmp_path / "a", train_images))
    crashed = settings(tmp_path / "b", train_images)
    run_crashing_at(monkeypatch, train_blindspot, 9, lambda: train(crashed))
    state = torch.load(Path(crashed.run_dir) / "checkpoint.pt", weights_only=True)
    assert state["step"] == 8
    resumed = train(crashed, resume=True)
    a, _ = load_weights(tmp_path / "a" / "w.safetensors")
    b, _ = load_weights(tmp_path / "b" / "w.safetensors")
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=0, atol=1e-6, msg=name)
    assert [h["step"] for h in resumed["history"]] == [h["step"] for h in full["history"]]


def test_resume_refuses_other_settings(tmp_path, train_images):
    cfg = settings(tmp_path, train_images, steps=4)
    train(cfg)
    with pytest.raises(InputError, match="different settings"):
        train(replace(cfg, lr=1e-2), resume=True)
    with pytest.raises(InputError, match="no checkpoint"):
        train(replace(cfg, run_dir=str(tmp_path / "none")), resume=True)


def test_kill_9_then_resume_from_the_cli(tmp_path, train_images):
    out, run = tmp_path / "k.safetensors", tmp_path / "krun"
    cmd = [sys.executable, "-m", "edgerestore", "-q", "train", "blindspot", "--data",
           str(train_images), "--out", str(out), "--run-dir", str(run), "--width", "8", "--depth",
           "2", "--branch-width", "4", "--mix-widths", "8", "--steps", "400", "--batch", "1",
           "--patch", "24", "--checkpoint-every", "10", "--device", "cpu", "--threads", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while not (run / "checkpoint.pt").exists() and time.time() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    card_file = out.with_suffix(".json")  # weights + card are also written per checkpoint
    assert not card_file.exists() or not json.loads(card_file.read_text())["training"][
        "finished"], "the run finished before it could be killed"
    step = torch.load(run / "checkpoint.pt", weights_only=True)["step"]
    assert step >= 10
    done = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["history"][-1]["step"] == 400


def test_eval_cli_writes_the_documented_json(tmp_path, train_images):
    cfg = settings(tmp_path, train_images, steps=4)
    train(cfg)
    js = tmp_path / "eval.json"
    assert main(["-q", "eval", "denoise", "--model", cfg.out, "--images", str(train_images),
                 "--noise", "gauss:25", "--seed", "0", "--mode", "all", "--json", str(js),
                 "--device", "cpu", "--card"]) == 0
    result = json.loads(js.read_text())
    recorded = load_card(cfg.out)["evaluation"][train_images.name]["gauss:25"]
    assert recorded["prior"]["psnr"] == pytest.approx(result["modes"]["prior"]["psnr"], abs=1e-4)
    assert result["noise"] == "gauss:25" and result["count"] == 3
    for mode in ("posterior", "estimated", "prior"):
        entry = result["modes"][mode]
        assert {"psnr", "ssim", "per_image"} <= set(entry) and len(entry["per_image"]) == 3
        assert np.isfinite(entry["psnr"])


def test_mismatched_weights_file_is_a_clear_error(tmp_path, train_images):
    cfg = settings(tmp_path, train_images, steps=4)
    train(cfg)
    model, config = load_weights(cfg.out)
    bad = dict(config, backbone=dict(config["backbone"], width=16))
    save_weights(model, bad, tmp_path / "bad.safetensors")
    with pytest.raises(ModelFileError, match="do not match"):
        load_weights(tmp_path / "bad.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(ModelFileError):
        load_weights(tmp_path / "junk.safetensors")
    assert main(["-q", "eval", "denoise", "--model", str(tmp_path / "junk.safetensors"),
                 "--images", str(train_images)]) == 2


@pytest.mark.parametrize("kw", [
    {"sigma_mode": "global"},
    {"sigma_mode": "estimated"},
    {"sigma_mode": "measured", "already_noisy": True, "noise": "camera:iso=400-6400"},
    {"noise": "poisson30"},
    {"noise": "gauss5_50"},
    {"already_noisy": True, "noise": "gauss:10"},
    {"arch": "laine_unet", "backbone": {"base_width": 8}, "patch": 32},
    {"channels": 1},
])
def test_every_training_variant_runs_and_reloads(tmp_path, train_images, kw):
    cfg = settings(tmp_path, train_images, steps=2, checkpoint_every=2, **kw)
    train(cfg)
    model, config = load_weights(cfg.out)
    assert config["sigma_mode"] == cfg.sigma_mode
    x = torch.rand(1, cfg.channels, 32, 32)
    out = model.denoise(x) if cfg.sigma_mode != "known" else model.denoise(x, torch.tensor([0.1]))
    assert out.shape == x.shape and torch.isfinite(out).all()


def test_a_unet_on_small_patches_is_warned_about(tmp_path, train_images, caplog):
    cfg = settings(tmp_path, train_images, steps=1, checkpoint_every=1, arch="laine_unet",
                   backbone={"base_width": 8}, patch=32)
    with caplog.at_level("WARNING", logger="edgerestore"):
        train(cfg)
    assert "--patch 256" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="edgerestore"):
        train(settings(tmp_path / "dilated", train_images, steps=1, checkpoint_every=1, patch=32))
    assert "--patch 256" not in caplog.text


def test_plain_net_trains_on_camera_photos_only_with_an_estimated_level(tmp_path, train_images):
    cfg = settings(tmp_path, train_images, steps=2, checkpoint_every=2, already_noisy=True,
                   noise="camera:iso=400-6400", sigma_mode="estimated")
    train(cfg)
    model, config = load_weights(cfg.out)
    assert config["noise_model"] == "gauss" and config["sigma_mode"] == "estimated"
    assert torch.isfinite(model.estimated_level(torch.rand(1, 3, 32, 32))).all()
    with pytest.raises(InputError, match="camera noise"):
        train(settings(tmp_path / "known", train_images, steps=2, already_noisy=True,
                       noise="camera:iso=400-6400"))


def test_apbsn_starts_from_a_gaussian_head_model(tmp_path, train_images):
    """--init-from a Laine-head model: the backbone and the head's prior-mean outputs."""
    source_cfg = settings(tmp_path / "src", train_images, steps=2, checkpoint_every=2)
    train(source_cfg)
    source, _ = load_weights(source_cfg.out)
    cfg = settings(tmp_path / "pd", train_images, steps=1, checkpoint_every=1, patch=30,
                   already_noisy=True, noise="camera:iso=800", pd_stride=5)
    pd = train_blindspot.build(cfg)
    taken = pd.init_from_gaussian(source)
    assert len(taken) == len(pd.state_dict())
    x = torch.rand(1, 3, 20, 20)
    with torch.no_grad():
        # Same weights, but a 3- vs a 9-output last layer: oneDNN may pick other kernels
        # (and so another summation order) for each shape, on some CPUs only.
        torch.testing.assert_close(pd.backbone(x), source.backbone(x)[:, :3],
                                   rtol=1e-5, atol=1e-6)
    card = train(replace(cfg, init_from=source_cfg.out))
    assert len(card["lineage"]) == 2
    wider = settings(tmp_path / "wide", train_images, steps=1, pd_stride=5, already_noisy=True,
                     noise="camera:iso=800", backbone={**TINY, "width": 16},
                     init_from=source_cfg.out)
    with pytest.raises(InputError, match="init-from"):
        train(wider)


def two_part_net(outs: tuple[int, ...], extra: str) -> nn.Module:
    """A backbone of 1x1 convs (3 -> outs...) beside one non-backbone tensor ``extra``."""
    net = nn.Module()
    widths = (3, *outs)
    net.backbone = nn.Sequential(*(nn.Conv2d(a, b, 1) for a, b in itertools.pairwise(widths)))
    net.register_parameter(extra, nn.Parameter(torch.randn(2)))
    return net


def test_load_matching_requires_the_backbone_and_reports_what_starts_fresh():
    """The one partial loader behind both --init-from paths (start_from and AP-BSN's)."""
    torch.manual_seed(0)
    source = two_part_net((4, 6), extra="estimator")
    model = two_part_net((4, 6), extra="log_level")
    matched = load_matching(model, source.state_dict())
    assert matched.fresh == ["log_level"]
    assert matched.taken == sorted(k for k in model.state_dict() if k.startswith("backbone."))
    for name, tensor in model.backbone.state_dict().items():
        assert torch.equal(tensor, source.backbone.state_dict()[name])

    narrow = two_part_net((4, 3), extra="log_level")
    before = {k: v.clone() for k, v in narrow.state_dict().items()}
    with pytest.raises(LayerMismatch) as err:
        load_matching(narrow, source.state_dict())
    assert (err.value.name, err.value.have, err.value.need) == (
        "backbone.1.weight", [6, 4, 1, 1], [3, 4, 1, 1])
    assert all(torch.equal(v, before[k]) for k, v in narrow.state_dict().items())
    assert load_matching(narrow, source.state_dict(), first_rows=True).fresh == ["log_level"]
    assert torch.equal(narrow.backbone[1].weight, source.backbone[1].weight[:3])
    assert torch.equal(narrow.backbone[1].bias, source.backbone[1].bias[:3])

    deeper = two_part_net((4, 6, 6), extra="log_level")
    for into, take, one_sided in ((deeper, source, ([6], None)), (source, deeper, (None, [6]))):
        with pytest.raises(LayerMismatch, match=r"backbone\.2\.bias") as err:
            load_matching(into, take.state_dict(), first_rows=True)
        assert (err.value.need, err.value.have) == one_sided
