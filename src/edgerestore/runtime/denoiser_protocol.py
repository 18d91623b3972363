"""What the plug-and-play solvers need from a denoiser: one call, image in, image out.

Keeping this a structural :class:`typing.Protocol` means an ONNX session wrapper, a
classical filter or a test's lambda all qualify without inheriting from anything, so
the solvers in :mod:`edgerestore.runtime.pnp` and :mod:`edgerestore.runtime.dmsp`
never depend on how a denoiser is implemented (or on torch).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Denoiser(Protocol):
    """Remove Gaussian noise from a float32 HxWxC image.

    ``sigma`` is the standard deviation (in [0, 1] intensity units) of the noise the
    caller wants removed. Noise-level-conditioned networks (DRUNet, IRCNN banks) use
    it; a fixed-strength MAP denoiser (Bigdeli et al. 2020) or a DAE trained at one
    level may ignore it, which is why the ADMM penalty defaults to that training
    level (see :data:`edgerestore.runtime.pnp.MAP_DENOISER_SIGMA`). ``None`` means
    "your own default". The input may leave [0, 1], by more than a unit near sharp
    edges (it is an ADMM / HQS iterate), and must be denoised all the same; the
    output must have the same shape.
    """

    def __call__(self, image: np.ndarray, sigma: float | None) -> np.ndarray: ...
