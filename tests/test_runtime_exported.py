"""The torch-free runtime on exported files: tiling, backends, CLI, bad inputs.

The exported files are made once per module from the *shipped* weights (the
efficient blind-spot net and the MAP denoiser), so the quality checks are real:
denoising must raise PSNR, deblurring must beat the blurred input.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from edgerestore.cli import main
from edgerestore.errors import InputError, ModelFileError
from edgerestore.runtime.blur import blur_circular
from edgerestore.runtime.image_io import read_image, write_image
from edgerestore.runtime.kernels import gaussian_kernel
from edgerestore.runtime.metrics import psnr
from edgerestore.runtime.samples import load_sample
from edgerestore.runtime.tiling import TilePlan, run_tiled

pytest.importorskip("onnx")
pytest.importorskip("torch")

WEIGHTS = Path(__file__).resolve().parents[1] / "src" / "edgerestore" / "models" / "weights"


def _agreement(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / max(np.mean((a - b) ** 2), 1e-30)))


def _box3(image: np.ndarray) -> np.ndarray:
    """A 3x3 mean filter with zero padding: the simplest conv with a 1-pixel halo."""
    p = np.pad(image, ((1, 1), (1, 1), (0, 0)))
    h, w = image.shape[:2]
    return sum(p[i:i + h, j:j + w] for i in range(3) for j in range(3)) / 9.0


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("exported")
    for name in ("blindspot_eff_gauss25_rgb", "map_rgb"):
        assert main(["-q", "export", "--model", str(WEIGHTS / f"{name}.safetensors"),
                     "--format", "onnx", "--precision", "fp32", "--out", str(out)]) == 0
    return {"blindspot": out / "blindspot_eff_gauss25_rgb_fp32.onnx",
            "map": out / "map_rgb_fp32.onnx", "dir": out}


@pytest.fixture(scope="module")
def noisy_pair() -> tuple[np.ndarray, np.ndarray]:
    clean = load_sample("astronaut")[40:240, 100:390].astype(np.float32)
    noisy = clean + np.random.default_rng(0).normal(0, 25 / 255, clean.shape)
    return clean, noisy.astype(np.float32)


def test_tiling_reproduces_a_convolution_exactly(rgb):
    whole = _box3(rgb)
    for tile, blend in (((16, 16), 0), ((20, 24), 4), ((37, 11), 2)):
        tiled = run_tiled(rgb, _box3, tile=tile, halo=1, blend=blend)
        np.testing.assert_allclose(tiled, whole, atol=1e-6)


def test_tile_plan_covers_the_image_and_rejects_tiny_tiles():
    plan = TilePlan(100, 70, 32, 32, 5, 4)
    rows = plan.starts(100, 32)
    assert rows[0] == 0 and rows[-1] == 100 - 32 and plan.count == len(rows) * len(
        plan.starts(70, 32))
    with pytest.raises(InputError, match="too small"):
        TilePlan(100, 100, 12, 12, 5, 4).starts(100, 12)


def test_fixed_tiles_pad_small_images(rgb):
    calls = []

    def fn(tile):
        calls.append(tile.shape)
        return tile * 2

    out = run_tiled(rgb, fn, tile=(64, 64), halo=3, fixed=True)
    assert calls == [(64, 64, 3)] and out.shape == rgb.shape
    np.testing.assert_allclose(out, rgb * 2, atol=1e-6)


def test_tiled_and_untiled_onnx_agree(exported, noisy_pair):
    from edgerestore.runtime.exported_denoiser import ExportedDenoiser

    _, noisy = noisy_pair
    whole = ExportedDenoiser(exported["blindspot"], max_tile=4096).denoise(noisy, 25 / 255)
    small = ExportedDenoiser(exported["blindspot"], max_tile=96)
    assert small.tile_count(*noisy.shape[:2]) > 4
    assert _agreement(whole, small.denoise(noisy, 25 / 255)) > 45


def test_denoiser_raises_psnr_and_estimates_sigma(exported, noisy_pair):
    from edgerestore.runtime.exported_denoiser import ExportedDenoiser

    clean, noisy = noisy_pair
    den = ExportedDenoiser(exported["blindspot"])
    given, estimated = den.denoise(noisy, 25 / 255), den.denoise(noisy)
    assert psnr(given, clean) > psnr(noisy, clean) + 6
    assert abs(psnr(estimated, clean) - psnr(given, clean)) < 0.5
    with pytest.raises(InputError, match="3-channel"):
        den.denoise(noisy[:, :, 0])
    with pytest.raises(InputError, match="NaN"):
        den.denoise(np.full((32, 32, 3), np.nan, np.float32), 25 / 255)


@pytest.mark.slow
def test_tflite_fixed_tiles_match_onnx(exported, noisy_pair, tmp_path):
    pytest.importorskip("ai_edge_litert")
    from edgerestore.runtime.exported_denoiser import ExportedDenoiser

    assert main(["-q", "export", "--model", str(WEIGHTS / "blindspot_eff_gauss25_rgb.safetensors"),
                 "--format", "tflite", "--precision", "fp32", "--tile", "128", "--out",
                 str(tmp_path)]) == 0
    tfl = ExportedDenoiser(tmp_path / "blindspot_eff_gauss25_rgb_fp32_128x128.tflite")
    ref = ExportedDenoiser(exported["blindspot"], max_tile=4096)
    _, noisy = noisy_pair
    assert tfl.fixed_tile == (128, 128)
    assert _agreement(ref.denoise(noisy, 25 / 255), tfl.denoise(noisy, 25 / 255)) > 45
    small = noisy[:70, :90]  # smaller than the tile: padded, then cropped back
    assert _agreement(ref.denoise(small, 25 / 255), tfl.denoise(small, 25 / 255)) > 45


def test_wrong_model_files_are_refused(exported, tmp_path):
    from edgerestore.runtime.exported_denoiser import ExportedDenoiser

    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(ModelFileError):
        ExportedDenoiser(junk)
    with pytest.raises(ModelFileError, match=r"expected an \.onnx or \.tflite"):
        ExportedDenoiser(WEIGHTS / "map_rgb.safetensors")


def _torch_free_env(tmp_path: Path) -> dict[str, str]:
    blocker = tmp_path / "blocker"
    (blocker / "torch").mkdir(parents=True)
    (blocker / "torch" / "__init__.py").write_text("raise ImportError('torch is blocked')\n")
    return dict(os.environ, PYTHONPATH=str(blocker))


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    code = textwrap.dedent("""
        import sys
        from edgerestore.cli import main
        rc = main(sys.argv[1:])
        assert "torch" not in sys.modules or sys.modules["torch"] is None, "torch was imported"
        raise SystemExit(rc)
    """)
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                          text=True, timeout=300)


def test_cli_denoise_and_deblur_run_without_torch(exported, noisy_pair, tmp_path):
    env = _torch_free_env(tmp_path)
    clean, noisy = noisy_pair
    write_image(tmp_path / "noisy.png", noisy)
    proc = _cli(["denoise", str(tmp_path / "noisy.png"), "-o", str(tmp_path / "den.png"),
                 "--model", str(exported["blindspot"]), "--sigma", "25", "--threads", "1"], env)
    assert proc.returncode == 0, proc.stderr
    assert psnr(read_image(tmp_path / "den.png")[0], clean) > psnr(noisy, clean) + 6

    crop = clean[:96, :96]
    kernel = gaussian_kernel(1.6, 9)
    blurred = blur_circular(crop, kernel) + np.random.default_rng(1).normal(0, 0.01, crop.shape)
    write_image(tmp_path / "blurred.png", blurred)
    np.save(tmp_path / "k.npy", kernel)
    proc = _cli(["deblur", str(tmp_path / "blurred.png"), "-o", str(tmp_path / "sharp.png"),
                 "--kernel", str(tmp_path / "k.npy"), "--sigma", "2.55", "--boundary",
                 "circular", "--iters", "15", "--denoiser", str(exported["map"]),
                 "--threads", "1"], env)
    assert proc.returncode == 0, proc.stderr
    assert psnr(read_image(tmp_path / "sharp.png")[0], crop) > psnr(blurred, crop) + 1


@pytest.mark.parametrize("case", ["rgba", "corrupt", "grey_into_colour", "bad_model",
                                  "kernel_too_large", "overwrite_input"])
def test_cli_bad_inputs_exit_2_without_output(case, exported, tmp_path, capsys):
    src = tmp_path / "in.png"
    out = tmp_path / "out.png"
    image = load_sample("coffee")[:64, :64]
    model = str(exported["blindspot"])
    command = "denoise"
    extra: list[str] = []
    if case == "rgba":
        write_image(src, np.concatenate([image, np.ones_like(image[:, :, :1])], 2))
    elif case == "corrupt":
        src.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    elif case == "grey_into_colour":
        write_image(src, image[:, :, 0])
    elif case == "bad_model":
        write_image(src, image)
        bad = tmp_path / "bad.tflite"
        bad.write_bytes(b"garbage")
        model = str(bad)
    elif case == "kernel_too_large":
        write_image(src, image[:16, :16])
        np.save(tmp_path / "k.npy", gaussian_kernel(3.0, 25))
        command = "deblur"
        extra = ["--kernel", str(tmp_path / "k.npy"), "--sigma", "2.55"]
    else:
        write_image(src, image)
        out = src
    before = src.read_bytes()
    args = [command, str(src), "-o", str(out)]
    args += (["--denoiser", str(exported["map"])] if command == "deblur" else ["--model", model])
    assert main(["-q", *args, *extra]) == 2
    assert "error" in capsys.readouterr().err.lower()
    assert src.read_bytes() == before
    assert case == "overwrite_input" or not out.exists()
    assert not list(tmp_path.glob(".*tmp*"))


def test_missing_litert_names_the_extra(tmp_path, monkeypatch):
    from edgerestore.errors import MissingDependencyError
    from edgerestore.runtime.backends import open_session
    from edgerestore.runtime.model_metadata import sidecar_path

    model = tmp_path / "m.tflite"
    model.write_bytes(b"\0\0\0\0TFL3" + b"\0" * 32)
    sidecar_path(model).write_text('{"task": "map_denoiser", "inputs": ["image"]}')
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    with pytest.raises(MissingDependencyError, match=r"edgerestore\[litert\]"):
        open_session(model)
