"""benchmarks/camera_noise.py on tiny settings: every method x condition, the cache, the
oracle's search, and the RESULTS.md section. Nothing here asserts a time."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from edgerestore.runtime.image_io import write_image
from edgerestore.runtime.samples import load_sample

pytest.importorskip("bm3d")
pytest.importorskip("colour_demosaicing")

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    return _load("camera_noise")


@pytest.fixture(scope="module")
def tiny_plain(tmp_path_factory) -> Path:
    """A tiny blind-spot net with a learned (global) noise level, as .safetensors."""
    torch = pytest.importorskip("torch")
    from edgerestore.models.blindspot import DilatedBlindSpotNet
    from edgerestore.models.blindspot_denoiser import BlindSpotDenoiser
    from edgerestore.models.gaussian_head import out_channels_for
    from edgerestore.models.weights_io import save_weights

    torch.manual_seed(0)
    backbone = DilatedBlindSpotNet(3, out_channels_for(3), width=8, depth=3, branch_width=4,
                                   mix_widths=(8, 8))
    model = BlindSpotDenoiser(backbone, 3, sigma_mode="global")
    path = tmp_path_factory.mktemp("plain") / "plain.safetensors"
    save_weights(model, model.config(), path)
    return path


def blur_cbm3d(_threads: int):
    """A cheap stand-in for CBM3D (a real call costs a second even on a 48x48 crop): a
    Gaussian blur whose width grows with sigma, so PSNR against sigma has one peak."""
    from scipy.ndimage import gaussian_filter

    def run(noisy: np.ndarray, sigma: float) -> np.ndarray:
        return gaussian_filter(noisy, (sigma / 12.0, sigma / 12.0, 0)).astype(np.float32)

    return run


@pytest.fixture(scope="module")
def run(bench, tiny_plain, tmp_path_factory):
    """Two 48x48 crops, ISO 800 and 3200 x {no JPEG, JPEG 90}, all five methods (CBM3D
    stood in by a blur), then the same command again (from the cache)."""
    root = tmp_path_factory.mktemp("camera_bench")
    data = root / "data" / "imgs"
    data.mkdir(parents=True)
    write_image(data / "a.png", load_sample("astronaut")[::4, ::4])
    write_image(data / "b.png", load_sample("coffee")[::4, ::4])
    write_image(data / "c.png", load_sample("chelsea")[::4, ::4])  # not used: --count 2
    argv = ["--data-root", str(root / "data"), "--images", "imgs", "--count", "2",
            "--crop", "48", "--iso", "800", "3200", "--jpeg", "none", "90",
            "--plain-model", str(tiny_plain), "--camera-model", "blindspot_gauss25_rgb",
            "--cache", str(root / "cache"), "--out", str(root / "camera_noise.json"),
            "--figure", str(root / "camera_noise.png")]
    patch = pytest.MonkeyPatch()
    patch.setattr(bench, "cbm3d_runner", blur_cbm3d)
    try:
        first = bench.main(argv)
        second = bench.main(argv)
    finally:
        patch.undo()
    return {"first": first, "second": second, "root": root, "argv": argv}


def test_real_cbm3d_removes_camera_noise(bench):
    """The CBM3D runner itself (the tests above stand it in): one small call."""
    from edgerestore.runtime.metrics import psnr

    clean = load_sample("astronaut")[::8, ::8][16:48, 16:48].astype(np.float64)
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 20 / 255, clean.shape), 0, 1)
    out = bench.cbm3d_runner(1)(noisy.astype(np.float32), 20.0)
    assert out.shape == clean.shape and out.dtype == np.float32
    assert psnr(clean, out) > psnr(clean, noisy) + 3


def test_json_has_every_method_for_every_condition_and_image(run, bench):
    result = run["first"]
    assert json.loads((run["root"] / "camera_noise.json").read_text()) == run["second"]
    assert result["command"].startswith("python benchmarks/camera_noise.py --data-root")
    assert result["settings"]["conditions"] == [
        "camera:iso=800", "camera:iso=800,jpeg=90", "camera:iso=3200", "camera:iso=3200,jpeg=90"]
    records = result["per_image"]
    assert len(records) == 8 and {(r["image"], r["iso"], r["jpeg"]) for r in records} == {
        (name, iso, jpeg) for name in ("a.png", "b.png") for iso in (800, 3200)
        for jpeg in (None, 90)}
    for record in records:
        assert list(record["methods"]) == list(bench.METHODS)
        for entry in record["methods"].values():
            assert math.isfinite(entry["psnr"]) and 0 < entry["ssim"] <= 1
            assert entry["cpu_seconds"] >= 0
        assert record["methods"]["default"]["model"].startswith("blindspot_gauss")
    rows = result["summary"]
    assert [(r["iso"], r["jpeg"]) for r in rows] == [(800, None), (800, 90), (3200, None),
                                                     (3200, 90)]
    for row in rows:
        assert row["images"] == 2 and sum(row["default_models"].values()) == 2
        assert row["apbsn_margin"]["plain"] == pytest.approx(
            row["methods"]["apbsn"]["psnr"] - row["methods"]["plain"]["psnr"])
    # more noise at ISO 3200 than at ISO 800, on the same crops
    assert rows[2]["noisy_psnr"] < rows[0]["noisy_psnr"]
    assert rows[2]["mad_sigma"] > rows[0]["mad_sigma"]
    assert (run["root"] / "camera_noise.png").read_bytes()[:4] == b"\x89PNG"


def test_second_run_comes_from_the_cache_with_the_same_values(run):
    first, second = run["first"], run["second"]
    assert first["cache"]["computed"] > 0
    assert second["cache"]["computed"] == 0 and second["cache"]["hits"] > 0
    for a, b in zip(first["per_image"], second["per_image"], strict=True):
        for method, entry in b["methods"].items():
            assert entry["cached"] is True
            assert entry["psnr"] == a["methods"][method]["psnr"]
            assert entry["cpu_seconds"] == a["methods"][method]["cpu_seconds"]


def test_oracle_is_at_least_the_mad_sigma_and_picks_its_best_candidate(run):
    for record in run["first"]["per_image"]:
        oracle, mad = record["methods"]["cbm3d_oracle"], record["methods"]["cbm3d_mad"]
        assert oracle["psnr"] >= mad["psnr"]
        search = {s["sigma"]: s["psnr"] for s in oracle["search"]}
        assert round(record["mad_sigma"], 2) in {round(s, 2) for s in search}
        assert search[oracle["sigma"]] == max(search.values())
        assert oracle["psnr"] == pytest.approx(max(search.values()), abs=1e-3)


def test_oracle_search_finds_the_peak_in_few_calls(bench):
    """A fake CBM3D whose error is smallest at sigma 20: the search reaches the grid point
    nearest 20 from a MAD estimate of 5 and never scans the whole grid."""
    rng = np.random.default_rng(0)
    clean = rng.uniform(0.2, 0.8, (16, 16, 3))
    noise = rng.normal(0, 0.05, clean.shape)
    case = bench.Case("x", 0, bench.Condition(800, None), clean, clean, "h", 5.0)
    calls = []

    def fake(_tag, sigma):
        calls.append(sigma)
        return clean + noise * (0.1 + abs(math.log2(sigma / 20))), {
            "seconds": 0.0, "cpu_seconds": 0.0, "cached": False}

    _out, meta = bench.run_oracle(case, fake)
    assert meta["sigma"] == pytest.approx(bench.oracle_sigma(17))  # 2^(17/4) = 19.03
    assert len(calls) == len(set(calls)) <= 9


def test_report_renders_the_section_with_margins(run, tmp_path):
    report = _load("report")
    results = tmp_path / "results"
    results.mkdir()
    (results / "camera_noise.json").write_text(json.dumps(run["first"]))
    report.main(["--results", str(results), "--out", str(tmp_path)])
    page = (tmp_path / "RESULTS.md").read_text()
    assert "## Camera noise" in page and "camera_noise.png" in page
    assert "| ISO 3200, JPEG 90 |" in page
    assert "apbsn - plain" in page and "`default` ran" in page


def test_a_learned_method_without_its_model_is_refused(bench, capsys):
    with pytest.raises(SystemExit) as exc:
        bench.parse_args(["--methods", "apbsn"])
    assert exc.value.code == 2 and "--camera-model" in capsys.readouterr().err
