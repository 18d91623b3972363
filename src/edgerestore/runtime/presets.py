"""The paper settings every restoration default comes from, in one place.

The solvers and task functions take these as keyword defaults, and the CLI, the demo,
the evaluation library and the benchmarks import them from here, so a setting cited
from a paper is written exactly once. All noise levels are in [0, 1] intensity units.

Sources: ADMM with a MAP denoiser (Bigdeli, Honzatko, Suesstrunk & Dunbar, arXiv
1912.09299, and its release), HQS as in DPIR (Zhang et al., TPAMI 2021) and DMSP
(Bigdeli, Jin, Favaro & Zwicker, NIPS 2017, MATLAB release).
"""

from __future__ import annotations

from typing import NamedTuple

#: Training noise (std) of the authors' DAE and of their MAP denoiser examples: 11/255.
#: Also the strength assumed for a denoiser whose model card records none.
MAP_DENOISER_SIGMA = 11.0 / 255.0
#: Smallest noise std used in a data term: about 8-bit quantisation noise. DPIR uses
#: the same floor; without one, noise-free data would get an infinite weight.
SIGMA_N_FLOOR = 0.255 / 255.0

#: ADMM's early stop: relative change of the estimate between two iterations.
ADMM_TOL = 1e-4

#: DPIR's HQS trade-off and starting denoiser strength.
HQS_LAMBDA = 0.23
HQS_SIGMA_MAX = 49.0 / 255.0

#: DMSP (MATLAB release): iterations, momentum and step length. The step length and
#: momentum are scale-free (see :mod:`edgerestore.runtime.dmsp`).
DMSP_ITERS = 300
DMSP_MU = 0.9
DMSP_ALPHA = 0.1

#: The authors' inpainting example: noise std of the observed pixels.
INPAINT_SIGMA_N = 0.01


class Iterations(NamedTuple):
    """Default iteration counts of one task: (ADMM, HQS)."""

    admm: int
    hqs: int


#: ADMM: 75 for deblurring and super-resolution (the release's deblurring example), 100
#: for inpainting (its inpainting example), 35 for denoising (its solver default).
#: HQS: DPIR's 8 (deblurring, denoising) or 24 (super-resolution, inpainting).
ITERATIONS = {
    "deblur": Iterations(admm=75, hqs=8),
    "inpaint": Iterations(admm=100, hqs=24),
    "upscale": Iterations(admm=75, hqs=24),
    "denoise": Iterations(admm=35, hqs=8),
}


def default_rho(denoiser_sigma: float) -> float:
    """ADMM's penalty for a denoiser trained at ``denoiser_sigma``: ``1 / sigma^2``.

    A Gaussian denoiser at std ``s`` is (for a MAP denoiser exactly) the proximal
    operator of the prior with weight ``1 / s^2``, i.e. the ADMM z-step with
    ``rho = 1 / s^2``; the authors' code documents "optimal rho = 1 / sigma_dae^2".
    """
    return 1.0 / denoiser_sigma**2
