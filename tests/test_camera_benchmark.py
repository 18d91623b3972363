"""benchmarks/camera_noise.py on tiny settings: every method x condition, the cache, the
oracle's search, issue 19's done-when, and the RESULTS.md section. Nothing here asserts a
time."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import load_benchmark

from edgerestore.runtime.image_io import write_image
from edgerestore.runtime.samples import load_sample

pytest.importorskip("bm3d")
pytest.importorskip("colour_demosaicing")


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("camera_noise")


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


@pytest.fixture(scope="module")
def tiny_camera(tmp_path_factory) -> Path:
    """A tiny blind-patch net with a *measured* noise level (the ``camera`` method)."""
    torch = pytest.importorskip("torch")
    from edgerestore.models.blindspot import DilatedBlindSpotNet
    from edgerestore.models.blindspot_denoiser import BlindSpotDenoiser
    from edgerestore.models.weights_io import save_weights

    torch.manual_seed(1)
    model = BlindSpotDenoiser(DilatedBlindSpotNet(3, 9, width=8, depth=2, branch_width=4,
                                                  mix_widths=(8,), hole=1), 3, "gauss",
                              "measured")
    path = tmp_path_factory.mktemp("camera") / "tiny_camera.safetensors"
    save_weights(model, model.config(), path, {"name": "tiny_camera"})
    return path


def blur_cbm3d(_threads: int):
    """A cheap stand-in for CBM3D (a real call costs a second even on a 48x48 crop): a
    Gaussian blur whose width grows with sigma, so PSNR against sigma has one peak."""
    from scipy.ndimage import gaussian_filter

    def run(noisy: np.ndarray, sigma: float) -> np.ndarray:
        return gaussian_filter(noisy, (sigma / 12.0, sigma / 12.0, 0)).astype(np.float32)

    return run


@pytest.fixture(scope="module")
def run(bench, tiny_plain, tiny_camera, tmp_path_factory):
    """Two 48x48 crops, ISO 800 and 3200 x {no JPEG, JPEG 90}, all seven methods (CBM3D
    stood in by a blur; the packaged sigma-25 model stands in for AP-BSN), then the same
    command again (from the cache)."""
    root = tmp_path_factory.mktemp("camera_bench")
    data = root / "data" / "imgs"
    data.mkdir(parents=True)
    write_image(data / "a.png", load_sample("astronaut")[::4, ::4])
    write_image(data / "b.png", load_sample("coffee")[::4, ::4])
    write_image(data / "c.png", load_sample("chelsea")[::4, ::4])  # not used: --count 2
    argv = ["--data-root", str(root / "data"), "--images", "imgs", "--count", "2",
            "--crop", "48", "--iso", "800", "3200", "--jpeg", "none", "90",
            "--plain-model", str(tiny_plain), "--apbsn-model", "blindspot_gauss25_rgb",
            "--camera-model", str(tiny_camera),
            "--cache", str(root / "cache"), "--out", str(root / "camera_noise.json"),
            "--figure", str(root / "camera_noise.png")]
    patch = pytest.MonkeyPatch()
    patch.setattr(bench, "cbm3d_runner", blur_cbm3d)
    try:
        first = bench.main(argv)
        second = bench.main(argv)
    finally:
        patch.undo()
    return {"first": first, "second": second, "root": root, "argv": argv, "data": data}


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
        assert record["methods"]["sigma25_measured"]["model"].startswith(
            "blindspot_gauss25_rgb_")
        assert record["methods"]["sigma25_measured"]["sigma"] == pytest.approx(
            record["measured_sigma"], abs=1e-3)
        # camera noise is correlated: the sub-image estimate reads more than the plain MAD
        assert record["measured_sigma"] > record["mad_sigma"]
    rows = result["summary"]
    assert [(r["iso"], r["jpeg"]) for r in rows] == [(800, None), (800, 90), (3200, None),
                                                     (3200, 90)]
    for row in rows:
        assert row["images"] == 2 and sum(row["default_models"].values()) == 2
        assert set(row["camera_margin"]) == set(bench.METHODS) - {"camera"}
        for method, margin in row["camera_margin"].items():
            assert margin == pytest.approx(
                row["methods"]["camera"]["psnr"] - row["methods"][method]["psnr"])
        assert row["done_when"] == bench.done_when(row["camera_margin"])
        assert set(row["done_when"]) == {"plain_2db", "sigma25_1p5db", "cbm3d_oracle"}
    # more noise at ISO 3200 than at ISO 800, on the same crops
    assert rows[2]["noisy_psnr"] < rows[0]["noisy_psnr"]
    assert rows[2]["mad_sigma"] > rows[0]["mad_sigma"]
    assert (run["root"] / "camera_noise.png").read_bytes()[:4] == b"\x89PNG"


def test_new_methods_run_the_model_at_the_measured_level(run, bench):
    """``sigma25_measured`` is the packaged sigma-25 model at the sub-image sigma and
    ``camera`` the given model with no sigma (it measures its own): recomputed here on one
    case, both give the benchmark's values, and neither equals the plain-MAD ``default``."""
    import edgerestore
    from edgerestore.models.torch_denoisers import TorchDenoiser
    from edgerestore.models.weights_io import load_weights
    from edgerestore.runtime.image_io import read_image
    from edgerestore.runtime.metrics import psnr, quantize8
    from edgerestore.runtime.sigma_estimate import estimate_sigma

    record = next(r for r in run["first"]["per_image"]
                  if (r["image"], r["iso"], r["jpeg"]) == ("b.png", 3200, 90))
    clean = bench.centre_crop(read_image(run["data"] / "b.png")[0][:, :, :3], 48)
    noisy = read_image(run["root"] / "cache" / "noisy" / "b_crop48_seed0_iso3200_jpeg90.png")[0]
    sigma = estimate_sigma(noisy, 2) * 255
    assert sigma == pytest.approx(record["measured_sigma"], abs=1e-3)
    shipped = edgerestore.denoise(noisy, sigma, "blindspot_gauss25_rgb")
    assert psnr(clean, quantize8(shipped)) == pytest.approx(
        record["methods"]["sigma25_measured"]["psnr"], abs=1e-6)
    path = str(run["argv"][run["argv"].index("--camera-model") + 1])
    net, config = load_weights(path)
    camera = TorchDenoiser(net, config, "cpu", path)(noisy, None)
    assert psnr(clean, quantize8(camera)) == pytest.approx(
        record["methods"]["camera"]["psnr"], abs=1e-6)
    assert record["methods"]["sigma25_measured"]["psnr"] != record["methods"]["default"]["psnr"]


def _record(image: str, iso: int, psnrs: dict[str, float]) -> dict:
    """A per-image record as ``evaluate`` writes it, with the given PSNR per method."""
    methods = {m: {"psnr": v, "ssim": 0.5, "cpu_seconds": 1.0} for m, v in psnrs.items()}
    if "default" in methods:
        methods["default"]["model"] = "blindspot_gauss25_rgb_fp32.onnx"
    if "cbm3d_oracle" in methods:
        methods["cbm3d_oracle"]["sigma"] = 20.0
    return {"image": image, "iso": iso, "jpeg": None, "mad_sigma": 8.0, "measured_sigma": 15.0,
            "noisy": {"psnr": 24.0, "ssim": 0.4}, "methods": methods}


def test_done_when_needs_every_margin_at_every_condition(bench):
    """Margins are taken on the per-condition means; 2 dB over plain and 1.5 dB over the
    default are inclusive, CBM3D oracle must be beaten outright."""
    conditions = [bench.Condition(800, None), bench.Condition(3200, None)]
    records = [
        # ISO 800: means camera 30, plain 28 (+2.0), default 28.5 (+1.5), oracle 29.9 (+0.1)
        _record("a", 800, {"default": 28.0, "plain": 27.0, "camera": 29.5,
                           "cbm3d_oracle": 29.8}),
        _record("b", 800, {"default": 29.0, "plain": 29.0, "camera": 30.5,
                           "cbm3d_oracle": 30.0}),
        # ISO 3200: plain +1.99, default +1.49, oracle tied
        _record("a", 3200, {"default": 26.51, "plain": 26.01, "camera": 28.0,
                            "cbm3d_oracle": 28.0}),
    ]
    methods = ["default", "plain", "camera", "cbm3d_oracle"]
    rows = bench.summarise(records, conditions, methods)
    assert rows[0]["camera_margin"] == pytest.approx(
        {"default": 1.5, "plain": 2.0, "cbm3d_oracle": 0.1})
    assert rows[0]["done_when"] == {"plain_2db": True, "sigma25_1p5db": True,
                                    "cbm3d_oracle": True}
    assert rows[1]["done_when"] == {"plain_2db": False, "sigma25_1p5db": False,
                                    "cbm3d_oracle": False}
    # a method that did not run is no test at all; without camera there is nothing to test
    row = bench.summarise(records, conditions, ["default", "camera"])[0]
    assert row["done_when"] == {"sigma25_1p5db": True}
    assert "done_when" not in bench.summarise(records, conditions, ["default", "plain"])[0]
    assert bench.done_when({"plain": 5.0, "default": 3.0, "cbm3d_oracle": -0.2}) == {
        "plain_2db": True, "sigma25_1p5db": True, "cbm3d_oracle": False}


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
    case = bench.Case("x", 0, bench.Condition(800, None), clean, clean, "h", 5.0, 9.0)
    calls = []

    def fake(_tag, sigma):
        calls.append(sigma)
        return clean + noise * (0.1 + abs(math.log2(sigma / 20))), {
            "seconds": 0.0, "cpu_seconds": 0.0, "cached": False}

    _out, meta = bench.run_oracle(case, fake)
    assert meta["sigma"] == pytest.approx(bench.oracle_sigma(17))  # 2^(17/4) = 19.03
    assert len(calls) == len(set(calls)) <= 9


def test_report_renders_the_section_with_margins(run, tmp_path):
    report = load_benchmark("report")
    results = tmp_path / "results"
    results.mkdir()
    (results / "camera_noise.json").write_text(json.dumps(run["first"]))
    report.main(["--results", str(results), "--out", str(tmp_path)])
    page = (tmp_path / "RESULTS.md").read_text()
    assert "## Camera noise" in page and "camera_noise.png" in page
    assert "| ISO 3200, JPEG 90 |" in page
    assert "camera - plain" in page and "camera - sigma25_measured" in page
    assert "`default` ran" in page and "sub-image sigma" in page
    done = next(line for line in page.splitlines() if line.startswith("Done when"))
    flags = [(r["label"], r["done_when"]) for r in run["first"]["summary"]]
    for label, tests in flags:
        assert (f"{label}: plain_2db {'yes' if tests['plain_2db'] else 'no'}, "
                f"sigma25_1p5db {'yes' if tests['sigma25_1p5db'] else 'no'}, "
                f"cbm3d_oracle {'yes' if tests['cbm3d_oracle'] else 'no'}") in done
    met = all(all(tests.values()) for _label, tests in flags)
    assert done.endswith(f"Met everywhere: {'yes' if met else 'no'}.")


def test_report_renders_a_run_without_the_learned_methods(run, tmp_path):
    """A CBM3D-only partial run (as the split CBM3D commands write): no margins, no
    done-when, no error."""
    report = load_benchmark("report")
    cam = json.loads(json.dumps(run["first"]))
    kept = ["cbm3d_mad", "cbm3d_oracle"]
    cam["settings"]["methods"] = kept
    for entry in cam["per_image"] + cam["summary"]:
        entry["methods"] = {m: entry["methods"][m] for m in kept}
    for row in cam["summary"]:
        for key in ("camera_margin", "done_when", "default_models"):
            del row[key]
    results = tmp_path / "results"
    results.mkdir()
    (results / "camera_noise.json").write_text(json.dumps(cam))
    report.main(["--results", str(results), "--out", str(tmp_path)])
    page = (tmp_path / "RESULTS.md").read_text()
    assert "| ISO 800, no JPEG |" in page and "cbm3d_oracle" in page
    assert "camera -" not in page and "Done when" not in page and "`default` ran" not in page


@pytest.mark.parametrize(("method", "flag"), [("apbsn", "--apbsn-model"),
                                              ("camera", "--camera-model"),
                                              ("plain", "--plain-model")])
def test_a_learned_method_without_its_model_is_refused(bench, capsys, method, flag):
    with pytest.raises(SystemExit) as exc:
        bench.parse_args(["--methods", method])
    assert exc.value.code == 2 and flag in capsys.readouterr().err
