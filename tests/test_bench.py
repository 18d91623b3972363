"""``edgerestore bench``: the harness runs torch-free on a tiny exported model, writes every
result field, and refuses bad inputs with a message. No timing assertions: the numbers
depend on the machine; only their internal consistency is checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("onnx")
torch = pytest.importorskip("torch")

from edgerestore.cli import main  # noqa: E402
from edgerestore.runtime.bench import FIELDS, format_table, parse_size  # noqa: E402


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory, tiny_dncnn) -> Path:
    root = tmp_path_factory.mktemp("bench")
    assert main(["-q", "export", "--model", str(tiny_dncnn), "--format", "onnx", "--precision",
                 "fp32", "--out", str(root / "out")]) == 0
    return root / "out" / "tiny_dncnn_fp32.onnx"


def test_bench_runs_without_torch_and_writes_every_field(tiny_onnx, tmp_path):
    blocker = tmp_path / "blocker"
    (blocker / "torch").mkdir(parents=True)
    (blocker / "torch" / "__init__.py").write_text(
        "raise ImportError('torch is blocked for this test')\n")
    out = tmp_path / "bench.json"
    script = textwrap.dedent(f"""
        import sys
        from edgerestore.cli import main
        code = main(["-q", "bench", r"{tiny_onnx}", "--size", "32", "40x24", "--threads", "1",
                     "2", "--runs", "5", "--warmup", "1", "--macs-per-pixel", "1000",
                     "--max-tile", "64", "--json", r"{out}"])
        assert "torch" not in sys.modules or sys.modules["torch"] is None
        raise SystemExit(code)
    """)
    env = dict(os.environ, PYTHONPATH=str(blocker))
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "median" in proc.stdout and "tiny_dncnn" in proc.stdout
    report = json.loads(out.read_text())
    assert report["machine"]["cores"] >= 1 and "onnxruntime" in report["machine"]["versions"]
    rows = report["results"]
    assert [(r["input"], r["threads"]) for r in rows] == [
        ("32x32", 1), ("32x32", 2), ("40x24", 1), ("40x24", 2)]
    for row in rows:
        assert set(FIELDS) <= set(row)
        assert row["model"] == "tiny_dncnn" and row["format"] == "onnx"
        assert row["precision"] == "fp32" and row["backend"] == "onnxruntime"
        assert row["runs"] == 5 and row["warmup"] == 1 and len(row["times_ms"]) == 5
        assert row["p10_ms"] <= row["median_ms"] <= row["p90_ms"]
        assert row["first_run_ms"] > 0 and row["session_ms"] > 0 and row["peak_rss_mb"] > 0
        assert row["file_size_bytes"] == tiny_onnx.stat().st_size
        assert row["macs_per_pixel"] == 1000 and row["gmacs_per_s"] > 0


def test_large_inputs_are_tiled_and_table_renders(tiny_onnx, tmp_path, capsys):
    out = tmp_path / "b.json"
    assert main(["-q", "bench", str(tiny_onnx), "--size", "100x70", "--runs", "2",
                 "--warmup", "0", "--max-tile", "64", "--json", str(out)]) == 0
    row = json.loads(out.read_text())["results"][0]
    assert row["calls"] > 1 and row["gmacs_per_s"] is None  # tiled; no MACs known
    assert row["input"] == "100x70"
    assert "100x70" in format_table([row]) and "100x70" in capsys.readouterr().out


def test_parse_size():
    assert parse_size("256") == (256, 256)
    assert parse_size("1920x1080") == (1080, 1920)


@pytest.mark.parametrize("name, content, message", [
    ("missing.onnx", None, "no such model file"),
    ("notes.txt", "hello", "expected an .onnx or .tflite file"),
    ("garbage.onnx", "not a model", "not a loadable ONNX model"),
])
def test_bad_model_files_exit_2(tmp_path, capsys, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    assert main(["bench", str(path), "--runs", "1"]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--threads", "0"], "argument --threads: must be 1..1024, got 0"),
    (["--size", "abc"], "expected N or WxH"),
    (["--runs", "0"], "argument --runs: must be"),
])
def test_bad_options_exit_2(tiny_onnx, capsys, args, message):
    try:
        code = main(["bench", str(tiny_onnx), *args])
    except SystemExit as exc:  # refused by argparse while parsing
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
