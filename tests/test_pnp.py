"""Plug-and-play solvers, blur operators, kernels and the DMSP baseline, through the
public entry point :mod:`edgerestore.runtime.pnp`.

The closed-form x-steps are checked against dense least-squares solves built
independently of the FFT code (explicit circulant / decimation / mask matrices), and
ADMM against the Tikhonov solution it must converge to when the "denoiser" is the
proximal operator of a quadratic.
"""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest

from edgerestore.errors import InputError
from edgerestore.runtime import blur, dmsp, kernels, pnp
from edgerestore.runtime.image_io import write_image
from edgerestore.runtime.metrics import psnr

# --------------------------------------------------------------------------- fixtures


def smooth_image(h: int, w: int, channels: int = 1) -> np.ndarray:
    """A smooth, non-periodic test image (a ramp plus waves and a blob)."""
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    base = 0.2 + 0.5 * xx + 0.2 * np.sin(5 * yy) + 0.15 * np.exp(
        -((xx - 0.6) ** 2 + (yy - 0.3) ** 2) / 0.02
    )
    return np.repeat(base[..., None], channels, axis=2)


def gaussian_smoother(std: float = 0.8):
    """A fixed-strength 'denoiser': Gaussian smoothing with reflected borders."""
    g = kernels.gaussian_kernel(std)
    r = g.shape[0] // 2

    def smooth(v: np.ndarray, sigma: float | None) -> np.ndarray:
        padded = np.pad(v, ((r, r), (r, r), (0, 0)), mode="reflect")
        return blur.blur_valid(padded, g).astype(np.float32)

    return smooth


def circulant_blur_matrix(k: np.ndarray, h: int, w: int) -> np.ndarray:
    """Dense circular-convolution matrix, built tap by tap (no FFT)."""
    kh, kw = k.shape
    ch, cw = kh // 2, kw // 2
    a = np.zeros((h * w, h * w))
    for i in range(h):
        for j in range(w):
            for p in range(kh):
                for q in range(kw):
                    src = ((i - p + ch) % h) * w + (j - q + cw) % w
                    a[i * w + j, src] += k[p, q]
    return a


def valid_blur_matrix(k: np.ndarray, h: int, w: int) -> np.ndarray:
    """Dense 'valid' convolution matrix from an (h, w) image to (h-kh+1, w-kw+1)."""
    kh, kw = k.shape
    oh, ow = h - kh + 1, w - kw + 1
    a = np.zeros((oh * ow, h * w))
    for i in range(oh):
        for j in range(ow):
            for p in range(kh):
                for q in range(kw):
                    a[i * ow + j, (i + kh - 1 - p) * w + (j + kw - 1 - q)] += k[p, q]
    return a


def dense_prox(a: np.ndarray, y: np.ndarray, v: np.ndarray, rho: float, sigma: float):
    """argmin ||A x - y||^2 / (2 sigma^2) + rho/2 ||x - v||^2 by a dense solve."""
    lhs = a.T @ a / sigma**2 + rho * np.eye(a.shape[1])
    return np.linalg.solve(lhs, a.T @ y.ravel() / sigma**2 + rho * v.ravel())


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


# --------------------------------------------------------------------------- (h) operators


@pytest.mark.parametrize("kshape", [(3, 3), (4, 4), (3, 5), (2, 3)])
def test_blur_circular_matches_roll_convolution(rng, kshape):
    x = rng.random((9, 11, 2))
    k = rng.random(kshape)
    expected = np.zeros_like(x)
    for p in range(kshape[0]):
        for q in range(kshape[1]):
            shift = (p - kshape[0] // 2, q - kshape[1] // 2)
            expected += k[p, q] * np.roll(x, shift, axis=(0, 1))
    np.testing.assert_allclose(blur.blur_circular(x, k), expected, atol=1e-12)
    otf = blur.psf2otf(k, x.shape)
    direct = np.fft.ifft2(np.fft.fft2(x[..., 0]) * otf).real
    np.testing.assert_allclose(direct, expected[..., 0], atol=1e-12)


def test_centred_delta_blurs_nothing(rng):
    x = rng.random((8, 8))
    for size in (3, 4):
        delta = np.zeros((size, size))
        delta[size // 2, size // 2] = 1.0
        np.testing.assert_allclose(blur.blur_circular(x, delta), x, atol=1e-12)


def test_adjoint_and_valid_blur_agree_with_dense_matrices(rng):
    k = rng.random((3, 4))
    x = rng.random((8, 9))
    r = rng.random((8, 9))
    lhs = np.sum(blur.blur_circular(x, k) * r)
    rhs = np.sum(x * blur.blur_circular(r, k, adjoint=True))
    assert lhs == pytest.approx(rhs, rel=1e-12)
    valid = blur.blur_valid(x, k)
    assert valid.shape == (6, 6)
    np.testing.assert_allclose(valid.ravel(), valid_blur_matrix(k, 8, 9) @ x.ravel(), atol=1e-12)


def test_edgetaper_keeps_interior_and_blurs_border(rng):
    x = rng.random((40, 40))
    k = kernels.gaussian_kernel(1.0)  # 7x7
    tapered = blur.edgetaper(x, k)
    np.testing.assert_allclose(tapered[10:-10, 10:-10], x[10:-10, 10:-10], atol=1e-12)
    blurred = blur.blur_circular(x, k)
    np.testing.assert_allclose(tapered[0], blurred[0], atol=1e-12)
    np.testing.assert_allclose(tapered[:, -1], blurred[:, -1], atol=1e-12)


def test_down_and_upsampling_are_adjoint(rng):
    x = rng.random((8, 6, 3))
    small = blur.downsample(x, 2)
    np.testing.assert_array_equal(small, x[::2, ::2])
    r = rng.random(small.shape)
    assert np.sum(small * r) == pytest.approx(np.sum(x * blur.upsample_zeros(r, 2)))


# --------------------------------------------------------------------------- (a) x-steps


def test_circular_blur_prox_matches_dense_solve(rng):
    k = kernels.motion_kernel(7, seed=3)[1:6, 1:6]
    k /= k.sum()
    y, v = rng.random((10, 10, 1)), rng.random((10, 10, 1))
    problem = pnp.CircularBlur(k, 0.05)
    expected = dense_prox(circulant_blur_matrix(k, 10, 10), y, v, 7.0, 0.05)
    np.testing.assert_allclose(problem.prox(v, y, 7.0, v).ravel(), expected, atol=1e-8)


def test_super_resolution_prox_matches_dense_solve(rng):
    k = rng.random((3, 3))
    k /= k.sum()
    keep = [(i * 8 + j) for i in range(0, 8, 2) for j in range(0, 8, 2)]
    a = circulant_blur_matrix(k, 8, 8)[keep]  # decimation keeps pixels 0, 2, 4, 6
    y, v = rng.random((4, 4, 1)), rng.random((8, 8, 1))
    problem = pnp.SuperResolution(k, 2, 0.03)
    np.testing.assert_allclose(problem.apply(v).ravel(), a @ v.ravel(), atol=1e-12)
    expected = dense_prox(a, y, v, 5.0, 0.03)
    np.testing.assert_allclose(problem.prox(v, y, 5.0, v).ravel(), expected, atol=1e-8)


def test_inpainting_prox_matches_dense_solve(rng):
    mask = rng.random((6, 7)) > 0.4
    y, v = rng.random((6, 7, 1)), rng.random((6, 7, 1))
    problem = pnp.Inpainting(mask, 0.02)
    y_obs = problem.check(y)
    expected = dense_prox(np.diag(mask.ravel().astype(float)), y_obs, v, 3.0, 0.02)
    np.testing.assert_allclose(problem.prox(v, y_obs, 3.0, v).ravel(), expected, atol=1e-8)


def test_valid_blur_prox_is_exact_at_its_fixed_point(rng):
    k = rng.random((3, 3))
    k /= k.sum()
    problem = pnp.ValidBlur(k, 0.05)
    y = rng.random((6, 6, 1))  # observed valid part of an 8x8 scene
    v = rng.random((8, 8, 1))
    a = valid_blur_matrix(k, 8, 8)
    np.testing.assert_allclose(problem.apply(v).ravel(), a @ v.ravel(), atol=1e-12)
    np.testing.assert_allclose(problem.adjoint(y).ravel(), a.T @ y.ravel(), atol=1e-12)
    exact = dense_prox(a, y, v, 4.0, 0.05).reshape(v.shape)
    np.testing.assert_allclose(problem.prox(v, y, 4.0, exact), exact, atol=1e-8)
    # From elsewhere, repeated steps (majorise-minimise) converge to the exact prox;
    # slowly when rho * sigma_n^2 is small, as the unobserved ring is then loosely held.
    exact = dense_prox(a, y, v, 40.0, 0.05).reshape(v.shape)
    x = problem.init(y)
    for _ in range(200):
        x = problem.prox(v, y, 40.0, x)
    np.testing.assert_allclose(x, exact, atol=1e-8)


# --------------------------------------------------------------------------- (b) ADMM


def test_admm_with_quadratic_prox_converges_to_tikhonov_solution(rng):
    x_true = smooth_image(16, 16)
    k = kernels.gaussian_kernel(1.0, size=5)
    sigma, lam = 0.02, 20.0
    y = blur.blur_circular(x_true, k) + sigma * rng.standard_normal(x_true.shape)

    def tikhonov_prox(v: np.ndarray, s: float | None) -> np.ndarray:
        # prox of (lam/2)||z||^2 at penalty rho = 1/s^2
        return v / (1.0 + lam * s**2)

    result = pnp.admm(y, pnp.CircularBlur(k, sigma), tikhonov_prox, rho=10 * lam,
                      iters=2000, tol=1e-9)
    otf = blur.psf2otf(k, (16, 16))
    expected = np.fft.ifft2(
        np.conj(otf) * np.fft.fft2(y[..., 0]) / (np.abs(otf) ** 2 + lam * sigma**2)
    ).real
    np.testing.assert_allclose(result.x[..., 0], expected, atol=1e-5)
    assert result.converged and result.iterations < 2000
    assert {"iteration", "change", "seconds"} <= set(result.history[-1])


# --------------------------------------------------------------------------- (c) boundaries


def test_valid_blur_beats_taper_and_circular_treatment():
    rng = np.random.default_rng(0)
    x = smooth_image(48, 48)
    k = kernels.motion_kernel(9, seed=2)
    y = blur.blur_valid(x, k) + 0.005 * rng.standard_normal((40, 40, 1))
    denoiser = gaussian_smoother()
    valid = pnp.deblur(y, k, denoiser, sigma_n=0.005, boundary="valid", iters=30)
    assert valid.x.shape == x.shape  # the full scene
    tapered = pnp.ValidBlur(k, 0.005).init(y)
    assert psnr(x, valid.x, quantize=False) > psnr(x, tapered, quantize=False) + 2.0

    circular = pnp.deblur(y, k, denoiser, sigma_n=0.005, boundary="circular", iters=30)
    (top, bottom), (left, right) = blur.valid_margins(k.shape)
    centre = (slice(top, 48 - bottom), slice(left, 48 - right))
    assert psnr(x[centre], valid.x[centre], quantize=False) > (
        psnr(x[centre], circular.x, quantize=False) + 10.0
    )
    ring = np.ones((40, 40), dtype=bool)
    ring[4:-4, 4:-4] = False
    valid_border = np.abs(valid.x[centre][ring] - x[centre][ring]).max()
    circular_border = np.abs(circular.x[ring] - x[centre][ring]).max()
    assert valid_border < 0.5 * circular_border


def test_same_boundary_returns_the_observed_size():
    rng = np.random.default_rng(0)
    blocks = (rng.random((5, 5, 3)) > 0.5).repeat(8, 0).repeat(8, 1)
    x = np.clip(smooth_image(40, 40, channels=3) + 0.3 * blocks - 0.15, 0, 1)
    k = kernels.motion_kernel(9, seed=4)
    scene = np.pad(x, ((4, 4), (4, 4), (0, 0)), mode="reflect")  # content beyond the frame
    y = blur.blur_valid(scene, k) + 0.003 * rng.standard_normal(x.shape)
    same = pnp.deblur(y, k, gaussian_smoother(), sigma_n=0.003, iters=20)
    assert same.x.shape == y.shape and same.x.dtype == np.float32
    assert psnr(x, same.x, quantize=False) > psnr(x, y, quantize=False) + 2.0
    circular = pnp.deblur(y, k, gaussian_smoother(), sigma_n=0.003, iters=20,
                          boundary="circular")
    assert psnr(x, same.x, quantize=False) > psnr(x, circular.x, quantize=False) + 10.0


# --------------------------------------------------------------------------- other tasks


def test_hqs_schedule_and_result():
    x = smooth_image(32, 32)
    k = kernels.gaussian_kernel(1.0)
    y = blur.blur_circular(x, k) + 0.01 * np.random.default_rng(1).standard_normal(x.shape)
    seen: list[float] = []
    smoother = gaussian_smoother()

    def record(v: np.ndarray, sigma: float | None) -> np.ndarray:
        seen.append(float(sigma))
        return smoother(v, sigma)

    result = pnp.deblur(y, k, record, sigma_n=0.01, boundary="circular", method="hqs")
    assert result.converged and result.iterations == 8
    assert seen[0] == pytest.approx(pnp.HQS_SIGMA_MAX) and seen[-1] == pytest.approx(0.01)
    assert all(a > b for a, b in itertools.pairwise(seen))
    assert psnr(x, result.x, quantize=False) > psnr(x, y, quantize=False)


def test_upscale_inpaint_and_denoise_improve_on_their_inputs():
    rng = np.random.default_rng(3)
    x = smooth_image(32, 32)
    smoother = gaussian_smoother()

    small = blur.downsample(blur.blur_circular(x, pnp.default_sr_kernel(2)), 2)
    up = pnp.upscale(small, 2, smoother, sigma_n=0.002, iters=20)
    nearest = np.repeat(np.repeat(small, 2, axis=0), 2, axis=1)
    assert up.x.shape == x.shape
    assert psnr(x, up.x, quantize=False) > psnr(x, nearest, quantize=False)

    mask = rng.random((32, 32)) > 0.5
    holes = np.where(mask[..., None], x, 0.0)
    filled = pnp.inpaint(holes, mask, smoother, sigma_n=0.005, iters=20)
    assert psnr(x, filled.x, quantize=False) > 30.0

    noisy = x + 0.05 * rng.standard_normal(x.shape)
    clean = pnp.denoise(noisy, smoother, 0.05, iters=10)
    assert psnr(x, clean.x, quantize=False) > psnr(x, noisy, quantize=False) + 3.0


# --------------------------------------------------------------------------- (f) noise-blind


def test_noise_blind_deblur_estimates_sigma_within_30_percent():
    x = smooth_image(64, 64)
    k = kernels.motion_kernel(9, seed=1)
    for sigma in (0.01, 0.03):
        noise = sigma * np.random.default_rng(5).standard_normal(x.shape)
        y = blur.blur_circular(x, k) + noise
        result = pnp.deblur(y, k, gaussian_smoother(), boundary="circular", iters=2)
        assert result.sigma_n == pytest.approx(sigma, rel=0.3)


# --------------------------------------------------------------------------- (e) DMSP


def test_dmsp_decreases_the_data_residual():
    rng = np.random.default_rng(2)
    x = (rng.random((8, 8)) > 0.5).repeat(4, 0).repeat(4, 1)[..., None] * 0.6 + 0.2
    k = kernels.motion_kernel(7, seed=0)
    y = blur.blur_circular(x, k) + 0.005 * rng.standard_normal(x.shape)
    problem = pnp.CircularBlur(k, 0.005)

    def identity(v: np.ndarray, sigma: float | None) -> np.ndarray:
        return v

    before = np.linalg.norm(problem.apply(problem.init(y)) - y)
    result = dmsp.dmsp(y, problem, identity, iters=60)
    after = np.linalg.norm(problem.apply(result.x.astype(np.float64)) - y)
    assert after < 0.5 * before
    assert result.iterations == 60 and result.converged
    again = dmsp.dmsp(y, problem, identity, iters=60)
    np.testing.assert_array_equal(result.x, again.x)  # seeded


def test_dmsp_deblur_noise_blind_runs_on_valid_data():
    rng = np.random.default_rng(4)
    x = smooth_image(40, 40)
    k = kernels.motion_kernel(7, seed=5)
    y = blur.blur_valid(x, k) + 0.01 * rng.standard_normal((34, 34, 1))
    result = dmsp.dmsp_deblur(y, k, gaussian_smoother(1.0), boundary="valid", iters=50)
    assert result.x.shape == x.shape
    assert 0.01 <= result.sigma_n < 0.05  # residual-based, inflated by the DAE noise
    assert psnr(x, result.x, quantize=False) > psnr(x, pnp.ValidBlur(k, 0.01).init(y),
                                                    quantize=False)


# --------------------------------------------------------------------------- (g) callbacks


@pytest.mark.parametrize("solver", ["admm", "hqs", "dmsp"])
def test_callback_called_every_iteration_and_can_stop(solver):
    x = smooth_image(24, 24)
    k = kernels.gaussian_kernel(1.0)
    y = blur.blur_circular(x, k)
    problem = pnp.CircularBlur(k, 0.01)
    smoother = gaussian_smoother()

    def run(callback):
        if solver == "admm":
            return pnp.admm(y, problem, smoother, iters=6, tol=0, callback=callback)
        if solver == "hqs":
            return pnp.hqs(y, problem, smoother, iters=6, callback=callback)
        return dmsp.dmsp(y, problem, smoother, iters=6, callback=callback)

    calls: list[int] = []
    result = run(lambda it, est, info: calls.append(it))
    assert calls == [1, 2, 3, 4, 5, 6] and result.iterations == 6

    def stop_at_three(it: int, estimate: np.ndarray, info: dict) -> bool:
        assert estimate.shape == y.shape and info["iteration"] == it
        return it < 3

    stopped = run(stop_at_three)
    assert stopped.iterations == 3 and not stopped.converged


# --------------------------------------------------------------------------- validation


def test_solvers_reject_bad_inputs():
    y = smooth_image(16, 16)
    k = kernels.gaussian_kernel(1.0)
    smoother = gaussian_smoother()
    bad = y.copy()
    bad[3, 3] = np.nan
    with pytest.raises(InputError, match="NaN"):
        pnp.deblur(bad, k, smoother, sigma_n=0.01)
    with pytest.raises(InputError, match="larger than the image"):
        pnp.deblur(y[:5, :5], k, smoother, sigma_n=0.01)
    with pytest.raises(InputError, match="boundary"):
        pnp.deblur(y, k, smoother, boundary="reflect")
    with pytest.raises(InputError, match="method"):
        pnp.deblur(y, k, smoother, method="sgd")
    with pytest.raises(InputError, match="sigma_n"):
        pnp.deblur(y, k, smoother, sigma_n=-0.1)
    with pytest.raises(InputError, match="mask shape"):
        pnp.inpaint(y, np.ones((8, 8), dtype=bool), smoother)
    with pytest.raises(InputError, match="0 or 1"):
        pnp.inpaint(y, np.full((16, 16), 0.5), smoother)
    with pytest.raises(InputError, match="no pixel"):
        pnp.inpaint(y, np.zeros((16, 16), dtype=bool), smoother)
    with pytest.raises(InputError, match="needs sigma_n"):
        pnp.inpaint(y, np.ones((16, 16), dtype=bool), smoother, sigma_n=None)
    with pytest.raises(InputError, match="scale"):
        pnp.upscale(y, 0, smoother)
    with pytest.raises(InputError, match="iters"):
        pnp.deblur(y, k, smoother, iters=0)
    with pytest.raises(InputError, match="denoiser returned shape"):
        pnp.deblur(y, k, lambda v, s: v[..., 0], sigma_n=0.01)
    with pytest.raises(InputError, match="rho"):
        pnp.admm(y, pnp.Denoising(0.1), smoother, rho=-1.0)
    with pytest.raises(InputError, match="x0"):
        pnp.admm(y, pnp.Denoising(0.1), smoother, x0=np.zeros((4, 4)))


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
