"""The command-line frame: help, version, commands, and errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from edgerestore import __version__
from edgerestore.cli import main
from edgerestore.runtime.image_io import read_image, write_image


def test_help_lists_commands_and_each_command_has_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for cmd in ("demo", "samples", "add-noise", "compare"):
        assert cmd in out
        with pytest.raises(SystemExit) as sub:
            main([cmd, "--help"])
        assert sub.value.code == 0


def test_version(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert __version__ in capsys.readouterr().out


def test_samples_noise_compare_chain(tmp_path, capsys):
    assert main(["-q", "samples", "-o", str(tmp_path), "--names", "camera"]) == 0
    clean = tmp_path / "camera.png"
    assert main(["add-noise", str(clean), "-o", str(tmp_path / "n.png"), "--noise", "gauss:25",
                 "--seed", "3"]) == 0
    capsys.readouterr()
    assert main(["compare", str(clean), str(tmp_path / "n.png"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)["results"][0]
    # sigma 25 on an 8-bit image: about 20.2 dB (a little higher from clipping at save)
    assert 20.0 < result["psnr"] < 21.5 and 0 < result["ssim"] < 1


def test_add_noise_is_reproducible_and_refuses_to_overwrite_input(tmp_path):
    img = tmp_path / "a.png"
    write_image(img, np.full((16, 16, 3), 0.5, np.float32))
    for name in ("n1.png", "n2.png"):
        assert main(["add-noise", str(img), "-o", str(tmp_path / name), "--seed", "5"]) == 0
    np.testing.assert_array_equal(read_image(tmp_path / "n1.png")[0],
                                  read_image(tmp_path / "n2.png")[0])
    before = img.read_bytes()
    assert main(["add-noise", str(img), "-o", str(img)]) == 2
    assert img.read_bytes() == before


def test_user_errors_give_a_message_and_exit_2_without_traceback(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image at all")
    cmd = [sys.executable, "-m", "edgerestore", "add-noise", str(bad), "-o",
           str(tmp_path / "o.png")]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 2
    assert "not a recognised image" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "o.png").exists()
    debug = subprocess.run([*cmd[:3], "--debug", *cmd[3:]], capture_output=True, text=True)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_bad_noise_spec_is_a_user_error(tmp_path, capsys):
    img = tmp_path / "a.png"
    write_image(img, np.full((8, 8, 3), 0.5, np.float32))
    assert main(["add-noise", str(img), "-o", str(tmp_path / "o.png"), "--noise", "x:1"]) == 2
    assert "bad noise" in capsys.readouterr().err
