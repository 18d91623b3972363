"""Blur kernels for plug-and-play deblurring (:mod:`edgerestore.runtime.kernels`):
loading from image and array files, validation, generated motion kernels; and the
plug-and-play modules' imports (neither torch nor scipy).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from edgerestore.errors import InputError
from edgerestore.runtime import kernels
from edgerestore.runtime.image_io import write_image

# --------------------------------------------------------------------------- (d) kernels


def test_load_kernel_from_png_npy_npz_and_mat(tmp_path):
    k = kernels.motion_kernel(13, seed=6)
    scaled = k / k.max()

    write_image(tmp_path / "k8.png", scaled)
    expected8 = np.round(scaled * 255) / 255
    np.testing.assert_allclose(kernels.load_kernel(tmp_path / "k8.png"),
                               expected8 / expected8.sum(), atol=1e-6)
    write_image(tmp_path / "k16.png", scaled, bit_depth=16)
    np.testing.assert_allclose(kernels.load_kernel(str(tmp_path / "k16.png")), k, atol=1e-5)
    write_image(tmp_path / "grey_rgb.png", np.repeat(scaled[..., None], 3, axis=2))
    assert kernels.load_kernel(tmp_path / "grey_rgb.png").shape == k.shape

    np.save(tmp_path / "k.npy", 5 * k)
    np.testing.assert_allclose(kernels.load_kernel(tmp_path / "k.npy"), k, atol=1e-12)

    np.savez(tmp_path / "set.npz", k1=k, k2=np.ones((3, 3)))
    np.testing.assert_allclose(kernels.load_kernel(f"{tmp_path}/set.npz:k1"), k, atol=1e-12)
    assert kernels.load_kernel(f"{tmp_path}/set.npz:k2") == pytest.approx(np.full((3, 3), 1 / 9))
    with pytest.raises(InputError, match="k1, k2"):
        kernels.load_kernel(tmp_path / "set.npz")
    with pytest.raises(InputError, match="no array 'k3'"):
        kernels.load_kernel(f"{tmp_path}/set.npz:k3")

    sio = pytest.importorskip("scipy.io")
    cell = np.empty((1, 2), dtype=object)
    cell[0, 0], cell[0, 1] = np.ones((5, 5)), k
    sio.savemat(tmp_path / "kernels.mat", {"kernels": cell, "other": np.eye(3)})
    np.testing.assert_allclose(kernels.load_kernel(f"{tmp_path}/kernels.mat:2"), k, atol=1e-12)
    assert kernels.load_kernel(f"{tmp_path}/kernels.mat:other").shape == (3, 3)
    with pytest.raises(InputError, match="count from 1"):
        kernels.load_kernel(f"{tmp_path}/kernels.mat:0")
    with pytest.raises(InputError, match="INDEX"):
        kernels.load_kernel(tmp_path / "kernels.mat")


def test_load_kernel_rejects_bad_files(tmp_path):
    colour = np.zeros((5, 5, 3))
    colour[2, 2] = (1.0, 0.5, 0.0)
    write_image(tmp_path / "colour.png", colour)
    with pytest.raises(InputError, match="colour"):
        kernels.load_kernel(tmp_path / "colour.png")
    write_image(tmp_path / "black.png", np.zeros((5, 5)))
    with pytest.raises(InputError, match="all zero"):
        kernels.load_kernel(tmp_path / "black.png")
    with pytest.raises(InputError, match="not found"):
        kernels.load_kernel(tmp_path / "missing.npy")
    np.save(tmp_path / "k.npy", np.ones((3, 3)))
    with pytest.raises(InputError, match="selector"):
        kernels.load_kernel(f"{tmp_path}/k.npy:1")


@pytest.mark.parametrize(
    ("kernel", "message"),
    [
        (np.array([[0.5, -0.2], [0.4, 0.3]]), "negative"),
        (np.array([[0.5, np.nan], [0.4, 0.3]]), "NaN"),
        (np.zeros((3, 3)), "all zero"),
        (np.ones((3, 3, 1)), "2-D"),
        (np.ones((2, 2), dtype=bool), "real numbers"),
    ],
)
def test_validate_kernel_rejects_bad_kernels(kernel, message):
    with pytest.raises(InputError, match=message):
        kernels.validate_kernel(kernel)


def test_validate_kernel_normalises_and_checks_size():
    k = kernels.validate_kernel(np.array([[1, 2], [3, -1e-9 + 2]]))
    assert k.sum() == pytest.approx(1.0) and k.min() >= 0
    with pytest.raises(InputError, match="larger than the image 4x4"):
        kernels.validate_kernel(np.ones((5, 3)), (4, 4))


def test_motion_kernel_is_normalised_seeded_and_not_a_delta():
    k = kernels.motion_kernel(17, seed=3)
    assert k.shape == (17, 17) and k.dtype == np.float64
    assert k.sum() == pytest.approx(1.0) and k.min() >= 0
    np.testing.assert_array_equal(k, kernels.motion_kernel(17, seed=3))
    assert not np.array_equal(k, kernels.motion_kernel(17, seed=4))
    assert k.max() < 0.2 and np.count_nonzero(k > 1e-3) > 20
    assert k[0].sum() == k[-1].sum() == k[:, 0].sum() == k[:, -1].sum() == 0.0
    with pytest.raises(InputError):
        kernels.motion_kernel(3)


# --------------------------------------------------------------------------- (i) imports


def test_pnp_modules_import_neither_torch_nor_scipy():
    code = (
        "import sys\n"
        "import edgerestore.runtime.pnp, edgerestore.runtime.dmsp, edgerestore.runtime.kernels\n"
        "import edgerestore.runtime.forward, edgerestore.runtime.forward_blur\n"
        "import edgerestore.runtime.solvers, edgerestore.runtime.tasks\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'scipy'))\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
