"""Our ``.safetensors`` networks as plug-and-play denoisers for the numpy solvers.

The solvers in :mod:`edgerestore.runtime.pnp` and :mod:`edgerestore.runtime.dmsp` only
know the :class:`~edgerestore.runtime.denoiser_protocol.Denoiser` call
``denoiser(image HxWxC float32, sigma) -> image``; this module adapts the two kinds of
network we train to it:

* **DnCNN** (the MAP denoiser D or the DAE prior R of Bigdeli et al. 2020) is
  *fixed-strength*: it was trained at one noise level and has no noise-level input, so
  it ignores ``sigma``. Plug-and-play ADMM accounts for that through its penalty,
  ``rho = 1 / sigma_d^2`` with ``sigma_d`` the training level, which
  :func:`denoiser_sigma` reads from the model card.
* The **blind-spot denoiser** returns its posterior mean at the requested ``sigma``, so
  it follows ADMM's and HQS's noise level; with ``sigma=None`` it uses its learned
  noise level, or the wavelet MAD estimate for models trained with a known or measured
  level (:meth:`BlindSpotDenoiser.estimated_level`).
* **AP-BSN** (``pd_blindspot``, camera noise) has no noise model and no level input:
  in eval mode its forward is the whole image -> image inference (pixel-shuffle
  blind spot, then R3), so like DnCNN it ignores ``sigma``.

Channel counts are adapted rather than refused, so any model serves any opaque image:
a colour model denoises a grey image as grey-replicated RGB (averaged back), a grey
model denoises each colour channel on its own.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgerestore.errors import InputError, ModelFileError
from edgerestore.models.image_network import DenoisingNetwork
from edgerestore.models.weights_io import load_card, load_weights
from edgerestore.runtime.model_files import is_weights

__all__ = ["TorchDenoiser", "denoiser_sigma", "load_torch_denoiser"]


class TorchDenoiser:
    """A loaded network behind the ``Denoiser`` call (see the module docstring)."""

    def __init__(self, model: DenoisingNetwork, config: dict[str, Any], device: str,
                 name: str) -> None:
        self.model, self.config, self.device, self.name = model, config, device, name
        self.channels = model.in_channels

    @torch.no_grad()
    def __call__(self, image: np.ndarray, sigma: float | None) -> np.ndarray:
        image = np.asarray(image, dtype=np.float32)
        if image.ndim != 3 or image.shape[2] not in (1, 3):
            raise InputError(f"{self.name}: denoises grey or RGB HxWxC images, got {image.shape}")
        have = image.shape[2]
        if have == self.channels:
            batch = image.transpose(2, 0, 1)[None]
        elif self.channels == 3:  # grey image, colour model
            batch = np.repeat(image.transpose(2, 0, 1)[None], 3, axis=1)
        else:  # colour image, grey model: one channel per batch entry
            batch = image.transpose(2, 0, 1)[:, None]
        x = torch.from_numpy(np.ascontiguousarray(batch)).to(self.device)
        level = None if sigma is None else torch.tensor([float(sigma)], device=self.device)
        out = self.model.denoise(x, level).float().cpu().numpy()
        if have == self.channels:
            return out[0].transpose(1, 2, 0)
        if self.channels == 3:
            return out[0].mean(axis=0)[:, :, None]
        return out[:, 0].transpose(1, 2, 0)


def load_torch_denoiser(path: str | Path, device: str = "cpu") -> TorchDenoiser:
    """Load a DnCNN, blind-spot or AP-BSN ``.safetensors`` file as a plug-and-play denoiser."""
    path = Path(path)
    if not is_weights(path):
        raise ModelFileError(f"{path}: expected a .safetensors weights file")
    model, config = load_weights(path, device)
    if not isinstance(model, DenoisingNetwork):
        raise ModelFileError(f"{path}: a {config.get('arch')} network is not a denoiser")
    if model.noise_model not in ("gauss", None):
        raise ModelFileError(f"{path}: models {model.noise_model} noise; plug-and-play "
                             "restoration needs a Gaussian denoiser")
    return TorchDenoiser(model, config, device, str(path))


def denoiser_sigma(path: str | Path) -> float | None:
    """Training noise std of a weights file in [0, 1] units (card key ``sigma``, 0-255).

    ``None`` when the card is missing or records no usable level; callers then fall
    back to the paper's 11/255.
    """
    value = load_card(path).get("sigma")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) / 255.0 if math.isfinite(value) and value > 0 else None
