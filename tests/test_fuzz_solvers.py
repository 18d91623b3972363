"""Property-based fuzzing of the plug-and-play solvers with the packaged priors (Hypothesis).

Any packaged model file (every prior ``deblur --help`` lists, each backend and precision
installed here), ADMM or HQS, on any valid image in [0, 1] (any size, content from flat
to black-and-white pixels), any kernel that fits it and any noise level. Property: the
solver returns a finite image of the input's shape; it never refuses the run, since its
iterates leaving [0, 1] is not the user's doing (issue 29, item 1). Images and iteration
counts stay small, and each model file is opened once per session.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from edgerestore.runtime.exported_denoiser import ExportedDenoiser  # noqa: E402
from edgerestore.runtime.packaged import installed_backends, packaged_models  # noqa: E402
from edgerestore.runtime.pnp import MAP_DENOISER_SIGMA, deblur  # noqa: E402

#: Every packaged file an installed backend can run, as (model name, file name).
FILES = sorted((model.name, f.path.name) for model in packaged_models().values()
               for f in model.files if f.backend in installed_backends())


@cache
def _open(name: str, file: str) -> ExportedDenoiser:
    model = packaged_models()[name]
    return ExportedDenoiser(next(f.path for f in model.files if f.path.name == file))


@st.composite
def scenes(draw, channels: int) -> np.ndarray:
    """A valid image: random, black-and-white or flat pixels in [0, 1]."""
    h, w = draw(st.integers(9, 20)), draw(st.integers(9, 20))
    rng = np.random.default_rng(draw(st.integers(0, 999)))
    kind = draw(st.sampled_from(["random", "binary", "flat"]))
    pixels = rng.random((h, w, channels))
    if kind == "binary":
        pixels = (pixels > 0.5).astype(float)
    elif kind == "flat":
        pixels = np.full_like(pixels, draw(st.floats(0, 1)))
    return pixels.astype(np.float32)


@st.composite
def kernels(draw) -> np.ndarray:
    """A motion, box or random kernel of side 1 to 9 (smaller than any scene)."""
    size = draw(st.integers(1, 9))
    kind = draw(st.sampled_from(["line", "box", "random"]))
    if kind == "line":
        k = np.eye(size)
    elif kind == "box":
        k = np.ones((size, size))
    else:
        k = np.random.default_rng(draw(st.integers(0, 999))).random((size, size)) + 1e-3
    return k / k.sum()


@settings(max_examples=12)
@given(data=st.data(), file=st.sampled_from(FILES), kernel=kernels(),
       method=st.sampled_from(["admm", "hqs"]), iters=st.integers(1, 3),
       sigma_n=st.sampled_from([None, 0.0, 0.001, 0.01, 0.1]))
def test_any_packaged_prior_restores_any_valid_image(data, file, kernel, method, iters,
                                                      sigma_n):
    den = _open(*file)
    image = data.draw(scenes(den.channels))
    strength = den.strength or MAP_DENOISER_SIGMA  # as the CLI: 11/255 for the 5-50 model
    result = deblur(image, kernel, den, sigma_n=sigma_n, method=method, iters=iters,
                    denoiser_sigma=strength)
    assert result.x.shape == image.shape
    assert np.all(np.isfinite(result.x))
