"""The Python API: its doctests, every input kind round-tripped, and a light import."""

from __future__ import annotations

import doctest
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import edgerestore
from edgerestore import api
from edgerestore.errors import InputError
from edgerestore.runtime.image_io import write_image
from edgerestore.runtime.metrics import psnr


def test_docstring_examples_run():
    result = doctest.testmod(api, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 10
    assert result.failed == 0


def test_import_edgerestore_stays_light():
    code = ("import sys, edgerestore; print(sorted(m for m in ('numpy', 'onnxruntime', 'torch',"
            " 'PIL') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def _clean() -> np.ndarray:
    y, x = np.mgrid[0:64, 0:64] / 64
    return np.stack([0.5 + 0.3 * np.sin(5 * x), 0.3 + 0.4 * y, 0.6 - 0.3 * x * y],
                    axis=2).astype(np.float32)


def _noisy(clean: np.ndarray) -> np.ndarray:
    noise = np.random.default_rng(0).normal(0, 25 / 255, clean.shape)
    return np.clip(clean + noise, 0, 1).astype(np.float32)


def test_every_image_kind_comes_back_as_itself(tmp_path):
    clean = _clean()
    noisy = _noisy(clean)
    out = edgerestore.denoise(noisy, sigma=25)
    assert out.dtype == np.float32 and out.shape == noisy.shape
    assert psnr(clean, out) > psnr(clean, noisy) + 3

    as_uint8 = (noisy * 255).round().astype(np.uint8)
    assert edgerestore.denoise(as_uint8).dtype == np.uint8

    grey = noisy[:, :, 0]
    assert edgerestore.denoise(grey).shape == grey.shape  # grey default model, HxW kept

    pil = Image.fromarray(as_uint8)
    back = edgerestore.denoise(pil)
    assert isinstance(back, Image.Image) and back.mode == "RGB" and back.size == pil.size

    write_image(tmp_path / "noisy.png", noisy)
    from_path = edgerestore.denoise(str(tmp_path / "noisy.png"))
    assert isinstance(from_path, Image.Image) and from_path.size == (64, 64)


def test_load_model_is_reused_and_checked():
    model = edgerestore.load_model("blindspot_eff_gauss25_rgb")
    assert edgerestore.load_model("blindspot_eff_gauss25_rgb") is model
    noisy = _noisy(_clean())
    assert edgerestore.denoise(noisy, model=model).shape == noisy.shape
    # Any denoiser may be a plug-and-play prior, as on the command line (a blind-spot
    # one at the solver's noise level); what it cannot take is refused.
    assert edgerestore.deblur(noisy, np.ones((3, 3)) / 9, sigma=2.55, model=model,
                              iters=2).shape == noisy.shape
    with pytest.raises(InputError, match="--sigma does not apply"):
        edgerestore.denoise(noisy, 25, model="map_rgb")
    with pytest.raises(InputError, match="1-channel"):
        edgerestore.denoise(noisy, model="blindspot_gauss25_gray")


@pytest.mark.parametrize("bad", [np.zeros((4, 4, 2), np.float32), [[0.5]],
                                 np.full((8, 8), np.nan, np.float32)])
def test_bad_images_are_input_errors(bad):
    with pytest.raises(InputError):
        edgerestore.denoise(bad)
