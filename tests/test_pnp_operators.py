"""Plug-and-play blur operators and closed-form x-steps, through the public entry point
:mod:`edgerestore.runtime.pnp`.

The closed-form x-steps are checked against dense least-squares solves built
independently of the FFT code (explicit circulant / decimation / mask matrices), and
ADMM against the Tikhonov solution it must converge to when the "denoiser" is the
proximal operator of a quadratic. Solvers and tasks: ``test_pnp_solvers.py``; kernels:
``test_pnp_kernels.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import smooth_image

from edgerestore.runtime import blur, kernels, pnp

# --------------------------------------------------------------------------- fixtures


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
