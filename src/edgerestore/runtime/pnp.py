"""Plug-and-play restoration, the public entry point: one import for the whole API.

The implementation is split by what each part is (see ARCHITECTURE.md):

* :mod:`~edgerestore.runtime.forward`, :mod:`~edgerestore.runtime.forward_blur`:
  forward models ``y = A x + n`` with ``apply``, ``adjoint`` and the data-term
  ``prox`` (identity, inpainting; circular / valid / same blur, super-resolution);
* :mod:`~edgerestore.runtime.solvers`: ADMM with a MAP denoiser (Bigdeli et al. 2020)
  and HQS (DPIR) on one iteration loop; :mod:`~edgerestore.runtime.dmsp`: the DMSP
  baseline on the same loop;
* :mod:`~edgerestore.runtime.presets`: the paper settings (11/255, iteration counts,
  rho, HQS schedule);
* :mod:`~edgerestore.runtime.tasks`: deblur / inpaint / upscale / denoise one image.

Library code imports from those modules; this one re-exports them for scripts,
notebooks and the phone demo's fixture generator.
"""

from edgerestore.runtime.dmsp import dmsp, dmsp_deblur
from edgerestore.runtime.forward import Denoising, ForwardModel, Inpainting
from edgerestore.runtime.forward_blur import (
    CircularBlur,
    SameBlur,
    SuperResolution,
    ValidBlur,
    blur_model,
)
from edgerestore.runtime.presets import (
    HQS_LAMBDA,
    HQS_SIGMA_MAX,
    MAP_DENOISER_SIGMA,
    SIGMA_N_FLOOR,
)
from edgerestore.runtime.solvers import Callback, Result, admm, hqs
from edgerestore.runtime.tasks import (
    deblur,
    default_sr_kernel,
    denoise,
    inpaint,
    noise_level,
    upscale,
)

__all__ = [
    "HQS_LAMBDA",
    "HQS_SIGMA_MAX",
    "MAP_DENOISER_SIGMA",
    "SIGMA_N_FLOOR",
    "Callback",
    "CircularBlur",
    "Denoising",
    "ForwardModel",
    "Inpainting",
    "Result",
    "SameBlur",
    "SuperResolution",
    "ValidBlur",
    "admm",
    "blur_model",
    "deblur",
    "default_sr_kernel",
    "denoise",
    "dmsp",
    "dmsp_deblur",
    "hqs",
    "inpaint",
    "noise_level",
    "upscale",
]
