"""The iteration loop the solvers share, and the presets they take their defaults from."""

from __future__ import annotations

import numpy as np
import pytest

from edgerestore.runtime.forward import Denoising
from edgerestore.runtime.kernels import gaussian_kernel
from edgerestore.runtime.presets import ITERATIONS
from edgerestore.runtime.solvers import iterate
from edgerestore.runtime.tasks import deblur, denoise, inpaint


def halve(_it: int, x: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
    return x / 2, {"extra": 1.0}


def test_iterate_records_every_step_and_honours_the_callback():
    seen = []
    run = iterate(Denoising(0.1), np.ones((4, 4, 1)), halve, 10,
                  lambda it, x, info: seen.append(it) or (False if it == 3 else None))
    assert seen == [1, 2, 3] and len(run.history) == 3 and not run.met_tol
    assert list(run.history[0]) == ["iteration", "change", "seconds", "extra"]
    assert run.history[1]["change"] == pytest.approx(0.5)
    np.testing.assert_array_equal(run.x, np.full((4, 4, 1), 1 / 8))


def test_iterate_stops_at_the_tolerance_but_never_after_the_first_step():
    def settle(it: int, x: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        return (x if it < 4 else x + 1.0), {}

    run = iterate(Denoising(0.1), np.ones((2, 2, 1)), settle, 10, None, tol=1e-3)
    assert run.met_tol and len(run.history) == 2
    run = iterate(Denoising(0.1), np.ones((2, 2, 1)), settle, 10, None)
    assert not run.met_tol and len(run.history) == 10


def identity(v: np.ndarray, _sigma: float | None) -> np.ndarray:
    return v


@pytest.mark.parametrize("method", ["admm", "hqs"])
def test_tasks_take_their_iteration_counts_from_the_presets(method):
    rng = np.random.default_rng(0)
    y = rng.random((16, 16, 1))
    mask = rng.random((16, 16)) > 0.5
    runs = {
        "deblur": deblur(y, gaussian_kernel(1.0), identity, sigma_n=0.05, method=method,
                         boundary="circular", tol=0),
        "inpaint": inpaint(y, mask, identity, method=method, tol=0),
        "denoise": denoise(y, identity, 0.05, method=method, tol=0),
    }
    for task, result in runs.items():
        assert result.iterations == getattr(ITERATIONS[task], method), task
