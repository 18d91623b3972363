"""One test per defect of the fault-injection run (issue 17), each named by its item.

Every test here failed on the code before the fix. The commands run in-process through
:func:`edgerestore.cli.main`; tiny ONNX graphs with their cards (``make_onnx_denoiser``
in conftest) stand in for exported models, so nothing needs torch or training.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import cli, make_onnx_denoiser

from edgerestore.errors import InputError, ModelFileError
from edgerestore.runtime.image_io import read_image, write_image

pytest.importorskip("onnx")


def one_line_error(err: str) -> bool:
    lines = [line for line in err.splitlines() if line.strip()]
    return len(lines) == 1 and "error" in lines[0] and "Traceback" not in err


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "in.png"
    rng = np.random.default_rng(0)
    write_image(path, np.clip(0.5 + 0.1 * rng.standard_normal((24, 24, 3)), 0, 1))
    return path


@pytest.fixture
def prior(tmp_path: Path) -> Path:
    return make_onnx_denoiser(tmp_path / "prior.onnx")


# --- item 4: no command writes over a file it reads ------------------------------------

def test_item4_inpaint_never_writes_over_its_mask(capsys, tmp_path, photo, prior):
    mask = tmp_path / "mask.png"
    write_image(mask, np.ones((24, 24, 1), np.float32))
    before = mask.read_bytes()
    code, err = cli(capsys, "inpaint", photo, "-o", mask, "--mask", mask, "--denoiser", prior,
                    "--iters", "1")
    assert code == 2 and one_line_error(err) and "mask.png" in err
    assert mask.read_bytes() == before


def test_item4_deblur_never_writes_over_its_kernel(capsys, tmp_path, photo, prior):
    kernel = tmp_path / "k.png"
    write_image(kernel, np.full((3, 3, 1), 0.5, np.float32))
    before = kernel.read_bytes()
    code, err = cli(capsys, "deblur", photo, "-o", kernel, "--kernel", kernel, "--denoiser",
                    prior, "--sigma", "1", "--iters", "1")
    assert code == 2 and one_line_error(err)
    assert kernel.read_bytes() == before


# --- item 5: a noise-free image is denoised, not refused ------------------------------

def test_item5_denoise_without_sigma_accepts_a_flat_image(capsys, tmp_path):
    model = make_onnx_denoiser(tmp_path / "bs.onnx", task="denoise_posterior")
    flat = tmp_path / "flat.png"
    write_image(flat, np.full((32, 32, 3), 0.5, np.float32))
    code, err = cli(capsys, "denoise", flat, "-o", tmp_path / "out.png", "--model", model)
    assert code == 0, err
    assert "noise-free" in err
    np.testing.assert_allclose(read_image(tmp_path / "out.png")[0], 0.5, atol=1 / 255)


# --- item 6: path and OS errors exit 2, before the work --------------------------------

def test_item6_output_whose_parent_is_a_file(capsys, tmp_path, photo):
    code, err = cli(capsys, "add-noise", photo, "-o", photo / "x.png")
    assert code == 2 and one_line_error(err)


def test_item6_a_250_character_output_name_is_legal(capsys, tmp_path, photo):
    out = tmp_path / ("n" * 246 + ".png")
    code, err = cli(capsys, "add-noise", photo, "-o", out)
    assert code == 0, err
    assert out.is_file() and [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_item6_samples_into_an_existing_file(capsys, tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("keep")
    code, err = cli(capsys, "samples", "-o", target, "--names", "camera")
    assert code == 2 and one_line_error(err)
    assert target.read_text() == "keep"


def test_item6_unreadable_input_is_a_user_error(capsys, monkeypatch, photo, tmp_path):
    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    code, err = cli(capsys, "add-noise", photo, "-o", tmp_path / "o.png")
    assert code == 2 and one_line_error(err) and "Permission denied" in err


def test_item6_os_errors_inside_a_command_exit_2(capsys, monkeypatch, photo, tmp_path):
    import edgerestore.runtime.image_io as image_io

    def full(*_args, **_kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / "o.png"))

    monkeypatch.setattr(image_io, "write_image", full)
    code, err = cli(capsys, "add-noise", photo, "-o", tmp_path / "o.png")
    assert code == 2 and one_line_error(err) and "No space left" in err


def test_item6_read_only_output_folder_fails_before_inference(capsys, read_only_dir, photo,
                                                               tmp_path, monkeypatch):
    import edgerestore.runtime.exported_denoiser as exported

    model = make_onnx_denoiser(tmp_path / "m.onnx")
    monkeypatch.setattr(exported.ExportedDenoiser, "denoise",
                        lambda *a, **k: pytest.fail("inference ran before the output check"))
    code, err = cli(capsys, "denoise", photo, "-o", read_only_dir / "o.png", "--model", model)
    assert code == 2 and one_line_error(err) and "Read-only" in err


# --- item 7: malformed cards and API arguments --------------------------------------

@pytest.mark.parametrize("change", [
    {"channels": "abc"}, {"tile": "ab"}, {"layout": "HWC"}, {"channels": 0},
    {"receptive_field": 1.5}, {"noise": [1]}, {"inputs": "image"},
    {"noise": {"model": "gauss", "sigma_estimate_stride": 0}},
    {"noise": {"model": "gauss", "sigma_estimate_stride": 2.5}},
])
def test_item7_card_fields_of_the_wrong_type_are_model_file_errors(tmp_path, change):
    from edgerestore.runtime.exported_denoiser import ExportedDenoiser

    model = make_onnx_denoiser(tmp_path / "m.onnx", card=change)
    with pytest.raises(ModelFileError, match=next(iter(change))):
        ExportedDenoiser(model)


@pytest.mark.parametrize("text", ["[1, 2]", "not json {", '"task"'])
def test_item7_a_sidecar_that_is_not_a_card(tmp_path, text):
    from edgerestore.runtime.backends import open_session
    from edgerestore.runtime.model_metadata import sidecar_path

    model = tmp_path / "m.tflite"
    model.write_bytes(b"\0\0\0\0TFL3" + bytes(range(256)) * 4)
    sidecar_path(model).write_text(text)
    with pytest.raises(ModelFileError):
        open_session(model)


def test_item7_corrupt_mat_kernel_is_an_input_error(tmp_path):
    pytest.importorskip("scipy")
    from scipy.io import savemat

    from edgerestore.runtime.kernels import load_kernel

    savemat(tmp_path / "k.mat", {"kernels": np.ones((3, 3))}, do_compression=True)
    data = bytearray((tmp_path / "k.mat").read_bytes())
    data[140:] = bytes(len(data) - 140)  # zero the compressed body after its tag
    (tmp_path / "bad.mat").write_bytes(bytes(data))
    with pytest.raises(InputError):
        load_kernel(tmp_path / "bad.mat")


@pytest.mark.parametrize("sigma", ["25", np.array([25.0, 30.0]), True, float("nan")])
def test_item7_api_sigma_of_the_wrong_type(tmp_path, sigma):
    from edgerestore.runtime.exported_denoiser import ExportedDenoiser

    den = ExportedDenoiser(make_onnx_denoiser(tmp_path / "bs.onnx", task="denoise_posterior"))
    with pytest.raises(InputError, match="sigma"):
        den.denoise(np.full((16, 16, 3), 0.5, np.float32), sigma)


def test_item7_api_threads_must_be_whole(tmp_path):
    from edgerestore.runtime.backends import SessionOptions

    for bad in (2.5, "2", True, 0):
        with pytest.raises(InputError, match="threads"):
            SessionOptions(threads=bad)


# --- item 8: the output of a graph is checked against its card ------------------------

@pytest.mark.parametrize("output", ["one_channel", "half"])
def test_item8_output_that_does_not_match_the_card(tmp_path, output):
    from edgerestore.runtime.exported_denoiser import ExportedDenoiser

    den = ExportedDenoiser(make_onnx_denoiser(tmp_path / "m.onnx", output=output), max_tile=64)
    with pytest.raises(ModelFileError, match="card promises"):
        den.denoise(np.full((100, 90, 3), 0.5, np.float32))


# --- item 9: option ranges are checked by argparse -----------------------------------

@pytest.mark.parametrize("argv", [
    ["add-noise", "{img}", "-o", "{out}", "--seed", "-1"],
    ["add-noise", "{img}", "-o", "{out}", "--noise", "poisson:" + "9" * 26],
    ["add-noise", "{img}", "-o", "{out}", "--noise", "gauss:" + "9" * 26],
    ["denoise", "{img}", "-o", "{out}", "--model", "{model}", "--threads", "-1"],
    ["denoise", "{img}", "-o", "{out}", "--model", "{model}", "--threads", "2.5"],
    ["deblur", "{img}", "-o", "{out}", "--kernel", "k.npy", "--denoiser", "{model}",
     "--iters", "0"],
])
def test_item9_out_of_range_options_are_one_line_usage_errors(capsys, tmp_path, photo, argv):
    model = make_onnx_denoiser(tmp_path / "m.onnx")
    values = {"img": photo, "out": tmp_path / "o.png", "model": model}
    code, err = cli(capsys, *(a.format(**values) for a in argv))
    assert code == 2 and one_line_error(err)
    assert not (tmp_path / "o.png").exists()


# --- item 10: sigma and pixel range are bounded ---------------------------------------

def test_item10_huge_sigma_is_refused_before_the_work(capsys, tmp_path, photo):
    model = make_onnx_denoiser(tmp_path / "bs.onnx", task="denoise_posterior")
    code, err = cli(capsys, "denoise", photo, "-o", tmp_path / "o.png", "--model", model,
                    "--sigma", "1e30")
    assert code == 2 and one_line_error(err) and "image contains NaN" not in err


def test_item10_api_refuses_huge_sigma_and_0_255_images(tmp_path):
    from edgerestore.runtime.exported_denoiser import ExportedDenoiser

    den = ExportedDenoiser(make_onnx_denoiser(tmp_path / "bs.onnx", task="denoise_posterior"))
    image = np.full((16, 16, 3), 0.5, np.float32)
    with pytest.raises(InputError, match="sigma"):
        den.denoise(image, 1e30)
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        den.denoise(image * 255, 25 / 255)
    assert np.all(np.isfinite(den.denoise(image + 0.3, 25 / 255)))  # unclipped noise is fine


# --- item 11: temporary files ---------------------------------------------------------

def test_item11_a_stale_temporary_of_a_dead_writer_is_removed(tmp_path, rgb):
    out = tmp_path / "o.png"
    stale = tmp_path / f".o.png.{2**22 + 12345}.abcd_123.tmp"  # beyond any pid_max
    stale.write_bytes(b"half")
    write_image(out, rgb)
    assert out.is_file() and not stale.exists()


def test_item11_two_writers_get_different_temporary_names(tmp_path):
    from edgerestore.runtime.atomic import atomic_write

    seen = []

    def inner(tmp: str) -> None:
        seen.append(tmp)
        if len(seen) == 1:
            atomic_write(tmp_path / "o.bin", lambda t: (seen.append(t), Path(t).write_text("2")))
        Path(tmp).write_text("1")

    atomic_write(tmp_path / "o.bin", inner)
    assert len(set(seen)) == 2 and (tmp_path / "o.bin").read_text() == "1"
    assert [p.name for p in tmp_path.iterdir()] == ["o.bin"]


# --- item 12: the small ones ------------------------------------------------------------

def test_item12_generate_points_to_commands_that_exist(tmp_path):
    from edgerestore.runtime.generate import ExportedGenerator

    with pytest.raises(ModelFileError) as exc:
        ExportedGenerator(make_onnx_denoiser(tmp_path / "m.onnx"))
    assert "edgerestore restore" not in str(exc.value)
    assert "edgerestore denoise" in str(exc.value)


def test_item12_huge_kernel_entries_are_normalised_silently():
    from edgerestore.runtime.kernels import validate_kernel

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        k = validate_kernel(np.full((3, 3), 1e308))
    np.testing.assert_allclose(k, 1 / 9)


def test_item12_pixel_budget_message_counts_pixels(tmp_path):
    from PIL import Image

    from edgerestore.errors import ImageError

    Image.new("L", (101, 100)).save(tmp_path / "b.png")
    with pytest.raises(ImageError, match=r"10,100 pixels exceeds the limit of 10,000 pixels"):
        read_image(tmp_path / "b.png", max_pixels=10_000)


def test_item12_a_channels_0_card_is_not_called_a_colour_model(tmp_path, capsys, photo):
    model = make_onnx_denoiser(tmp_path / "m.onnx", card={"channels": 0})
    code, err = cli(capsys, "denoise", photo, "-o", tmp_path / "o.png", "--model", model)
    assert code == 2 and "colour model" not in err and "channels" in err


def test_item12_usage_errors_are_one_line(capsys):
    code, err = cli(capsys, "add-noise")
    assert code == 2 and one_line_error(err) and "--help" in err


def test_item12_errors_do_not_land_on_a_progress_bar_line():
    pytest.importorskip("tqdm")
    script = (
        "import sys, tqdm\n"
        "from edgerestore.console import log, setup_logging\n"
        "setup_logging()\n"
        "bar = tqdm.tqdm(range(10), file=sys.stderr, desc='train', ascii=True)\n"
        "it = iter(bar); next(it); bar.refresh()\n"
        "log.error('error: boom')\n"
        "bar.close()\n")
    err = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True).stderr
    assert "error: boom" in err
    assert all(line.strip() == "error: boom" for line in err.replace("\r", "\n").splitlines()
               if "boom" in line)


def test_item7_a_card_that_is_a_json_list(tmp_path):
    from edgerestore.runtime.model_card import parse_card_text

    with pytest.raises(ModelFileError, match="JSON list"):
        parse_card_text(json.dumps([1, 2]), "x.onnx")


def test_item7_a_card_whose_channels_contradict_the_graph(tmp_path, capsys, photo):
    model = make_onnx_denoiser(tmp_path / "m.onnx", card={"channels": 1})
    grey = tmp_path / "grey.png"
    write_image(grey, np.full((16, 16, 1), 0.5, np.float32))
    code, err = cli(capsys, "denoise", grey, "-o", tmp_path / "o.png", "--model", model)
    assert code == 2 and one_line_error(err) and "refused its input" in err
