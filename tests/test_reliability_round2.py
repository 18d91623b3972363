"""One test per defect of the second reliability round (issue 29), each named by its item.

Every test here failed on the code before the fix. Commands run in-process through
:func:`edgerestore.cli.main`; the packaged exported models stand in where the defect
was seen with them, tiny ONNX graphs (``make_onnx_denoiser``) elsewhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import make_onnx_denoiser, save_tiny_dncnn

from edgerestore.cli import main
from edgerestore.errors import InputError
from edgerestore.runtime.image_io import write_image

pytest.importorskip("onnx")


def cli(capsys, *argv: str | Path) -> tuple[int, str]:
    """Exit code and stderr of one in-process command (usage errors included)."""
    try:
        code = main([*map(str, argv)])
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


def one_line_error(err: str) -> bool:
    lines = [line for line in err.splitlines() if line.strip()]
    return (len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in err
            and "internal error" not in err)


def binary_scene(channels: int = 3, side: int = 32) -> np.ndarray:
    """Random black-and-white pixels: deblurring them at a low noise level makes the
    solvers' iterates ring well outside [0, 1] (what the range check on the denoiser
    call refused)."""
    rng = np.random.default_rng(1)
    return (rng.random((side, side, channels)) > 0.5).astype(np.float32)


#: A 15-pixel diagonal motion blur.
MOTION = np.eye(15) / 15


@pytest.fixture
def blurred(tmp_path: Path) -> tuple[Path, Path]:
    """A blurred, slightly noisy colour photo and its motion kernel (.npy)."""
    from edgerestore.runtime.blur import blur_circular

    scene = blur_circular(binary_scene(), MOTION)
    noisy = scene + np.random.default_rng(0).normal(0, 0.002, scene.shape)
    image = tmp_path / "blurred.png"
    write_image(image, np.clip(noisy, 0, 1))
    np.save(tmp_path / "k.npy", MOTION)
    return image, tmp_path / "k.npy"


# --- item 1: exported priors deblur ordinary photos ------------------------------------

@pytest.mark.parametrize(("prior", "options"), [
    ("blindspot_eff_gauss25_rgb", ["--sigma", "2.55", "--backend", "litert"]),
    ("blindspot_eff_gauss25_rgb", ["--sigma", "2.55", "--backend", "onnxruntime",
                                   "--precision", "fp32"]),
    ("map_rgb", ["--sigma", "0", "--method", "hqs", "--backend", "onnxruntime",
                 "--precision", "fp32"]),
])
def test_item1_exported_priors_deblur_a_photo(capsys, tmp_path, blurred, prior, options):
    if "litert" in options:
        pytest.importorskip("ai_edge_litert")
    image, kernel = blurred
    code, err = cli(capsys, "deblur", image, "-o", tmp_path / "out.png", "--kernel", kernel,
                    "--denoiser", prior, "--iters", "6", *options)
    assert code == 0, err
    assert (tmp_path / "out.png").is_file()


def test_item1_the_solver_protocol_takes_iterates_outside_the_unit_range(tmp_path):
    from edgerestore.runtime.exported_denoiser import ExportedDenoiser

    den = ExportedDenoiser(make_onnx_denoiser(tmp_path / "grey.onnx", channels=1))
    iterate = np.linspace(-1.7, 2.9, 16 * 16, dtype=np.float32).reshape(16, 16, 1)
    np.testing.assert_allclose(den(iterate, 0.04), iterate, atol=1e-6)  # an identity graph
    with pytest.raises(InputError, match=r"\[0, 1\]"):  # a caller's image is still checked
        den.denoise(iterate * 255)


def test_item1_a_grey_exported_prior_used_per_channel(blurred):
    from edgerestore.runtime.exported_denoiser import ExportedDenoiser
    from edgerestore.runtime.image_io import read_image
    from edgerestore.runtime.packaged import resolve
    from edgerestore.runtime.pnp import deblur

    grey = ExportedDenoiser(resolve("map_gray", task="prior", channels=1,
                                    backend="onnxruntime", precision="fp32"))

    def per_channel(image: np.ndarray, sigma: float | None) -> np.ndarray:
        return np.concatenate([grey(image[:, :, c:c + 1], sigma)
                               for c in range(image.shape[2])], axis=2)

    image, _ = blurred
    result = deblur(read_image(image)[0], MOTION, per_channel, sigma_n=0.0, method="hqs",
                    iters=6, denoiser_sigma=grey.strength)
    assert result.x.shape == (32, 32, 3) and np.all(np.isfinite(result.x))


def test_item1_a_0_255_image_is_refused_where_it_enters_the_solver(tmp_path):
    from edgerestore.runtime.exported_denoiser import ExportedDenoiser
    from edgerestore.runtime.pnp import deblur

    den = ExportedDenoiser(make_onnx_denoiser(tmp_path / "prior.onnx"))
    with pytest.raises(InputError, match=r"observation values span .*\[0, 1\]"):
        deblur(binary_scene() * 255, np.full((3, 3), 1 / 9), den, sigma_n=0.01, iters=2)


# --- item 2: malformed weights metadata is a model-file error ---------------------------

def tiny_weights(path: Path, config: str | None = None, card: str | None = None) -> Path:
    """A tiny DnCNN ``.safetensors``; ``config`` replaces its embedded config text,
    ``card`` writes its card (``NAME.json``) as given."""
    pytest.importorskip("torch")
    from safetensors.torch import load_file, save_file

    from edgerestore.models.weights_io import CONFIG_KEY

    save_tiny_dncnn(path, card={"name": "tiny", "sigma": 11.0})
    if config is not None:
        save_file(load_file(str(path)), str(path), metadata={CONFIG_KEY: config})
    if card is not None:
        path.with_suffix(".json").write_text(card)
    return path


BAD_METADATA = {"config_not_json": {"config": "not json {"},
                "config_a_json_string": {"config": '"dncnn"'},
                "card_a_json_list": {"card": "[1, 2]"}}


@pytest.mark.parametrize("bad", sorted(BAD_METADATA))
@pytest.mark.parametrize("command", ["export", "macs", "deblur", "dmsp", "eval", "train"])
def test_item2_malformed_weights_metadata_exits_2(capsys, tmp_path, blurred, bad, command):
    weights = tiny_weights(tmp_path / "w.safetensors", **BAD_METADATA[bad])
    image, kernel = blurred
    kernels = tmp_path / "kernels.npz"
    np.savez(kernels, k=np.load(kernel))
    # train blindspot reads the config of --init-from, train map its card (its DAE).
    kind = "map" if bad.startswith("card") else "blindspot"
    argv = {
        "export": ["export", "--model", weights, "--out", tmp_path / "ex", "--format", "onnx",
                   "--precision", "fp32"],
        "macs": ["macs", "--model", weights, "--no-reference"],
        "deblur": ["deblur", image, "-o", tmp_path / "o.png", "--kernel", kernel,
                   "--denoiser", weights, "--iters", "1"],
        "dmsp": ["deblur", image, "-o", tmp_path / "o.png", "--kernel", kernel,
                 "--denoiser", weights, "--iters", "1", "--method", "dmsp"],
        "eval": ["eval", "deblur", "--denoiser", weights, "--images", image.parent,
                 "--kernels", kernels, "--methods", "admm", "--iters-admm", "1", "--limit", "1"],
        "train": ["train", kind, "--data", image.parent, "--out", tmp_path / "t.safetensors",
                  "--init-from", weights, "--steps", "1",
                  *(["--dae-out", tmp_path / "d.safetensors"] if kind == "map" else [])],
    }[command]
    code, err = cli(capsys, *argv)
    if command == "macs" and bad == "card_a_json_list":
        assert code == 0, err  # macs reads the weights alone, never the card
        return
    assert code == 2 and one_line_error(err), err
    assert "JSON" in err and "w." in err


# --- item 3: the checkpoint refusal in our own words -----------------------------------

class _Planted:
    """A pickle that would create a file when loaded unsafely."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("content", ["planted", "random"])
def test_item3_a_foreign_checkpoint_is_refused_in_our_words(tmp_path, recwarn, content):
    torch = pytest.importorskip("torch")
    from edgerestore.models.run_state import load_checkpoint

    ckpt = tmp_path / "checkpoint.pt"
    if content == "planted":
        torch.save({"settings": {}, "x": _Planted(tmp_path / "RAN")}, ckpt)
    else:
        ckpt.write_bytes(np.random.default_rng(0).bytes(300))
    with pytest.raises(InputError) as caught:
        load_checkpoint(ckpt, {}, "cpu")
    message = str(caught.value)
    assert "not one this version wrote" in message and "refused" in message
    for torch_advice in ("trust", "weights_only", "can still be loaded", "\x1b"):
        assert torch_advice not in message
    assert "\n" not in message and not (tmp_path / "RAN").exists()
    assert not [w for w in recwarn if "pickle protocol" in str(w.message)]


# --- item 4: options that would be ignored or break tiling are refused -------------------

def test_item4_denoise_with_a_map_prior_refuses_sigma(capsys, tmp_path, blurred):
    image, _ = blurred
    out = tmp_path / "out.png"
    code, err = cli(capsys, "denoise", image, "-o", out, "--model", "map_rgb", "--sigma", "25",
                    "--backend", "onnxruntime", "--precision", "fp32")
    assert code == 2 and one_line_error(err), err
    assert "--sigma" in err and "fixed strength" in err and not out.exists()
    code, err = cli(capsys, "denoise", image, "-o", out, "--model", "map_rgb",
                    "--backend", "onnxruntime", "--precision", "fp32")
    assert code == 0, err  # without --sigma the prior denoises as before


@pytest.mark.parametrize("blend", [-5, -1, 2.5, True, "16", 10**6, 512 - 2 * 1 - 1 + 1])
def test_item4_a_blend_outside_its_range_is_refused(tmp_path, blend):
    from edgerestore.runtime.exported_denoiser import ExportedDenoiser

    model = make_onnx_denoiser(tmp_path / "m.onnx")  # receptive field 3: halo 1
    with pytest.raises(InputError, match="blend"):
        ExportedDenoiser(model, max_tile=512, blend=blend)


def test_item4_blends_inside_the_range_tile_seamlessly(tmp_path):
    from edgerestore.runtime.exported_denoiser import ExportedDenoiser

    model = make_onnx_denoiser(tmp_path / "m.onnx")
    image = np.random.default_rng(0).random((80, 150, 3)).astype(np.float32)
    for blend in (0, 7, 64 - 2 * 1 - 1):  # the largest: tiles advance by one pixel
        den = ExportedDenoiser(model, max_tile=64, blend=blend)
        np.testing.assert_allclose(den.denoise(image), image, atol=1e-4)
    assert ExportedDenoiser(model).blend == 16  # the default where the tile has room


# --- item 5: temporaries of killed writers go at the next write to the folder ------------

def test_item5_stale_temporaries_of_any_name_are_removed(tmp_path):
    dead = 2**22 + 12345  # beyond any pid_max: no such process
    stale = [tmp_path / f".{name}.{dead}.abcd_123.tmp"
             for name in ("a.png", "photo 2.jpg", "x.tmp", "b.png.1.zzzz_zzz.tmp")]
    stale.append(tmp_path / f".c.png.{10**30}.abcd_123.tmp")  # no PID that large
    live = tmp_path / f".d.png.{os.getpid()}.abcd_123.tmp"  # a writer still at work
    unrelated = [tmp_path / ".e.png.123.short.tmp", tmp_path / f"f.png.{dead}.abcd_123.tmp"]
    for path in [*stale, live, *unrelated]:
        path.write_bytes(b"half")
    (tmp_path / f".g.png.{dead}.abcd_123.tmp").mkdir()  # not a file: left, no error
    write_image(tmp_path / "other.png", np.zeros((4, 4, 3), np.float32))
    assert not any(p.exists() for p in stale)
    assert live.exists() and all(p.exists() for p in unrelated)
    assert (tmp_path / "other.png").is_file()


def test_item5_a_killed_writer_leaves_nothing_after_the_next_write(tmp_path):
    script = ("import sys, time\n"
              "from edgerestore.runtime.atomic import atomic_write\n"
              "def stall(tmp):\n"
              "    open(tmp, 'wb').write(b'half'); print(tmp, flush=True); time.sleep(60)\n"
              f"atomic_write({str(tmp_path / 'killed.png')!r}, stall)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    temp = Path(proc.stdout.readline().strip())
    proc.kill()
    proc.wait()
    assert temp.exists()
    write_image(tmp_path / "next.png", np.zeros((4, 4, 3), np.float32))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["next.png"]


# --- item 6: every training image's header is checked before training ---------------------

TINY_TRAIN = ["--width", "8", "--depth", "2", "--branch-width", "4", "--mix-widths", "8",
              "--batch", "2", "--patch", "16", "--device", "cpu", "--threads", "1"]


def test_item6_corrupt_training_images_are_all_reported_before_training(capsys, tmp_path):
    pytest.importorskip("torch")
    data = tmp_path / "data"
    data.mkdir()
    write_image(data / "good.png", np.random.default_rng(0).random((32, 32, 3)))
    (data / "bytes.png").write_bytes(np.random.default_rng(1).bytes(200))
    (data / "empty.jpg").write_bytes(b"")
    (data / "header_only.png").write_bytes((data / "good.png").read_bytes()[:12])
    write_image(data / "alpha.png", np.ones((8, 8, 4), np.float32))
    out, run_dir = tmp_path / "w.safetensors", tmp_path / "run"
    code, err = cli(capsys, "-q", "train", "blindspot", "--data", data, "--out", out, "--run-dir",
                    run_dir, "--steps", "1", *TINY_TRAIN)
    assert code == 2 and one_line_error(err), err
    assert "4 of 5 training images" in err
    for name in ("bytes.png", "empty.jpg", "header_only.png", "alpha.png"):
        assert name in err
    assert "good.png" not in err and not out.exists()
    assert not run_dir.exists() or not any(run_dir.rglob("*.pt"))  # no step was taken


# --- item 7: the demo's web server serves real files under its root only --------------------

SERVE = Path(__file__).resolve().parents[1] / "android_demo" / "scripts" / "serve.mjs"


def _get(url: str) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def test_item7_the_demo_server_does_not_follow_links_out_of_its_root(tmp_path):
    import shutil

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    secret_dir = tmp_path / "private"
    secret_dir.mkdir()
    (secret_dir / "key.txt").write_text("SECRET")
    web = tmp_path / "web"
    (web / "js").mkdir(parents=True)
    (web / "index.html").write_text("<p>demo</p>")
    (web / "js" / "app.js").write_text("ok")
    (web / "leak.txt").symlink_to(secret_dir / "key.txt")
    (web / "private").symlink_to(secret_dir, target_is_directory=True)
    (web / "alias.js").symlink_to(web / "js" / "app.js")  # a link that stays inside
    linked_root = tmp_path / "site"
    linked_root.symlink_to(web, target_is_directory=True)  # the root itself may be a link
    proc = subprocess.Popen([node, str(SERVE), "--root", str(linked_root), "--port", "0",
                             "--timeout", "60"], stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().split(" at ")[1].split()[0]
        assert _get(url) == (200, b"<p>demo</p>")
        assert _get(url + "js/app.js") == (200, b"ok")
        assert _get(url + "alias.js") == (200, b"ok")
        for path in ("leak.txt", "private/key.txt", "%2e%2e/private/key.txt", "nope.js", "js/"):
            status, body = _get(url + path)
            assert status in (403, 404) and b"SECRET" not in body, path
    finally:
        proc.kill()
        proc.wait()


# --- item 8: a resumed run records the loss history of an uninterrupted one ----------------

def test_item8_a_resumed_run_keeps_the_running_loss(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    import signal
    from dataclasses import replace

    from edgerestore.models import train_engine
    from edgerestore.models.train_blindspot import BlindSpotTraining, train

    data = tmp_path / "data"
    data.mkdir()
    for i in range(3):
        write_image(data / f"{i}.png", np.random.default_rng(i).random((40, 48, 3)))
    tiny = {"width": 8, "depth": 2, "branch_width": 4, "mix_widths": [8]}

    def settings(name: str) -> BlindSpotTraining:
        return BlindSpotTraining(data=str(data), out=str(tmp_path / f"{name}.safetensors"),
                                 run_dir=str(tmp_path / name), backbone=dict(tiny), steps=8,
                                 batch=2, patch=16, checkpoint_every=2, device="cpu",
                                 threads=1, precision="fp32")

    whole = train(settings("whole"))["history"]
    ramp, calls = train_engine.ramped_lr_at, []

    def interrupt_at_step_3(frac: float, base_lr: float) -> float:
        calls.append(frac)
        if len(calls) == 3:  # as if Ctrl-C arrived during the third step
            os.kill(os.getpid(), signal.SIGINT)
        return ramp(frac, base_lr)

    monkeypatch.setattr(train_engine, "ramped_lr_at", interrupt_at_step_3)
    cut = train(settings("cut"))
    assert cut["training"]["stopped_by"] == "SIGINT"
    monkeypatch.setattr(train_engine, "ramped_lr_at", ramp)
    resumed = {h["step"]: h for h in train(replace(settings("cut")), resume=True)["history"]}
    assert [h["step"] for h in whole] == [2, 4, 6, 8] and 3 in resumed
    for entry in whole:
        again = resumed[entry["step"]]
        for key in (k for k in entry if k == "loss" or k.startswith("loss_")):
            assert again[key] == pytest.approx(entry[key], rel=1e-6), (entry["step"], key)


# --- item 9: libpng's interlace note stays off stderr ------------------------------------

ADAM7 = [(0, 0, 8, 8), (0, 4, 8, 8), (4, 0, 8, 4), (0, 2, 4, 4), (2, 0, 4, 2), (0, 1, 2, 2),
         (1, 0, 2, 1)]


def interlaced_png16(image: np.ndarray) -> bytes:
    """``image`` (uint16 HxWx3/4) as an Adam7-interlaced 16-bit PNG (filter None)."""
    import struct
    import zlib

    from edgerestore.runtime.png16 import PNG_SIGNATURE

    height, width, channels = image.shape
    raw = b""
    for top, left, dy, dx in ADAM7:
        sub = image[top::dy, left::dx]
        if sub.size:
            rows = np.ascontiguousarray(sub.astype(">u2")).view(np.uint8).reshape(len(sub), -1)
            raw += np.concatenate([np.zeros((len(sub), 1), np.uint8), rows], 1).tobytes()

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (struct.pack(">I", len(payload)) + kind + payload
                + struct.pack(">I", zlib.crc32(kind + payload)))

    header = struct.pack(">IIBBBBB", width, height, 16, {3: 2, 4: 6}[channels], 0, 0, 1)
    return (PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def test_item9_interlaced_16bit_pngs_decode_exactly_and_quietly(tmp_path, caplog):
    pytest.importorskip("imagecodecs")
    from edgerestore.errors import ImageError
    from edgerestore.runtime.image_io import read_image

    pixels = np.random.default_rng(0).integers(0, 65536, (13, 11, 4), dtype=np.uint16)
    path = tmp_path / "interlaced.png"
    path.write_bytes(interlaced_png16(pixels))
    image, info = read_image(path)
    assert info.bit_depth == 16 and info.channels == 4
    np.testing.assert_array_equal(np.round(image * 65535).astype(np.uint16), pixels)
    assert not [r for r in caplog.records if "Interlace" in r.getMessage()]
    broken = tmp_path / "broken.png"
    data = path.read_bytes()
    broken.write_bytes(data[:40] + bytes(60) + data[100:])  # a damaged IDAT still fails
    with pytest.raises(ImageError, match=r"broken\.png"):
        read_image(broken)


def test_item9_other_libpng_messages_are_still_shown(tmp_path, caplog, monkeypatch):
    import logging

    codecs = pytest.importorskip("imagecodecs")
    from edgerestore.runtime.image_io import read_image

    pixels = np.zeros((8, 8, 3), np.uint16)

    def chatty(_data: bytes) -> np.ndarray:  # logs the way imagecodecs relays libpng
        log = logging.getLogger("imagecodecs")
        log.warning("PNG warning: Interlace handling should be turned on when using "
                    "png_read_image")
        log.warning("PNG warning: iCCP: known incorrect sRGB profile")
        return pixels

    monkeypatch.setattr(codecs, "png_decode", chatty)
    path = tmp_path / "p.png"
    path.write_bytes(interlaced_png16(pixels))
    read_image(path)
    messages = [r.getMessage() for r in caplog.records]
    assert any("iCCP" in m for m in messages) and not any("Interlace" in m for m in messages)
