"""``edgerestore add-noise IN_DIR -o OUT_DIR``: one seeded PNG per image, reproducible."""

from __future__ import annotations

import numpy as np
import pytest

from edgerestore.cli import main
from edgerestore.runtime.image_io import read_image, write_image
from edgerestore.runtime.noise import NoiseSpec
from edgerestore.runtime.noise_files import noise_folder


@pytest.fixture
def folder(tmp_path):
    """Three small images, one a JPEG, listed as b.png, c.jpg, d.png (sorted order)."""
    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(0)
    for name in ("d.png", "b.png", "c.jpg"):
        write_image(src / name, rng.uniform(0.2, 0.8, (20, 24, 3)).astype(np.float32))
    (src / "notes.txt").write_text("not an image")
    return src


def test_image_i_uses_rng_seed_i_as_the_training_data_did(folder, tmp_path):
    out = tmp_path / "out"
    assert main(["add-noise", str(folder), "-o", str(out), "--noise", "gauss:5-50",
                 "--seed", "1"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["b.png", "c.png", "d.png"]
    spec = NoiseSpec.parse("gauss:5-50")
    for i, name in enumerate(("b.png", "c.jpg", "d.png")):
        image, _ = read_image(folder / name)
        expected, _level = spec.apply(image, np.random.default_rng([1, i]))
        got, info = read_image(out / (name.rsplit(".", 1)[0] + ".png"))
        assert info.bit_depth == 8
        np.testing.assert_array_equal(np.round(got * 255),
                                      np.round(np.clip(expected, 0, 1) * 255))
    # distinct draws per image (the level too): not one rng reused for every file
    a, b = (read_image(out / n)[0] - read_image(folder / n)[0] for n in ("b.png", "d.png"))
    assert abs(float(a.std()) - float(b.std())) > 1e-3


def test_camera_noise_folder_matches_the_library(folder, tmp_path):
    out = tmp_path / "out"
    spec = NoiseSpec.parse("camera:iso=400-6400,jpeg=90")
    written = noise_folder(folder, out, spec, 3)
    assert [p.name for p in written] == ["b.png", "c.png", "d.png"]
    image, _ = read_image(folder / "d.png")
    expected, _ = spec.apply(image, np.random.default_rng([3, 2]))
    np.testing.assert_array_equal(np.round(read_image(out / "d.png")[0] * 255),
                                  np.round(expected * 255))


def test_refuses_existing_outputs_unless_overwrite(folder, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    keep = out / "c.png"
    keep.write_bytes(b"keep")
    assert main(["add-noise", str(folder), "-o", str(out), "--seed", "1"]) == 2
    err = capsys.readouterr().err
    assert "--overwrite" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert keep.read_bytes() == b"keep" and sorted(p.name for p in out.iterdir()) == ["c.png"]
    assert main(["add-noise", str(folder), "-o", str(out), "--seed", "1", "--overwrite"]) == 0
    assert read_image(keep)[0].shape == (20, 24, 3)


@pytest.mark.parametrize("case", ["into_input_folder", "out_is_file", "in_place", "empty",
                                  "same_stem", "no_parent"])
def test_bad_folder_requests_exit_2_and_write_nothing(folder, tmp_path, capsys, case):
    out = tmp_path / "out"
    extra: list[str] = []
    if case == "into_input_folder":
        out = folder  # b.png -> b.png would replace the input, even with --overwrite
        extra = ["--overwrite"]
    elif case == "out_is_file":
        out = tmp_path / "file.png"
        out.write_bytes(b"x")
    elif case == "in_place":
        extra = ["--in-place"]
    elif case == "empty":
        folder = tmp_path / "empty"
        folder.mkdir()
    elif case == "same_stem":
        write_image(folder / "b.jpg", np.full((8, 8, 3), 0.5, np.float32))
    else:
        out = tmp_path / "missing" / "out"
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert main(["add-noise", str(folder), "-o", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_a_bad_image_is_named_in_the_error(folder, tmp_path, capsys):
    write_image(folder / "e.png", np.full((8, 8, 4), 0.5, np.float32))  # RGBA: no camera model
    assert main(["add-noise", str(folder), "-o", str(tmp_path / "out"), "--noise",
                 "camera:iso=800"]) == 2
    err = capsys.readouterr().err
    assert "e.png" in err and "Traceback" not in err
