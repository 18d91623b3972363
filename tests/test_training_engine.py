"""The shared training engine: precision, torchrun DDP, budgets, --init-from lineage,
signals, safe checkpoints and option checks (tiny models, a few steps)."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from conftest import TINY_BACKBONE as TINY
from conftest import tiny_blindspot_training

from edgerestore.cli import main
from edgerestore.errors import InputError
from edgerestore.models.run_state import load_checkpoint, locked_run_dir
from edgerestore.models.schedule import ramped_lr_at
from edgerestore.models.train_blindspot import BlindSpotTraining, train
from edgerestore.models.train_engine import RunLength, resolve_precision
from edgerestore.models.weights_io import load_card, load_weights

TINY_FLAGS = ["--width", "8", "--depth", "2", "--branch-width", "4", "--mix-widths", "8"]


def settings(tmp: Path, data: Path, **kw) -> BlindSpotTraining:
    return tiny_blindspot_training(tmp, data, **{"steps": 6, "batch": 4, "checkpoint_every": 3,
                                                 "precision": "fp32", **kw})


def cli(data: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "edgerestore", "-q", "train", "blindspot", "--data",
            str(data), "--out", str(out), "--run-dir", str(out.with_suffix("")), *TINY_FLAGS,
            "--patch", "24", "--device", "cpu", "--threads", "1", *extra]


def assert_same_weights(a: Path, b: Path, atol: float) -> None:
    wa, _ = load_weights(a)
    wb, _ = load_weights(b)
    for (name, pa), pb in zip(wa.state_dict().items(), wb.state_dict().values(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=0, atol=atol, msg=name)


def test_ramps_reach_zero_at_the_end_of_any_run_length():
    assert ramped_lr_at(0.0, 1.0) == 0.0
    assert ramped_lr_at(0.5, 1.0) == 1.0
    assert ramped_lr_at(1.0, 1.0) == pytest.approx(0.0, abs=1e-12)
    length = RunLength(steps=None, budget_s=60.0)
    assert length.fraction(10**6, 30.0) == 0.5
    assert RunLength(steps=100, budget_s=60.0).fraction(80, 30.0) == 0.8
    with pytest.raises(InputError):
        RunLength(None, None)


def test_precision_auto_and_fp32():
    assert resolve_precision("fp32", "cpu") == "fp32"
    assert resolve_precision("auto", "cpu") in ("fp32", "bf16")
    with pytest.raises(InputError):
        resolve_precision("fp8", "cpu")


def test_bf16_channels_last_training_learns(tmp_path, train_images):
    cfg = settings(tmp_path, train_images, precision="bf16", steps=30, checkpoint_every=15,
                   lr=3e-3, batch=2)
    card = train(cfg)
    assert card["training"]["precision"] == "bf16" and card["training"]["finished"]
    losses = [h["loss"] for h in card["history"]]
    assert losses[-1] < losses[0]
    model, _ = load_weights(cfg.out)
    assert all(torch.isfinite(p).all() and p.dtype == torch.float32
               for p in model.state_dict().values())


def test_budget_ends_the_run_with_the_ramp_down_done(tmp_path, train_images):
    cfg = settings(tmp_path, train_images, steps=None, budget_minutes=0.05, checkpoint_every=5)
    card = train(cfg)
    hist = card["history"]
    assert hist[-1]["step"] > 0 and card["training"]["finished"]
    assert hist[-1]["lr"] < 0.02 * cfg.lr
    assert card["wall_time_s"] < 30


def test_snapshots_keep_every_checkpoints_weights(tmp_path, train_images):
    cfg = settings(tmp_path, train_images, keep_snapshots=True)
    train(cfg)
    snaps = sorted((tmp_path / "run" / "snapshots").glob("*.safetensors"))
    assert [p.name for p in snaps] == ["w_000000012.safetensors", "w_000000024.safetensors"]
    # The last snapshot is the final weights; the first is the model half-way through.
    assert_same_weights(snaps[-1], Path(cfg.out), atol=0)
    assert load_card(snaps[0])["training"]["images_seen"] == 12
    first, _ = load_weights(snaps[0])
    final, _ = load_weights(snaps[-1])
    assert any(not torch.equal(a, b) for a, b in zip(first.state_dict().values(),
                                                      final.state_dict().values(), strict=True))
    plain = settings(tmp_path / "plain", train_images)
    train(plain)
    assert not (tmp_path / "plain" / "run" / "snapshots").exists()


def test_init_from_continues_and_keeps_the_lineage(tmp_path, train_images):
    first = settings(tmp_path / "a", train_images)
    train(first)
    second = settings(tmp_path / "b", train_images, init_from=first.out, steps=3)
    card = train(second)
    assert [s["images_seen"] for s in card["lineage"]] == [24, 12]
    assert card["total"] == {"stages": 2, "images_seen": 36,
                             "wall_time_s": pytest.approx(sum(
                                 s["wall_time_s"] for s in card["lineage"]), abs=0.2)}
    assert card["lineage"][1]["init_from"] == first.out
    # An architecture is taken from the file: the CLI needs no width flags.
    out = tmp_path / "c.safetensors"
    done = subprocess.run(
        [sys.executable, "-m", "edgerestore", "-q", "train", "blindspot", "--data",
         str(train_images), "--out", str(out), "--init-from", first.out, "--steps", "2",
         "--patch", "24", "--device", "cpu", "--threads", "1", "--run-dir",
         str(tmp_path / "crun")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert load_card(out)["total"]["stages"] == 2
    wrong = settings(tmp_path / "d", train_images, init_from=first.out,
                     backbone=dict(TINY, width=16))
    with pytest.raises(InputError, match="does not match"):
        train(wrong)


@pytest.mark.slow
def test_sigterm_writes_a_checkpoint_and_unfinished_weights(tmp_path, train_images):
    out = tmp_path / "s.safetensors"
    cmd = cli(train_images, out, "--steps", "100000", "--batch", "1", "--checkpoint-every",
              "5", "--precision", "fp32")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ckpt = out.with_suffix("") / "checkpoint.pt"
    deadline = time.time() + 120
    while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    state = torch.load(out.with_suffix("") / "checkpoint.pt", weights_only=True)
    assert 0 < state["step"] < 100000
    card = load_card(out)
    assert card["training"]["finished"] is False and card["training"]["stopped_by"] == "SIGTERM"


class _Planted:
    def __reduce__(self):
        return (os.system, ("touch PLANTED_RAN",))


def test_a_planted_pickle_checkpoint_does_not_run(tmp_path, train_images, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = settings(tmp_path, train_images)
    ckpt = Path(cfg.run_dir) / "checkpoint.pt"
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(pickle.dumps({"settings": {}, "x": _Planted()}))
    with pytest.raises(InputError, match="not a readable training checkpoint"):
        train(cfg, resume=True)
    assert not (tmp_path / "PLANTED_RAN").exists()
    ckpt.write_bytes(os.urandom(300))
    with pytest.raises(InputError, match="not a readable"):
        load_checkpoint(ckpt, {}, "cpu")


def test_two_trainings_cannot_share_a_run_folder(tmp_path, train_images):
    cfg = settings(tmp_path, train_images)
    with locked_run_dir(Path(cfg.run_dir)), pytest.raises(InputError, match="another training"):
        train(cfg)
    train(cfg)  # released


@pytest.mark.parametrize("bad", [
    ["--checkpoint-every", "0"], ["--batch", "0"], ["--patch", "0"], ["--patch", "4096"],
    ["--lr", "nan"], ["--lr", "-1"], ["--threads", "-1"], ["--steps", "0"], ["--steps", "-5"],
    ["--budget-minutes", "0"], ["--seed", "-1"], ["--steps", "2", "--images", "8"],
])
def test_bad_options_are_one_line_errors_before_any_work(tmp_path, train_images, capsys, bad):
    out = tmp_path / "x.safetensors"
    try:
        code = main(["train", "blindspot", "--data", str(train_images), "--out", str(out),
                     *TINY_FLAGS, *bad])
    except SystemExit as exc:  # argparse's usage error
        code = exc.code
    assert code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not out.exists() and not out.with_suffix(".json").exists()


def test_outputs_are_checked_before_training(tmp_path, train_images):
    image = train_images / "coffee.png"
    before = image.read_bytes()
    with pytest.raises(InputError, match=r"\.safetensors"):
        train(settings(tmp_path, train_images, out=str(image)))
    assert image.read_bytes() == before
    cfg = settings(tmp_path, train_images, steps=2)
    train(cfg)
    with pytest.raises(InputError, match="--overwrite"):
        train(replace(cfg, run_dir=str(tmp_path / "other")))
    train(replace(cfg, run_dir=str(tmp_path / "other"), overwrite=True))
    if os.geteuid() != 0:
        locked = tmp_path / "ro"
        locked.mkdir()
        locked.chmod(0o500)
        with pytest.raises(InputError, match="not writable"):
            train(settings(tmp_path, train_images, out=str(locked / "w.safetensors")))


@pytest.mark.slow
def test_torchrun_two_processes_match_one_process(tmp_path, train_images):
    """DDP over 2 gloo ranks with the same global batch gives one process's weights."""
    common = ["--steps", "6", "--batch", "4", "--checkpoint-every", "3", "--precision",
              "fp32", "--no-channels-last", "--lr", "1e-3"]
    single = tmp_path / "one.safetensors"
    done = subprocess.run(cli(train_images, single, *common), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    multi = tmp_path / "two.safetensors"
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                "--nproc_per_node", "2", "-m", "edgerestore"]
    args = cli(train_images, multi, *common)[3:]
    done = subprocess.run([*torchrun, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert_same_weights(single, multi, atol=2e-5)
    card = json.loads(multi.with_suffix(".json").read_text())
    assert card["training"]["world_size"] == 2 and card["training"]["backend"] == "gloo"
    assert card["training"]["images_seen"] == 24
    # Resume under DDP: cut at step 3 by running 3 steps, then continue to 6.
    cut = tmp_path / "cut.safetensors"
    part = cli(train_images, cut, *common)[3:]
    part[part.index("--steps") + 1] = "3"
    done = subprocess.run([*torchrun, *part], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    done = subprocess.run([*torchrun, *cli(train_images, cut, *common)[3:], "--resume"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert load_card(cut)["history"][-1]["step"] == 6


def test_a_config_asking_for_a_huge_network_is_refused_before_allocating(tmp_path):
    """A weights file whose config says width 200,000 would make torch ask for 1.4 TB."""
    from safetensors.torch import save_file

    from edgerestore.errors import ModelFileError
    from edgerestore.models.weights_io import CONFIG_KEY

    bad = tmp_path / "huge.safetensors"
    save_file({"x": torch.zeros(1)}, str(bad), metadata={CONFIG_KEY: json.dumps(
        {"arch": "dncnn", "channels": 3, "depth": 17, "width": 200000})})
    with pytest.raises(ModelFileError, match="200000"):
        load_weights(bad)


def test_ap_bsn_trains_on_camera_noise_and_reloads(tmp_path, train_images):
    """--pd-stride trains the pixel-shuffle wrapper on camera-pipeline noise (tiny run)."""
    cfg = settings(tmp_path, train_images, noise="camera:iso=1600", pd_stride=2, steps=2,
                   checkpoint_every=2, patch=32, batch=2)
    card = train(cfg)
    assert card["method"].startswith("AP-BSN")
    model, config = load_weights(cfg.out)
    assert config["arch"] == "pd_blindspot" and config["train_stride"] == 2
    x = torch.rand(1, 3, 30, 34)
    out = model(x)
    assert out.shape == x.shape and torch.isfinite(out).all()
