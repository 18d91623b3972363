"""Property-based fuzzing of the command line (Hypothesis), in-process through ``main()``.

Option values are drawn from numbers of every size and sign, NaN, infinities and
arbitrary text; inputs are small random images of any channel count, masks and kernels
of any size. The models are tiny ONNX graphs with cards (no torch). Property, for every
command: exit code 0 with a finite output image, or exit code 2 with a one-line error;
never exit 1 or a traceback, never a changed input, never a temporary file left over.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
pytest.importorskip("onnx")
from conftest import cli_exit_0_or_2, make_onnx_denoiser  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from edgerestore.runtime.image_io import read_image, write_image  # noqa: E402

NUMBER_TEXT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["0", "-1", "1e30", "nan", "inf", "2.5", "", "abc", "1e-300"]),
    st.text(max_size=6),
).filter(lambda s: not s.startswith("-") or s[1:2].isdigit())  # "-x" would be an option
SUFFIX = st.sampled_from([".png", ".jpg", ".tif", ".bmp", ".xyz", ""])


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {"posterior": make_onnx_denoiser(root / "bs.onnx", task="denoise_posterior"),
            "map": make_onnx_denoiser(root / "map.onnx"),
            "grey": make_onnx_denoiser(root / "grey.onnx", channels=1)}


@st.composite
def images(draw, max_side: int = 20) -> np.ndarray:
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    channels = draw(st.sampled_from([1, 2, 3, 4]))
    return np.random.default_rng(draw(st.integers(0, 999))).random((h, w, channels)).astype(
        np.float32)


def _run(capsys, folder: Path, argv: list[str], inputs: list[Path]) -> int:
    """Run one command; check the exit code, stderr, inputs and leftovers; return the code."""
    before = {p: p.read_bytes() for p in inputs if p.is_file()}
    code, _err = cli_exit_0_or_2(capsys, *argv)
    for path, data in before.items():
        assert path.read_bytes() == data, f"{path} was changed"
    assert not [p for p in folder.rglob("*.tmp")], "temporary file left over"
    return code


def _check_output(path: Path) -> None:
    image, _info = read_image(path)
    assert np.all(np.isfinite(image))


@given(image=images(), noise=st.one_of(st.text(max_size=12), st.sampled_from(
    ["gauss:25", "poisson:30", "pg:30,5", "impulse:0.2", "gauss:5-50", "poisson:" + "9" * 26])),
    seed=NUMBER_TEXT, bits=NUMBER_TEXT, suffix=SUFFIX)
def test_add_noise(tmp_path_factory, capsys, image, noise, seed, bits, suffix):
    folder = tmp_path_factory.mktemp("add_noise")
    src, out = folder / "in.png", folder / f"out{suffix}"
    write_image(src, image)
    code = _run(capsys, folder, ["add-noise", src, "-o", out, "--noise", noise, "--seed", seed,
                                 "--bit-depth", bits], [src])
    if code == 0:
        _check_output(out)


@given(image=images(), sigma=NUMBER_TEXT, threads=NUMBER_TEXT, max_tile=NUMBER_TEXT,
       model=st.sampled_from(["posterior", "map", "grey"]), use_sigma=st.booleans())
def test_denoise(tmp_path_factory, capsys, models, image, sigma, threads, max_tile, model,
                 use_sigma):
    folder = tmp_path_factory.mktemp("denoise")
    src, out = folder / "in.png", folder / "out.png"
    write_image(src, image)
    argv = ["denoise", src, "-o", out, "--model", models[model], "--threads", threads,
            "--max-tile", max_tile]
    code = _run(capsys, folder, argv + (["--sigma", sigma] if use_sigma else []),
                [src, models[model]])
    if code == 0:
        _check_output(out)


@given(image=images(max_side=16), mask=images(max_side=16), sigma=NUMBER_TEXT,
       iters=st.sampled_from(["1", "2", "0", "-3", "x", "1e9"]), same_size=st.booleans())
def test_inpaint(tmp_path_factory, capsys, models, image, mask, sigma, iters, same_size):
    folder = tmp_path_factory.mktemp("inpaint")
    src, mask_path, out = folder / "in.png", folder / "mask.png", folder / "out.png"
    write_image(src, image)
    write_image(mask_path, np.resize(mask, (*image.shape[:2], mask.shape[2])) if same_size
                else mask)
    argv = ["inpaint", src, "-o", out, "--mask", mask_path, "--denoiser", models["map"],
            "--sigma", sigma, "--iters", iters]
    if _run(capsys, folder, argv, [src, mask_path]) == 0:
        _check_output(out)


@given(image=images(max_side=16), kernel=st.lists(
    st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=1, max_size=25),
    side=st.integers(1, 5), sigma=NUMBER_TEXT)
def test_deblur(tmp_path_factory, capsys, models, image, kernel, side, sigma):
    folder = tmp_path_factory.mktemp("deblur")
    src, kpath, out = folder / "in.png", folder / "k.npy", folder / "out.png"
    write_image(src, image)
    np.save(kpath, np.resize(np.array(kernel), (side, side)))
    argv = ["deblur", src, "-o", out, "--kernel", kpath, "--denoiser", models["map"],
            "--sigma", sigma, "--iters", "1"]
    if _run(capsys, folder, argv, [src, kpath]) == 0:
        _check_output(out)


@given(reference=images(max_side=8), other=images(max_side=8), count=NUMBER_TEXT)
def test_compare_and_generate(tmp_path_factory, capsys, models, reference, other, count):
    folder = tmp_path_factory.mktemp("compare")
    ref, img = folder / "ref.png", folder / "img.png"
    write_image(ref, reference)
    write_image(img, other)
    _run(capsys, folder, ["compare", ref, img, "--no-ssim"], [ref, img])
    capsys.readouterr()
    assert _run(capsys, folder, ["generate", "--model", models["map"], "-n", count, "-o",
                                 folder / "g.png"], [models["map"]]) == 2
