"""The second reliability round (issue 29), items 2, 5, 6, 7 and 9: weights metadata,
temporary files, training images, the demo's web server and 16-bit PNGs; one test per
defect, each named by its item.

Every test here failed on the code before the fix. Commands run in-process through
:func:`edgerestore.cli.main` (``cli`` in conftest); the packaged exported models stand in
where the defect was seen with them, tiny ONNX graphs (``make_onnx_denoiser``) elsewhere.
The other items: ``test_reliability_priors.py`` (1, 4),
``test_reliability_training.py`` (3, 8).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import cli, one_line_error, save_tiny_dncnn

from edgerestore.runtime.image_io import write_image

pytest.importorskip("onnx")


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
