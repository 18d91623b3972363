"""`train dde` on the shared training engine: precision, --init-from lineage, budgets,
option checks and torchrun data parallelism (tiny generators, a few steps)."""

from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from edgerestore.cli import main
from edgerestore.errors import InputError
from edgerestore.models.train_dde import DdeTraining, dde_batch, train_generator
from edgerestore.models.train_engine import Distributed
from edgerestore.models.weights_io import load_card, load_weights

TINY_FLAGS = ["--latent-dim", "2", "--gen-width", "8", "--gen-depth", "1", "--dde-width", "4",
              "--device", "cpu", "--threads", "1"]


def digits_run(tmp: Path, **kw) -> DdeTraining:
    """A conv DDE on the 8x8 digits: the image path (channels_last, bf16 convolutions)."""
    base = DdeTraining(data="digits", out=str(tmp / "g.safetensors"), run_dir=str(tmp / "run"),
                       latent_dim=2, gen_width=8, gen_depth=1, dde_width=4, steps=4, batch=8,
                       checkpoint_every=2, device="cpu", threads=1, precision="fp32")
    return replace(base, **kw)


def assert_same_weights(a: str | Path, b: str | Path, atol: float) -> None:
    wa, _ = load_weights(a)
    wb, _ = load_weights(b)
    for (name, pa), pb in zip(wa.state_dict().items(), wb.state_dict().values(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=0, atol=atol, msg=name)


def test_each_rank_gets_its_slice_of_the_global_batch():
    data = np.arange(40, dtype=np.float32).reshape(20, 2)
    cfg = DdeTraining(data="rings", out="g.safetensors", run_dir="r", latent_dim=3, batch=8,
                      gen_every=2)
    whole = dde_batch(data, cfg, 4, range(8))
    halves = [dde_batch(data, cfg, 4, Distributed(r, 2).share(8)) for r in (0, 1)]
    for key in ("x", "noise_p", "z_q", "noise_q", "z_g", "eta_g"):
        torch.testing.assert_close(torch.cat([h[key] for h in halves]), whole[key], rtol=0,
                                   atol=0)
    assert "z_g" not in dde_batch(data, cfg, 5, range(8))  # no generator step at odd steps
    assert not torch.equal(dde_batch(data, cfg, 6, range(8))["x"], whole["x"])


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_conv_dde_trains_in_both_precisions(tmp_path, precision):
    card = train_generator(digits_run(tmp_path, precision=precision))
    training = card["training"]
    assert training["precision"] == precision and training["finished"]
    assert training["channels_last"] and training["world_size"] == 1
    assert training["samples_seen"] == training["images_seen"] == 32
    assert {"loss_dde_data", "loss_dde_gen", "loss_kl"} <= set(card["history"][-1])
    quality = card["quality"]
    assert quality["energy_distance_to_held_out"] == card["history"][-1][
        "energy_distance_to_held_out"] > 0
    model, config = load_weights(card["training"]["out"])
    assert config["shape"] == [1, 8, 8]
    assert all(torch.isfinite(p).all() and p.dtype == torch.float32
               for p in model.state_dict().values())


def test_init_from_continues_the_generator_and_keeps_the_lineage(tmp_path):
    first = digits_run(tmp_path / "a")
    train_generator(first)
    out = tmp_path / "b.safetensors"
    # The generator's shape comes from the file: no --latent-dim/--gen-* flags needed.
    assert main(["-q", "train", "dde", "--data", "digits", "--out", str(out), "--run-dir",
                 str(tmp_path / "brun"), "--init-from", first.out, "--steps", "3",
                 "--batch", "8", "--dde-width", "4", "--device", "cpu", "--threads", "1",
                 "--precision", "fp32"]) == 0
    card = load_card(out)
    assert [s["images_seen"] for s in card["lineage"]] == [32, 24]
    assert card["total"]["stages"] == 2 and card["total"]["images_seen"] == 56
    assert card["lineage"][1]["init_from"] == first.out
    assert card["training"]["latent_dim"] == 2 and card["training"]["gen_width"] == 8
    # One generator step at full learning rate (step 0's is 0): moved, but only a little.
    start, _ = load_weights(first.out)
    after, _ = load_weights(out)
    moved = max((pa - pb).abs().max().item() for pa, pb in
                zip(start.state_dict().values(), after.state_dict().values(), strict=True))
    assert 0 < moved < 0.05
    with pytest.raises(InputError, match="cannot initialise the generator"):
        train_generator(digits_run(tmp_path / "c", init_from=first.out, gen_width=16))


def test_sigterm_stops_with_a_checkpoint_and_resume_finishes_the_same_run(tmp_path,
                                                                          monkeypatch):
    from edgerestore.models import train_dde as module

    whole = train_generator(digits_run(tmp_path / "a", steps=6, checkpoint_every=4))
    real, calls = module._generator_step, {"n": 0}

    def terminate_during_step_2(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # the handler is the loop's, not the default (which would kill)
            assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN)
            signal.raise_signal(signal.SIGTERM)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "_generator_step", terminate_during_step_2)
    cut = digits_run(tmp_path / "b", steps=6, checkpoint_every=4)
    card = train_generator(cut)
    assert card["training"]["stopped_by"] == "SIGTERM" and not card["training"]["finished"]
    assert card["history"][-1]["step"] == 3  # step 2 completes, then the run stops
    monkeypatch.setattr(module, "_generator_step", real)
    assert train_generator(cut, resume=True)["training"]["finished"]
    assert_same_weights(whole["training"]["out"], cut.out, atol=0)


def test_a_budget_ends_the_run_with_the_ramp_down_done(tmp_path):
    cfg = digits_run(tmp_path, steps=None, budget_minutes=0.05, checkpoint_every=10)
    card = train_generator(cfg)
    assert card["training"]["finished"] and card["history"][-1]["step"] > 0
    assert card["wall_time_s"] >= 3
    # The last step started past 85% of the budget unless one step took over 0.45 s
    # (a few ms here): well into the ramp-down.
    assert card["history"][-1]["lr"] < 0.5 * cfg.lr


@pytest.mark.parametrize("bad", [
    ["--dev-images", "."], ["--sigma-end", "0.1", "--budget-minutes", "1"],
    ["--steps", "2", "--images", "8"], ["--batch", "1"], ["--crop", "2"],
    ["--precision", "fp8"], ["--budget-minutes", "0"],
])
def test_bad_options_are_one_line_errors(tmp_path, capsys, bad):
    out = tmp_path / "x.safetensors"
    try:
        code = main(["train", "dde", "--data", "rings", "--out", str(out), *TINY_FLAGS, *bad])
    except SystemExit as exc:  # argparse's usage error
        code = exc.code
    assert code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.slow
def test_torchrun_two_processes_match_one_process(tmp_path):
    """DDP over 2 gloo ranks with the same global batch gives one process's generator,
    also after both are resumed and run on (--steps may grow on --resume)."""
    def args(out: Path, steps: str = "4", *extra: str) -> list[str]:
        return ["-q", "train", "dde", "--data", "digits", "--out", str(out), "--run-dir",
                str(out.with_suffix("")), *TINY_FLAGS, "--steps", steps, "--batch", "8",
                "--checkpoint-every", "2", "--precision", "fp32", "--no-channels-last", *extra]

    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                "--nproc_per_node", "2", "-m", "edgerestore"]
    single, multi = tmp_path / "one.safetensors", tmp_path / "two.safetensors"
    assert main(args(single)) == 0
    done = subprocess.run([*torchrun, *args(multi)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert_same_weights(single, multi, atol=2e-5)
    training = load_card(multi)["training"]
    assert training["world_size"] == 2 and training["backend"] == "gloo"
    assert training["images_seen"] == 32
    assert main(args(single, "6", "--resume")) == 0
    done = subprocess.run([*torchrun, *args(multi, "6", "--resume")], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert load_card(multi)["history"][-1]["step"] == 6
    assert_same_weights(single, multi, atol=2e-5)


def test_lineage_of_a_card_written_before_the_engine(tmp_path):
    """The shipped DDE generator's card says samples_seen / data, not images_seen /
    data_name: continuing it must still count its first stage."""
    import json

    from edgerestore.models.run_state import lineage_totals, previous_lineage

    weights = tmp_path / "old_generator.safetensors"
    weights.write_bytes(b"")
    weights.with_suffix(".json").write_text(json.dumps({
        "command": "edgerestore train dde --data digits", "wall_time_s": 12.5,
        "training": {"samples_seen": 384000, "data": "digits"}}))
    stages = previous_lineage(str(weights))
    assert stages[0]["images_seen"] == 384000 and stages[0]["data"] == "digits"
    assert lineage_totals(stages)["images_seen"] == 384000
