"""Export stage: graphs, ONNX/TFLite round trips, metadata, errors and the CLI.

Tiny random-weight models keep every conversion to a few seconds; litert-torch
conversions run in worker processes (~10 s per file), so the CLI test carries the
TFLite round trips (fp32, fp16, int8) and the extra raw-graph one is marked slow.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
pytest.importorskip("onnxslim")

from edgerestore.cli import main  # noqa: E402
from edgerestore.export.graph import GaussianPosterior, build_graph  # noqa: E402
from edgerestore.models import gaussian_head  # noqa: E402
from edgerestore.models.blindspot import DilatedBlindSpotNet  # noqa: E402
from edgerestore.models.blindspot_denoiser import BlindSpotDenoiser  # noqa: E402
from edgerestore.models.weights_io import save_weights  # noqa: E402
from edgerestore.runtime.model_metadata import read_metadata, sidecar_path  # noqa: E402


def _blindspot() -> BlindSpotDenoiser:
    torch.manual_seed(0)
    net = DilatedBlindSpotNet(3, 9, width=8, depth=2, branch_width=4, mix_widths=(8,))
    return BlindSpotDenoiser(net, 3).eval()


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("w") / "tiny_bs.safetensors"
    model = _blindspot()
    save_weights(model, model.config(), path, card={"name": "tiny_bs", "noise": "gauss:25",
                                                    "sigma": 25.0})
    return path


@pytest.mark.parametrize("channels", [1, 3])
def test_float32_posterior_matches_float64_cholesky_head(channels):
    """The exported adjugate step equals the training head's float64 solve."""
    gen = torch.Generator().manual_seed(0)
    k = 2 if channels == 1 else 9
    raw = torch.cat([torch.rand(4, channels, 16, 16, generator=gen),  # means in [0, 1]
                     0.04 * torch.randn(4, k - channels, 16, 16, generator=gen)], 1)
    clean = torch.rand(4, channels, 16, 16, generator=gen)
    sigma = torch.tensor([5.0, 15.0, 25.0, 50.0]) / 255
    noisy = clean + sigma.view(-1, 1, 1, 1) * torch.randn(clean.shape, generator=gen)
    head = GaussianPosterior(channels, "gauss")
    for i in range(4):  # the graph takes one level per call
        ours = head(raw[i : i + 1], noisy[i : i + 1], sigma[i : i + 1])
        ref = gaussian_head.posterior_mean(raw[i : i + 1], noisy[i : i + 1],
                                           sigma[i : i + 1] ** 2, "gauss")
        assert (ours - ref).abs().max() < 1e-5


def test_poisson_posterior_matches_head():
    gen = torch.Generator().manual_seed(1)
    raw = torch.cat([torch.rand(1, 3, 8, 8, generator=gen),
                     0.04 * torch.randn(1, 6, 8, 8, generator=gen)], 1)
    noisy = torch.rand(1, 3, 8, 8, generator=gen)
    lam = torch.tensor([30.0])
    ours = GaussianPosterior(3, "poisson")(raw, noisy, lam)
    ref = gaussian_head.posterior_mean(raw, noisy, lam, "poisson")
    assert (ours - ref).abs().max() < 1e-5


def _run_onnx(path: Path, feeds: dict) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0]


@pytest.mark.parametrize("raw", [False, True])
def test_onnx_fp32_matches_torch_at_two_sizes(tmp_path, raw):
    from edgerestore.export import onnx_export

    model = _blindspot()
    spec = build_graph(model, model.config(), raw=raw)
    path = tmp_path / "m.onnx"
    onnx_export.save(onnx_export.export_fp32(spec, 25 / 255), path)
    for height, width in [(32, 48), (57, 40)]:
        inputs = spec.example_inputs(height, width, 15 / 255)
        with torch.no_grad():
            ref = spec.module(*inputs).numpy()
        out = _run_onnx(path, {n: t.numpy() for n, t in zip(spec.input_names, inputs,
                                                             strict=True)})
        assert out.shape == ref.shape
        np.testing.assert_allclose(out, ref, atol=2e-5)


def test_nhwc_graph_is_channel_last():
    model = _blindspot()
    spec = build_graph(model, model.config(), nhwc=True)
    inputs = spec.example_inputs(24, 32, 25 / 255)
    assert inputs[0].shape == (1, 24, 32, 3)
    nchw = build_graph(model, model.config())
    with torch.no_grad():
        out = spec.module(*inputs)
        ref = nchw.module(inputs[0].permute(0, 3, 1, 2), inputs[1])
    torch.testing.assert_close(out, ref.permute(0, 2, 3, 1))


def test_cli_exports_all_formats_and_precisions(weights, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["-q", "export", "--model", str(weights), "--format", "all", "--precision",
                 "all", "--tile", "32", "--calib-count", "4", "--out", str(out)])
    assert code == 0
    expected = {f"tiny_bs_{p}.onnx" for p in ("fp32", "fp16", "int8")} | \
        {f"tiny_bs_{p}_32x32.tflite" for p in ("fp32", "fp16", "int8")}
    assert expected <= {p.name for p in out.iterdir()}
    assert all(sidecar_path(out / name).is_file() for name in expected)
    report = json.loads((out / "report.json").read_text())
    files = {f["file"]: f for f in report["files"]}
    assert set(files) == expected
    for name, entry in files.items():
        p = entry["parity"]["samples"]
        assert np.isfinite(p["denoise_psnr"]) and entry["size_bytes"] > 0
        if "fp32" in name:
            assert p["psnr_vs_torch"] > 60
        elif "fp16" in name:
            assert p["psnr_vs_torch"] > 45
        else:  # int8 on random weights: sane, close to the float result
            assert p["max_abs_diff"] < 0.5 and abs(p["denoise_psnr_delta"]) < 1.0
    assert files["tiny_bs_int8_32x32.tflite"]["quantization"]["tool"].startswith("litert_torch")
    assert files["tiny_bs_fp32_32x32.tflite"]["ops"]["gpu_ready"]
    assert "report.json" in capsys.readouterr().out

    meta = read_metadata(out / "tiny_bs_int8.onnx")
    assert meta["task"] == "denoise_posterior" and meta["precision"] == "int8"
    assert meta["inputs"] == ["noisy", "sigma"] and meta["layout"] == "NCHW"
    assert meta["dynamic_shape"] and meta["opset"] == 17
    assert meta["noise"]["training_sigma"] == 25.0 and meta["noise"]["model"] == "gauss"
    assert meta["value_range"] == [0.0, 1.0] and meta["channels"] == 3
    assert len(meta["source"]["weights_sha256"]) == 64 and meta["source"]["training_card_sha256"]
    assert {"torch", "onnx", "onnxruntime"} <= set(meta["tools"])

    tfl = out / "tiny_bs_fp32_32x32.tflite"
    meta = read_metadata(tfl)  # embedded in the flatbuffer
    assert meta["tile"] == [32, 32] and meta["format"] == "tflite" and meta["opset"] is None
    assert {"litert-torch", "ai-edge-litert"} <= set(meta["tools"])
    assert json.loads(sidecar_path(tfl).read_text()) == meta


@pytest.mark.slow
def test_tflite_raw_graph_matches_torch_on_a_non_square_tile(weights, tmp_path):
    """The raw graph through its own worker conversion (the CLI test covers posterior)."""
    pytest.importorskip("litert_torch")
    from ai_edge_litert.interpreter import Interpreter

    from edgerestore.export import tflite_export
    from edgerestore.models.weights_io import load_weights

    model, config = load_weights(weights)
    spec = build_graph(model, config, raw=True)
    path = tmp_path / "raw.tflite"
    tflite_export.convert(weights, path, tile=(32, 40), level=25 / 255, raw=True, nhwc=False,
                          precision="fp32")
    runner = Interpreter(model_path=str(path)).get_signature_runner()
    inputs = spec.example_inputs(32, 40, 25 / 255)
    with torch.no_grad():
        ref = spec.module(*inputs).numpy()
    out = runner(noisy=inputs[0].numpy())["raw"]
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_dncnn_exports_with_map_task(tiny_dncnn, tmp_path):
    out = tmp_path / "out"
    assert main(["-q", "export", "--model", str(tiny_dncnn), "--format", "onnx",
                 "--precision", "int8", "a16w8", "--tile", "32", "--calib-count", "8",
                 "--nhwc", "--out", str(out)]) == 0
    x = np.random.default_rng(0).random((1, 24, 40, 3), dtype=np.float32)
    for precision, opset in (("int8", 17), ("a16w8", 21)):
        path = out / f"tiny_dncnn_nhwc_{precision}.onnx"
        meta = read_metadata(path)
        assert meta["task"] == "map_denoiser" and meta["layout"] == "NHWC"
        assert meta["inputs"] == ["noisy"] and meta["noise"]["training_sigma"] == 11.0
        assert meta["receptive_field"] == 7 and meta["opset"] == opset
        assert _run_onnx(path, {"noisy": x}).shape == (1, 24, 40, 3)
    report = json.loads((out / "report.json").read_text())
    for entry in report["files"]:  # random weights, 8 calibration crops: sane, not exact
        assert entry["parity"]["samples"]["psnr_vs_torch"] > 20


def test_corrupt_and_mismatched_weights_exit_2(tmp_path, capsys):
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"not a safetensors file")
    mismatched = tmp_path / "mismatched.safetensors"
    model = _blindspot()
    config = model.config()
    config["backbone"]["width"] = 16  # the tensors say 8
    save_weights(model, config, mismatched)
    for path, words in ((corrupt, "not a valid safetensors"), (mismatched, "do not match")):
        assert main(["export", "--model", str(path), "--format", "onnx", "--precision",
                     "fp32", "--out", str(tmp_path / "o")]) == 2
        assert words in capsys.readouterr().err
    assert main(["export", "--model", str(tmp_path / "missing.safetensors"),
                 "--out", str(tmp_path / "o")]) == 2
    assert "no such weights file" in capsys.readouterr().err


def test_read_metadata_errors(tmp_path):
    from edgerestore.errors import ModelFileError

    with pytest.raises(ModelFileError, match="no such"):
        read_metadata(tmp_path / "none.onnx")
    bogus = tmp_path / "bogus.tflite"
    bogus.write_bytes(b"\0" * 64)
    with pytest.raises(ModelFileError):
        read_metadata(bogus)


def test_missing_export_dependency_names_the_extra(weights, tmp_path, capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnxslim" else real(name, *a))
    assert main(["export", "--model", str(weights), "--format", "onnx",
                 "--out", str(tmp_path)]) == 2
    assert "pip install 'edgerestore[export]'" in capsys.readouterr().err


def test_explicit_pairs_export_only_those_files(weights, tmp_path):
    from edgerestore.export.pipeline import ExportOptions, run_export

    report = run_export(ExportOptions(weights=weights, out=tmp_path, calib_count=2,
                                      pairs=(("onnx", "fp32"), ("onnx", "int8"))))
    assert [(f["format"], f["precision"]) for f in report["files"]] == [
        ("onnx", "fp32"), ("onnx", "int8")]


def test_shipped_export_skips_models_whose_files_match_their_weights(tmp_path):
    from edgerestore.errors import ModelFileError
    from edgerestore.export.metadata import file_sha256
    from edgerestore.export.shipped import FILES, export_shipped, is_current, weights_dir
    from edgerestore.runtime.packaged import MANIFEST

    files = [{"file": f"map_rgb_{p}.{f}", "format": f, "precision": p} for f, p in FILES]
    for f in files:
        (tmp_path / f["file"]).write_bytes(b"stand-in")
    entry = {"weights_sha256": file_sha256(weights_dir() / "map_rgb.safetensors"),
             "files": files}
    (tmp_path / MANIFEST).write_text(json.dumps({"models": {"map_rgb": entry}}))
    [outcome] = export_shipped(("map_rgb",), out=tmp_path)
    assert outcome.status == "up to date"
    assert not is_current("map_rgb", {**entry, "files": files[:2]}, tmp_path)  # ONNX only
    assert not is_current("map_rgb", {**entry, "weights_sha256": "0" * 64}, tmp_path)
    with pytest.raises(ModelFileError, match="not a packaged model"):
        export_shipped(("dde_digits_generator",), out=tmp_path)


def test_export_needs_out_with_model(weights, capsys):
    assert main(["export", "--model", str(weights)]) == 2
    assert "--out is required" in capsys.readouterr().err
