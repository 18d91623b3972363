"""The benchmark harness on small inputs: it runs, its JSON has the fields, its tables
render. Nothing here asserts a time: benchmarks measure, tests check the machinery."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgerestore.cli import main
from edgerestore.runtime.bench import FIELDS
from edgerestore.runtime.image_io import write_image
from edgerestore.runtime.kernels import motion_kernel
from edgerestore.runtime.samples import load_sample

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
ROW_FIELDS = {*FIELDS, "peak_share", "peak_gmacs_per_s", "group"}


def _script(name: str, *args: str | Path, timeout: int = 1200) -> str:
    run = subprocess.run([sys.executable, str(BENCHMARKS / name), *map(str, args)],
                         capture_output=True, text=True, timeout=timeout, cwd=BENCHMARKS.parent)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return run.stdout


@pytest.mark.slow
def test_quick_latency_run_writes_every_field_and_renders(tmp_path):
    pytest.importorskip("ai_edge_litert")
    results, out = tmp_path / "results", tmp_path / "out"
    _script("latency.py", "--quick", "--out", results / "latency.json")
    report = json.loads((results / "latency.json").read_text())
    assert report["command"] == "python benchmarks/latency.py --quick"
    assert {"cpu", "cores"} <= set(report["machine"])
    assert report["models"]["efficient"]["macs_per_pixel"] > 0
    rows = report["results"]
    assert {(r["format"], r["precision"]) for r in rows} == {
        ("onnx", "fp32"), ("onnx", "int8"), ("tflite", "int8")}
    for row in rows:
        assert set(row) >= ROW_FIELDS, ROW_FIELDS - set(row)
        assert row["p10_ms"] <= row["median_ms"] <= row["p90_ms"]
        assert row["input"] == "256x256" and row["threads"] == 2
    assert report["probes"], "the roofline probes ran in the same group"

    _script("report.py", "--results", results, "--out", out)
    page = (out / "RESULTS.md").read_text()
    assert "## Latency" in page and "| blindspot_eff_gauss25_rgb | tflite int8 |" in page
    assert (out / "latency_vs_size.png").read_bytes()[:4] == b"\x89PNG"


def test_pnp_claim_reads_an_eval_deblur_run(tmp_path, monkeypatch):
    """The speed-up claims.py states is DMSP's time over ADMM's time to DMSP's PSNR, read
    from what ``edgerestore eval deblur`` wrote (here: a tiny identity denoiser)."""
    from conftest import save_tiny_dncnn

    images = tmp_path / "images"
    images.mkdir()
    write_image(images / "a.png", load_sample("camera")[::8, ::8][8:40, 8:40])
    np.savez(tmp_path / "kernels.npz", k1=motion_kernel(7, seed=3))
    model = save_tiny_dncnn(tmp_path / "identity.safetensors", channels=1, identity=True)
    results = tmp_path / "results"
    assert main(["-q", "eval", "deblur", "--denoiser", str(model), "--images", str(images),
                 "--kernels", str(tmp_path / "kernels.npz"), "--methods", "admm", "dmsp",
                 "--iters-admm", "10", "--iters-dmsp", "10", "--threads", "1",
                 "--json", str(results / "pnp_speed_tiny.json")]) == 0
    written = json.loads((results / "pnp_speed_tiny.json").read_text())
    assert written["command"].startswith("edgerestore -q eval deblur --denoiser")

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import claims

    claim = claims.pnp_claim(results)
    (run,) = claim["runs"]
    assert run["command"] == written["command"] and run["cases"] == 1
    (case,) = run["per_case"]
    assert case["dmsp_psnr"] == pytest.approx(written["speed"]["per_image"][0]["dmsp_psnr"])
    if case["speedup"] is None:
        assert run["cases_reached"] == 0 and claim["verdict"].startswith("Not reproduced")
    else:
        assert case["speedup"] == pytest.approx(
            case["dmsp_seconds"] / case["admm_seconds_to_reach_dmsp_psnr"])
        assert claim["verdict"].startswith("ADMM-MAP reached DMSP's final PSNR in 1 of 1")


def test_results_page_renders_from_the_committed_results(tmp_path):
    """RESULTS.md is generated, never edited: rendering the committed JSON reproduces it."""
    _script("report.py", "--out", tmp_path, timeout=300)
    assert (tmp_path / "RESULTS.md").read_text() == (BENCHMARKS / "RESULTS.md").read_text()


def test_a_retrained_model_keeps_its_earlier_cbm3d_result(tmp_path, monkeypatch):
    """``blindspot_eval.py --reuse-baseline`` keeps (C)BM3D only from a file scored on the
    same noise and seed: the baseline never sees the model, only the seeded noisy images."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import blindspot_eval

    path = tmp_path / "m_CBSD68.json"
    cbm3d = {"psnr": 30.8, "per_image": [30.1, 31.5]}
    path.write_text(json.dumps({"noise": "gauss:25", "seed": 0, "cbm3d": cbm3d}))
    assert blindspot_eval.earlier_baseline(path, 25.0) == {"cbm3d": cbm3d}
    assert blindspot_eval.earlier_baseline(path, 50.0) == {}
    path.write_text(json.dumps({"noise": "gauss:25", "seed": 1, "cbm3d": cbm3d}))
    assert blindspot_eval.earlier_baseline(path, 25.0) == {}
    assert blindspot_eval.earlier_baseline(tmp_path / "absent.json", 25.0) == {}
