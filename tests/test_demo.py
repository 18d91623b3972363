"""``edgerestore demo`` end to end, and what it does when a stage's dependency is missing.

The end-to-end run is the real pipeline in ``--quick`` mode restricted to ONNX (the
TFLite conversions alone take minutes on the 2-core CI machine; the full demo and
tests/test_export.py cover them): shipped weights -> export with parity -> torch-free
restoration in a child process -> latency workers -> report. The checks are on the
numbers, so a stage that silently did nothing cannot pass.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgerestore.cli import main
from edgerestore.runtime import demo_restore

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    assert main(["-q", "demo", "--quick", "--formats", "onnx", "--out", str(out)]) == 0
    return out


def _report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


def test_quick_demo_numbers_are_real(quick: Path):
    report = _report(quick)
    assert {k: v["status"] for k, v in report["stages"].items()} == {
        "export": "ok", "restore": "ok", "bench": "ok"}
    restore = report["restore"]
    assert restore["torch_loaded"] is False  # the child ran with torch blocked
    denoised = {row["file"] for row in restore["denoise"]}
    assert denoised == {"blindspot_eff_gauss25_rgb_fp32.onnx",
                        "blindspot_eff_gauss25_rgb_int8.onnx"}
    for row in restore["denoise"]:
        assert 19 < row["noisy_psnr"] < 22  # sigma 25 on [0, 1] images
        assert row["psnr"] > row["noisy_psnr"] + 5, row
        assert row["ssim"] > row["noisy_ssim"]
    deblur = restore["deblur"]
    assert {f["file"] for f in deblur["files"]} == {"map_rgb_fp32.onnx", "map_rgb_int8.onnx"}
    for entry in deblur["files"]:
        assert entry["psnr"] > deblur["blurred_psnr"] + 3, entry
        curve = entry["psnr_per_iter"]
        assert len(curve) == deblur["iters"] and curve[-1] > curve[0]
    for kind in ("blindspot", "map"):
        for entry in report["export"][kind]["files"]:
            parity = entry["parity"]["samples"]
            if entry["precision"] == "fp32":
                assert parity["psnr_vs_torch"] > 60, entry["file"]
            else:
                assert abs(parity["denoise_psnr_delta"]) < 0.5, entry["file"]
    assert len(report["bench"]) == 4
    assert all(row["median_ms"] > 0 and row["backend"] == "onnxruntime"
               for row in report["bench"])


def test_quick_demo_report_html_embeds_everything(quick: Path):
    page = (quick / "report.html").read_text()
    pictures = len(re.findall(r'src="data:image/(?:jpeg|png);base64,[A-Za-z0-9+/=]{200,}"',
                              page))
    # per sample: noisy, clean, 2 restored; deblur: blurred, clean, kernel, 2 restored
    assert pictures == 2 * 4 * 2 + 5  # samples twice: whole and the centre detail
    assert "<svg" in page and "<polyline" in page  # the convergence plot
    assert "map_rgb_int8.onnx" in page and "median ms" in page  # parity + latency tables
    assert "src=\"file:" not in page and "http" not in page.replace("http://www.w3.org", "")


def test_without_torch_the_runtime_stages_use_earlier_exports(quick: Path, monkeypatch,
                                                               capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "torch" else real(name, *a))
    assert main(["-q", "demo", "--quick", "--formats", "onnx", "--out", str(quick)]) == 2
    err = capsys.readouterr().err
    assert "pip install 'edgerestore[train]'" in err and "Traceback" not in err
    report = _report(quick)
    assert report["stages"]["export"]["status"] == "skipped"
    assert "using 4 file(s) exported earlier" in report["stages"]["export"]["notes"][0]
    assert report["stages"]["restore"]["status"] == "ok"
    assert len(report["restore"]["denoise"]) == 4
    assert "edgerestore[train]" in (quick / "report.html").read_text()


@pytest.mark.parametrize(("module", "formats", "extra"), [
    ("torch", ["onnx"], "train"),
    ("litert_torch", ["tflite"], "export"),
])
def test_missing_stage_dependency_is_reported_and_skipped(tmp_path, monkeypatch, module,
                                                          formats, extra):
    """In a real process: the message names the extra, no traceback, a report anyway."""
    script = (
        "import importlib.util, sys\n"
        "real = importlib.util.find_spec\n"
        f"importlib.util.find_spec = lambda n, *a: None if n == {module!r} else real(n, *a)\n"
        "from edgerestore.cli import main\n"
        f"sys.exit(main(['demo', '--quick', '--out', {str(tmp_path)!r}, "
        f"'--formats', *{formats!r}]))\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert f"pip install 'edgerestore[{extra}]'" in proc.stderr
    assert "Traceback" not in proc.stderr
    report = _report(tmp_path)
    assert report["stages"]["export"]["status"] == "skipped"
    assert report["stages"]["restore"]["status"] == "skipped"
    assert (tmp_path / "report.html").is_file()


def test_tflite_files_are_skipped_with_the_extra_when_litert_is_missing(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "ai_edge_litert" else real(name, *a))
    assert "edgerestore[litert]" in demo_restore.unavailable(Path("m_fp32_256x256.tflite"))
    assert demo_restore.unavailable(Path("m_fp32.onnx")) is None


def test_unknown_model_is_a_clear_error_before_any_work(tmp_path, capsys):
    assert main(["-q", "demo", "--out", str(tmp_path), "--model", "nope"]) == 2
    assert "no shipped weights named 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "export").exists()


def test_own_photos_are_taken_as_noisy_unless_sigma_is_given(quick: Path, tmp_path):
    from edgerestore.runtime.image_io import write_image
    from edgerestore.runtime.samples import load_sample

    photos = tmp_path / "photos"
    photos.mkdir()
    write_image(photos / "cat.png", load_sample("chelsea")[:96, 100:220])
    write_image(photos / "coins.png", load_sample("coins")[:80, :96])  # grey -> RGB
    model = str(quick / "export" / "blindspot" / "blindspot_eff_gauss25_rgb_fp32.onnx")
    as_given = demo_restore.run_job(demo_restore.Job(
        out=str(tmp_path / "a"), denoisers=[model], deblurrers=[], images=str(photos),
        sigma=None, quiet=True))
    assert [i["has_clean"] for i in as_given["inputs"]] == [False, False]
    assert all(row["psnr"] is None and row["sigma"] is None for row in as_given["denoise"])
    noised = demo_restore.run_job(demo_restore.Job(
        out=str(tmp_path / "b"), denoisers=[model], deblurrers=[], images=str(photos),
        sigma=25.0, quiet=True))
    for row in noised["denoise"]:
        assert row["psnr"] > row["noisy_psnr"] + 3, row
        assert (tmp_path / "b" / "images" / row["picture"]).is_file()


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_quick_report_renders_in_headless_chromium(quick: Path, tmp_path):
    from PIL import Image

    shot = tmp_path / "report.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                    f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                    "--window-size=1280,1600", (quick / "report.html").resolve().as_uri()],
                   capture_output=True, timeout=120, check=True)
    pixels = np.asarray(Image.open(shot).convert("L"), np.float32)
    assert pixels.shape == (1600, 1280)
    assert pixels[300:700].std() > 30  # the sample pictures drew, not an empty page
