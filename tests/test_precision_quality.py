"""The bf16-vs-fp32 quality benchmark: its verdict and its section in RESULTS.md.

The benchmark itself trains twice on the real data (minutes); here its training step is
replaced by canned cards, so what is tested is the arithmetic and the report."""

from __future__ import annotations

import json

import pytest
from conftest import load_benchmark


@pytest.mark.parametrize(("bf16", "within"), [(30.12, True), (30.06, True), (30.04, False)])
def test_verdict_and_report(tmp_path, monkeypatch, bf16, within):
    bench = load_benchmark("precision_quality")
    dev = {"fp32": 30.10, "bf16": bf16}

    def fake_train(args, precision, work):
        return {"dev_psnr": dev[precision], "training": {"images_seen": 2400},
                "wall_time_s": 100.0 if precision == "fp32" else 50.0,
                "_command": f"edgerestore train blindspot --precision {precision}"}

    monkeypatch.setattr(bench, "train", fake_train)
    out = tmp_path / "results" / "precision_quality.json"
    result = bench.main(["--out", str(out), "--work", str(tmp_path / "work")])
    assert result["bf16_minus_fp32_db"] == pytest.approx(bf16 - 30.10)
    assert result["within_tolerance"] is within
    assert json.loads(out.read_text())["runs"]["bf16"]["dev_psnr"] == bf16
    report = load_benchmark("report")
    report.main(["--results", str(out.parent), "--out", str(tmp_path)])
    page = (tmp_path / "RESULTS.md").read_text()
    assert "## Does bf16 cost quality?" in page
    assert ("within the 0.05 dB bar" in page) is within
    assert f"| bf16 | {bf16:.3f} |" in page
