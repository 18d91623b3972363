"""Packaging: the mapped import paths resolve to the top-level folders, from any directory,
and the device runtime works in a process where torch cannot be imported."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("cwd", [ROOT, Path("/")])
def test_import_paths_map_to_top_level_folders(cwd):
    code = ("import edgerestore, edgerestore.models, edgerestore.export, edgerestore.runtime;"
            "print(edgerestore.runtime.__file__); print(edgerestore.models.__file__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out[0] == str(ROOT / "runtime" / "__init__.py")
    assert out[1] == str(ROOT / "models" / "__init__.py")


def test_runtime_source_never_imports_torch():
    for path in (ROOT / "runtime").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0] == "torch" for n in names), path


def test_runtime_imports_and_runs_when_torch_is_unavailable(tmp_path):
    blocker = tmp_path / "blocker"
    (blocker / "torch").mkdir(parents=True)
    (blocker / "torch" / "__init__.py").write_text(
        "raise ImportError('torch is blocked for this test')\n")
    script = textwrap.dedent(f"""
        import sys
        try:
            import torch  # noqa: F401
        except ImportError:
            pass
        else:
            raise SystemExit("blocker did not work")
        import numpy as np
        import edgerestore.runtime as rt
        from edgerestore.cli import main
        clean = np.full((32, 32, 3), 0.5, np.float32)
        noisy, _ = rt.NoiseSpec.parse("gauss:25").apply(clean, np.random.default_rng(0))
        rt.write_image(r"{tmp_path}/n.png", noisy)
        back, info = rt.read_image(r"{tmp_path}/n.png")
        assert 19 < rt.psnr(clean, back) < 22
        assert main(["-q", "compare", r"{tmp_path}/n.png", r"{tmp_path}/n.png",
                     "--no-ssim"]) == 0
        assert "torch" not in sys.modules or sys.modules["torch"] is None
        print("OK")
    """)
    env = dict(os.environ, PYTHONPATH=str(blocker))
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("OK")
