"""The second reliability round (issue 29), items 3 and 8: training checkpoints (a
foreign one refused in our own words, a resumed run's loss history); one test per defect,
each named by its item.

Every test here failed on the code before the fix. The other items:
``test_reliability_priors.py`` (1, 4), ``test_reliability_files.py`` (2, 5, 6, 7, 9).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from edgerestore.errors import InputError
from edgerestore.runtime.image_io import write_image

# --- item 3: the checkpoint refusal in our own words -----------------------------------

class _Planted:
    """A pickle that would create a file when loaded unsafely."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("content", ["planted", "random"])
def test_item3_a_foreign_checkpoint_is_refused_in_our_words(tmp_path, recwarn, content):
    torch = pytest.importorskip("torch")
    from edgerestore.models.run_state import load_checkpoint

    ckpt = tmp_path / "checkpoint.pt"
    if content == "planted":
        torch.save({"settings": {}, "x": _Planted(tmp_path / "RAN")}, ckpt)
    else:
        ckpt.write_bytes(np.random.default_rng(0).bytes(300))
    with pytest.raises(InputError) as caught:
        load_checkpoint(ckpt, {}, "cpu")
    message = str(caught.value)
    assert "not one this version wrote" in message and "refused" in message
    for torch_advice in ("trust", "weights_only", "can still be loaded", "\x1b"):
        assert torch_advice not in message
    assert "\n" not in message and not (tmp_path / "RAN").exists()
    assert not [w for w in recwarn if "pickle protocol" in str(w.message)]

# --- item 8: a resumed run records the loss history of an uninterrupted one ----------------

def test_item8_a_resumed_run_keeps_the_running_loss(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    import signal
    from dataclasses import replace

    from edgerestore.models import train_engine
    from edgerestore.models.train_blindspot import BlindSpotTraining, train

    data = tmp_path / "data"
    data.mkdir()
    for i in range(3):
        write_image(data / f"{i}.png", np.random.default_rng(i).random((40, 48, 3)))
    tiny = {"width": 8, "depth": 2, "branch_width": 4, "mix_widths": [8]}

    def settings(name: str) -> BlindSpotTraining:
        return BlindSpotTraining(data=str(data), out=str(tmp_path / f"{name}.safetensors"),
                                 run_dir=str(tmp_path / name), backbone=dict(tiny), steps=8,
                                 batch=2, patch=16, checkpoint_every=2, device="cpu",
                                 threads=1, precision="fp32")

    whole = train(settings("whole"))["history"]
    ramp, calls = train_engine.ramped_lr_at, []

    def interrupt_at_step_3(frac: float, base_lr: float) -> float:
        calls.append(frac)
        if len(calls) == 3:  # as if Ctrl-C arrived during the third step
            os.kill(os.getpid(), signal.SIGINT)
        return ramp(frac, base_lr)

    monkeypatch.setattr(train_engine, "ramped_lr_at", interrupt_at_step_3)
    cut = train(settings("cut"))
    assert cut["training"]["stopped_by"] == "SIGINT"
    monkeypatch.setattr(train_engine, "ramped_lr_at", ramp)
    resumed = {h["step"]: h for h in train(replace(settings("cut")), resume=True)["history"]}
    assert [h["step"] for h in whole] == [2, 4, 6, 8] and 3 in resumed
    for entry in whole:
        again = resumed[entry["step"]]
        for key in (k for k in entry if k == "loss" or k.startswith("loss_")):
            assert again[key] == pytest.approx(entry[key], rel=1e-6), (entry["step"], key)
