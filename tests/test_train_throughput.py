"""The training-throughput benchmark's arithmetic and its --merge of a later run's rows
(the real trainers are replaced by canned rates: what is tested is the bookkeeping)."""

from __future__ import annotations

import json
import sys

import pytest
from conftest import load_benchmark


def run(bench, monkeypatch, rates: dict[str, list[float]], *argv: str) -> None:
    monkeypatch.setattr(bench, "run_trainer",
                        lambda trainer, mode, *_a: rates[f"{trainer}/{mode}"])
    monkeypatch.setattr(bench, "conv_peak", lambda precision, threads: 100.0)
    monkeypatch.setattr(sys, "argv", ["benchmarks/train_throughput.py", *argv])
    bench.main()


def test_median_speedup_and_merge(tmp_path, monkeypatch):
    bench = load_benchmark("train_throughput")
    out = tmp_path / "tp.json"
    modes = ["--modes", "fp32_nchw", "bf16_cl", "--threads", "2", "--json", str(out)]
    run(bench, monkeypatch, {"blindspot_faithful/fp32_nchw": [10.0, 11.0, 12.0],
                             "blindspot_faithful/bf16_cl": [20.0, 22.0, 99.0]},
        "--trainers", "blindspot_faithful", *modes)
    first = json.loads(out.read_text())
    bf16 = next(r for r in first["rows"] if r["mode"] == "bf16_cl")
    assert bf16["patches_per_s"] == 22.0 and bf16["speedup_vs_fp32_nchw"] == 2.0
    assert isinstance(first["command"], str)

    run(bench, monkeypatch, {"dde_crops/fp32_nchw": [5.0], "dde_crops/bf16_cl": [6.0]},
        "--trainers", "dde_crops", *modes, "--merge")
    merged = json.loads(out.read_text())
    assert [(r["trainer"], r["mode"]) for r in merged["rows"]] == [
        ("blindspot_faithful", "fp32_nchw"), ("blindspot_faithful", "bf16_cl"),
        ("dde_crops", "fp32_nchw"), ("dde_crops", "bf16_cl")]
    assert len(merged["command"]) == 2 and "--merge" in merged["command"][1]
    dde = merged["rows"][3]
    assert dde["speedup_vs_fp32_nchw"] == pytest.approx(1.2)
