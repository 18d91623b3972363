"""Plug-and-play solvers on whole tasks, through the public entry point
:mod:`edgerestore.runtime.pnp`: boundary handling, HQS, upscaling, inpainting,
denoising, noise-blind deblurring, the DMSP baseline, callbacks and input checks.
Operators and x-steps: ``test_pnp_operators.py``; kernels: ``test_pnp_kernels.py``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import gaussian_smoother, smooth_image

from edgerestore.errors import InputError
from edgerestore.runtime import blur, dmsp, kernels, pnp
from edgerestore.runtime.metrics import psnr

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
