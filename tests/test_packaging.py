"""Packaging: the import paths resolve to the folders under src/edgerestore/, from any
directory, and the device runtime works in a process where torch cannot be imported."""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "edgerestore"


@pytest.mark.parametrize("cwd", [ROOT, Path("/")])
def test_import_paths_are_the_source_folders(cwd):
    code = ("import edgerestore, edgerestore.models, edgerestore.export, edgerestore.runtime;"
            "print(edgerestore.runtime.__file__); print(edgerestore.models.__file__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out[0] == str(PACKAGE / "runtime" / "__init__.py")
    assert out[1] == str(PACKAGE / "models" / "__init__.py")


def test_runtime_source_never_imports_torch():
    for path in (PACKAGE / "runtime").rglob("*.py"):
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


@pytest.mark.slow
def test_fresh_base_install_restores_photos(tmp_path):
    """The promise of the README's first lines: ``pip install .`` (no torch, no extras)
    in a new venv, then one command or one Python call, with no model flag and no export;
    and the same install runs files exported here from the shipped weights (the
    efficient blind-spot net, the MAP denoiser as a deblurring prior)."""
    import numpy as np

    from edgerestore.runtime.blur import blur_circular
    from edgerestore.runtime.image_io import read_image, write_image
    from edgerestore.runtime.kernels import gaussian_kernel
    from edgerestore.runtime.metrics import psnr

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    install = subprocess.run([str(bindir / "python"), "-m", "pip", "install", "-q", str(ROOT)],
                             capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr
    assert subprocess.run([str(bindir / "python"), "-c", "import torch"],
                          capture_output=True, timeout=60).returncode != 0

    y, x = np.mgrid[0:64, 0:64] / 64
    clean = np.stack([0.5 + 0.3 * np.sin(6 * x), 0.2 + 0.5 * y, 0.3 + 0.4 * (x > 0.5)],
                     axis=2).astype(np.float32)
    noisy = clean + np.random.default_rng(0).normal(0, 25 / 255, clean.shape)
    write_image(tmp_path / "noisy.png", noisy.astype(np.float32))
    kernel = gaussian_kernel(1.6, 9)
    write_image(tmp_path / "blurred.png", blur_circular(clean, kernel))
    np.save(tmp_path / "k.npy", kernel)
    (tmp_path / "photos").mkdir()
    for name in ("a.png", "b.png"):
        write_image(tmp_path / "photos" / name, noisy.astype(np.float32))

    def run(*args: str) -> None:
        proc = subprocess.run(list(args), cwd=tmp_path, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, proc.stderr

    er = str(bindir / "edgerestore")
    run(er, "models")
    run(er, "denoise", "noisy.png", "-o", "out.png", "--threads", "1")
    assert psnr(clean, read_image(tmp_path / "out.png")[0]) > psnr(clean, noisy) + 3
    run(er, "deblur", "blurred.png", "--kernel", "k.npy", "--sigma", "2.55", "-o", "sharp.png")
    assert read_image(tmp_path / "sharp.png")[0].shape == clean.shape
    run(er, "denoise", "photos", "-o", "restored", "--jobs", "2")
    assert sorted(p.name for p in (tmp_path / "restored").iterdir()) == ["a.png", "b.png"]
    run(str(bindir / "python"), "-c",
        "import edgerestore; out = edgerestore.denoise('noisy.png'); "
        "assert out.size == (64, 64), out")

    # Exported files (exporting needs torch and onnx here, never in the new venv).
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("onnx") is None:
        return
    from edgerestore.cli import main
    from edgerestore.runtime.samples import load_sample

    weights = PACKAGE / "models" / "weights"
    exported = tmp_path / "exported"
    for name in ("blindspot_eff_gauss25_rgb", "map_rgb"):
        assert main(["-q", "export", "--model", str(weights / f"{name}.safetensors"),
                     "--format", "onnx", "--precision", "fp32", "--out", str(exported)]) == 0
    photo = load_sample("astronaut")[40:240, 100:390].astype(np.float32)
    photo_noisy = (photo + np.random.default_rng(0).normal(0, 25 / 255, photo.shape)
                   ).astype(np.float32)
    write_image(tmp_path / "photo_noisy.png", photo_noisy)
    run(er, "denoise", "photo_noisy.png", "-o", "photo_den.png", "--threads", "1",
        "--model", str(exported / "blindspot_eff_gauss25_rgb_fp32.onnx"))
    assert psnr(read_image(tmp_path / "photo_den.png")[0], photo) > psnr(photo_noisy, photo) + 6
    crop = photo[:64, :64]
    write_image(tmp_path / "crop_blurred.png", blur_circular(crop, kernel))
    run(er, "deblur", "crop_blurred.png", "-o", "crop_sharp.png", "--kernel", "k.npy",
        "--sigma", "1", "--boundary", "circular", "--iters", "10",
        "--denoiser", str(exported / "map_rgb_fp32.onnx"), "--threads", "1")
    assert psnr(read_image(tmp_path / "crop_sharp.png")[0], crop) > psnr(
        blur_circular(crop, kernel), crop) + 1
