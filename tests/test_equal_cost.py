"""The equal-cost comparison (Laine's U-Net vs the dilated nets): real trainings of
tiny versions of the three nets for a few seconds each, snapshot scoring, the cache
that makes a rerun free, and its section in RESULTS.md."""

from __future__ import annotations

import json

import pytest
from conftest import load_benchmark

from edgerestore.models import evaluate
from edgerestore.runtime.image_io import write_image
from edgerestore.runtime.samples import load_sample

TINY = {
    "blindspot_faithful": ("blindspot", ["--width", "8", "--depth", "2", "--branch-width", "4",
                                         "--mix-widths", "8"], 4, 64),
    "blindspot_efficient": ("blindspot", ["--width", "6", "--depth", "2", "--branch-width",
                                          "3", "--mix-widths", "6"], 4, 64),
    "laine_unet": ("blindspot", ["--arch", "laine_unet", "--base-width", "8"], 4, 64),
}


@pytest.mark.slow
def test_three_nets_train_for_the_same_budget_and_are_scored_on_their_snapshots(
        tmp_path, monkeypatch):
    root = tmp_path / "data"
    for sub in ("train/CBSD400", "eval/CBSD68"):
        (root / sub).mkdir(parents=True)
    for i, name in enumerate(("astronaut", "coffee", "chelsea")):
        write_image(root / "train" / "CBSD400" / f"{i}.png", load_sample(name)[80:144, 80:160])
    for i, name in enumerate(("astronaut", "coffee")):
        write_image(root / "eval" / "CBSD68" / f"{i}.png", load_sample(name)[200:264, 200:264])
    bench = load_benchmark("equal_cost")
    monkeypatch.setattr(bench, "TRAINERS", TINY)
    monkeypatch.setattr(bench, "PATCH", {"blindspot_faithful": 32, "blindspot_efficient": 32,
                                         "laine_unet": 64})
    # 2 patches of 32 or 1 of 64 per step; a snapshot every 2 64x64-equivalents.
    args = ["--data-root", str(root), "--budget-minutes", "0.04", "--pixels-per-step", "2048",
            "--checkpoint-every", "2", "--eval-every", "4",
            "--run-root", str(tmp_path / "runs"), "--json",
            str(tmp_path / "results" / "equal_cost.json")]
    bench.main(args)
    result = json.loads((tmp_path / "results" / "equal_cost.json").read_text())
    assert set(result["nets"]) == set(TINY)
    for name, r in result["nets"].items():
        seen = [c["images_seen"] for c in r["curve"]]
        assert seen == sorted(seen) and seen[-1] == r["images_seen"] > 0, name
        assert all(n % 4 == 0 for n in seen[:-1]), name
        assert r["patch"] == bench.PATCH[name]
        assert r["final_psnr"] == r["curve"][-1]["psnr"] and 5 < r["final_psnr"] < 60
        assert r["wall_time_s"] < 20 and "--keep-snapshots" in r["command"]
    assert (result["nets"]["laine_unet"]["macs_per_pixel"]
            > result["nets"]["blindspot_faithful"]["macs_per_pixel"])

    # A rerun trains nothing and scores nothing again.
    weights = tmp_path / "runs" / "laine_unet.safetensors"
    before = weights.stat().st_mtime_ns
    def no_scoring(*_args, **_kw):
        raise AssertionError("a cached snapshot was scored again")

    monkeypatch.setattr(evaluate, "score", no_scoring)
    bench.main(args)
    assert weights.stat().st_mtime_ns == before
    assert json.loads((tmp_path / "results" / "equal_cost.json").read_text()) == result

    report = load_benchmark("report")
    report.main(["--results", str(tmp_path / "results"), "--out", str(tmp_path)])
    page = (tmp_path / "RESULTS.md").read_text()
    assert "## Laine's U-Net vs the dilated nets at equal training cost" in page
    assert "| laine_unet |" in page and (tmp_path / "equal_cost.png").exists()
