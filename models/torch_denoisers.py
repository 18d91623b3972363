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
  noise level, or the wavelet MAD estimate for models trained with a known level.
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
from torch import nn

from edgerestore.errors import InputError, ModelFileError
from edgerestore.models.blindspot_denoiser import BlindSpotDenoiser
from edgerestore.models.weights_io import card_path, load_card, load_weights
from edgerestore.runtime.sigma_estimate import estimate_sigma

__all__ = ["DENOISER_ARCHS", "TorchDenoiser", "denoiser_sigma", "load_torch_denoiser"]

#: Architectures a weights file may hold to be loaded as a denoiser.
DENOISER_ARCHS = ("dncnn", "blindspot_denoiser", "pd_blindspot")


class TorchDenoiser:
    """A loaded network behind the ``Denoiser`` call (see the module docstring)."""

    def __init__(self, model: nn.Module, config: dict[str, Any], device: str, name: str) -> None:
        self.model, self.config, self.device, self.name = model, config, device, name
        self.channels = int(config["channels"])

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
        out = self._run(x, image, sigma).float().cpu().numpy()
        if have == self.channels:
            return out[0].transpose(1, 2, 0)
        if self.channels == 3:
            return out[0].mean(axis=0)[:, :, None]
        return out[:, 0].transpose(1, 2, 0)

    def _run(self, x: torch.Tensor, image: np.ndarray, sigma: float | None) -> torch.Tensor:
        if not isinstance(self.model, BlindSpotDenoiser):
            return self.model(x)  # DnCNN / AP-BSN: no level input, sigma is ignored
        if sigma is not None:
            level = torch.tensor([float(sigma)], device=self.device)
        elif self.model.sigma_mode == "known":
            level = torch.tensor([estimate_sigma(image)], device=self.device)
        else:
            level = None  # the model's own learned level
        return self.model.denoise(x, level)


def load_torch_denoiser(path: str | Path, device: str = "cpu") -> TorchDenoiser:
    """Load a DnCNN, blind-spot or AP-BSN ``.safetensors`` file as a plug-and-play denoiser."""
    path = Path(path)
    if path.suffix.lower() != ".safetensors":
        raise ModelFileError(f"{path}: expected a .safetensors weights file")
    model, config = load_weights(path, device)
    arch = config.get("arch")
    if arch == "blindspot_denoiser" and config.get("noise_model") != "gauss":
        raise ModelFileError(
            f"{path}: models {config.get('noise_model')} noise; plug-and-play restoration "
            "needs a Gaussian denoiser"
        )
    if arch not in DENOISER_ARCHS:
        raise ModelFileError(f"{path}: a {arch} network is not a denoiser")
    return TorchDenoiser(model, config, device, str(path))


def denoiser_sigma(path: str | Path) -> float | None:
    """Training noise std of a weights file in [0, 1] units (card key ``sigma``, 0-255).

    ``None`` when the card is missing or records no usable level; callers then fall
    back to the paper's 11/255.
    """
    try:
        value = load_card(path).get("sigma")
    except ValueError as exc:
        raise ModelFileError(f"{card_path(path)}: model card is not valid JSON ({exc})") from exc
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) / 255.0 if math.isfinite(value) and value > 0 else None
