"""Property-based fuzzing of kernel and noise-spec loading (Hypothesis).

Kernels arrive as arbitrary arrays (any dtype, shape, NaN, inf, negative, 1e308, empty)
saved as ``.npy`` / ``.npz`` / ``.mat``, or as random bytes behind each container's
magic number (masks of any size and channel count are fuzzed through ``inpaint`` in
``test_fuzz_cli.py``); noise specs arrive as random text. Property:
a valid result (a finite, non-negative 2-D kernel summing to 1; a noisy image of the
same shape and dtype, finite) or an :class:`~edgerestore.errors.EdgeRestoreError` with
a one-line message; never another exception, a numpy warning or a changed input.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from edgerestore.errors import EdgeRestoreError  # noqa: E402
from edgerestore.runtime.kernels import load_kernel, validate_kernel  # noqa: E402
from edgerestore.runtime.noise import NoiseSpec  # noqa: E402

DTYPES = st.sampled_from(["f8", "f4", "f2", "i4", "u1", "i8", "b1", "c8", "U3"])
ARRAYS = DTYPES.flatmap(lambda dt: hnp.arrays(
    dt, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6)))
MAGIC = {".npy": b"\x93NUMPY", ".npz": b"PK\x03\x04", ".mat": b"MATLAB 5.0 MAT-file",
         ".png": b"\x89PNG\r\n\x1a\n"}


def _check_kernel(call) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy overflow / invalid-value warnings are bugs
        try:
            k = call()
        except EdgeRestoreError as exc:
            assert "\n" not in str(exc)
            return
    assert k.ndim == 2 and k.dtype == np.float64 and np.all(np.isfinite(k))
    assert k.min() >= 0 and abs(k.sum() - 1) < 1e-9


@given(array=ARRAYS)
def test_validate_kernel_on_any_array(array):
    before = array.copy()
    _check_kernel(lambda: validate_kernel(array))
    assert np.array_equal(before, array, equal_nan=before.dtype.kind in "fc")


@given(array=ARRAYS, suffix=st.sampled_from([".npy", ".npz", ".mat"]))
def test_kernel_files_of_any_array(tmp_path, array, suffix):
    path = tmp_path / f"k{suffix}"
    if suffix == ".npy":
        np.save(path, array)
    elif suffix == ".npz":
        np.savez(path, k=array)
    else:
        sio = pytest.importorskip("scipy.io")
        try:
            sio.savemat(path, {"k": array})
        except Exception:  # scipy cannot save every dtype and shape: not our input
            hypothesis.reject()
    data = path.read_bytes()
    _check_kernel(lambda: load_kernel(path))
    assert path.read_bytes() == data


@given(suffix=st.sampled_from(sorted(MAGIC)), body=st.binary(max_size=600),
       selector=st.sampled_from(["", ":1", ":k", ":0"]))
def test_kernel_files_of_random_bytes(tmp_path, suffix, body, selector):
    path = tmp_path / f"k{suffix}"
    path.write_bytes(MAGIC[suffix] + body)
    _check_kernel(lambda: load_kernel(f"{path}{selector}"))


SPEC_TEXT = st.one_of(
    st.text(max_size=30),
    st.builds(lambda kind, a, sep, b: f"{kind}:{a}{sep}{b}",
              st.sampled_from(["gauss", "poisson", "pg", "impulse", "GAUSS", "x"]),
              st.from_regex(r"[0-9]{0,30}(\.[0-9]{0,6})?", fullmatch=True),
              st.sampled_from(["", "-", ",", "--", ":"]),
              st.from_regex(r"[0-9]{0,30}(\.[0-9]{0,6})?", fullmatch=True)),
    st.sampled_from(["gauss25", "gauss5_50", "poisson30", "poisson5_50"]),
)


@given(text=SPEC_TEXT, seed=st.integers(0, 2**32 - 1))
def test_noise_specs_parse_or_refuse_and_never_give_nan(text, seed):
    image = np.linspace(0, 1, 48, dtype=np.float32).reshape(4, 4, 3)
    before = image.copy()
    try:
        spec = NoiseSpec.parse(text)
    except EdgeRestoreError as exc:
        assert "\n" not in str(exc)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        noisy, level = spec.apply(image, np.random.default_rng(seed))
    assert noisy.shape == image.shape and noisy.dtype == image.dtype
    assert np.all(np.isfinite(noisy)) and spec.low <= level <= spec.high
    assert np.array_equal(image, before)
