"""Forward models: every operator's adjoint, and the generic conjugate-gradient prox.

The generic prox is what a new forward model gets for free, so it is checked against
the closed forms the shipped models use and against a dense solve.
"""

from __future__ import annotations

import numpy as np
import pytest

from edgerestore.runtime.forward import Denoising, ForwardModel, Inpainting
from edgerestore.runtime.forward_blur import (
    CircularBlur,
    SameBlur,
    SuperResolution,
    ValidBlur,
    blur_model,
)
from edgerestore.runtime.kernels import motion_kernel


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(3)


def models(rng: np.random.Generator) -> list[tuple[ForwardModel, tuple[int, ...]]]:
    """Each shipped forward model with the shape of an estimate it works on."""
    k = motion_kernel(7, seed=2)
    return [
        (Denoising(0.05), (12, 10, 2)),
        (Inpainting(rng.random((12, 10)) > 0.5, 0.05), (12, 10, 2)),
        (CircularBlur(k, 0.05), (12, 10, 2)),
        (ValidBlur(k, 0.05), (18, 16, 2)),
        (SameBlur(k, 0.05), (18, 16, 2)),
        (SuperResolution(k, 2, 0.05), (12, 10, 2)),
    ]


def test_every_adjoint_is_the_transpose_of_its_operator(rng):
    for model, shape in models(rng):
        x = rng.standard_normal(shape)
        r = rng.standard_normal(model.apply(x).shape)
        lhs, rhs = np.vdot(model.apply(x), r), np.vdot(x, model.adjoint(r))
        assert lhs == pytest.approx(rhs, rel=1e-10), type(model).__name__


def test_generic_prox_agrees_with_every_closed_form(rng):
    for model, shape in models(rng):
        v = rng.random(shape)
        y = model.apply(rng.random(shape))
        # Both CGs (the generic one, and valid blur's preconditioned one, whose own
        # budget stops at a residual of 1e-4) run to convergence here.
        model.cg_iters, model.cg_tol = 1000, 1e-12
        closed = model.prox(v, y, 30.0, v)
        generic = ForwardModel.prox(model, v, y, 30.0, v)
        np.testing.assert_allclose(generic, closed, atol=1e-8, err_msg=type(model).__name__)


class Subsample(ForwardModel):
    """A model with no closed-form prox: keep every other column, then sum pixel pairs."""

    def apply(self, x: np.ndarray) -> np.ndarray:
        kept = x[:, ::2]
        return kept[::2] + kept[1::2]

    def adjoint(self, r: np.ndarray) -> np.ndarray:
        out = np.zeros((2 * r.shape[0], 2 * r.shape[1], r.shape[2]))
        out[::2, ::2] = r
        out[1::2, ::2] = r
        return out


def test_a_model_with_only_apply_and_adjoint_gets_the_exact_prox(rng):
    model = Subsample(0.1)
    v, y = rng.random((6, 8, 1)), rng.random((3, 4, 1))
    a = np.stack([model.apply(e.reshape(v.shape)).ravel() for e in np.eye(v.size)], axis=1)
    rho = 12.0
    lhs = a.T @ a / model.sigma_n**2 + rho * np.eye(v.size)
    expected = np.linalg.solve(lhs, a.T @ y.ravel() / model.sigma_n**2 + rho * v.ravel())
    np.testing.assert_allclose(model.prox(v, y, rho, v).ravel(), expected, atol=1e-8)


def test_a_model_without_an_operator_cannot_be_built():
    class NoOperator(ForwardModel):
        pass

    with pytest.raises(TypeError):
        NoOperator(0.1)


def test_blur_model_picks_the_boundary_by_name():
    k = motion_kernel(7, seed=0)
    assert type(blur_model(k, 0.1, "circular")) is CircularBlur
    assert type(blur_model(k, 0.1, "valid")) is ValidBlur
    assert type(blur_model(k, 0.1, "same")) is SameBlur
