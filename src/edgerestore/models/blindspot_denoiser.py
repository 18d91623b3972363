"""A blind-spot prior network plus the noise model: the complete self-supervised denoiser.

The backbone (dilated blind-spot net or Laine's U-Net) predicts a Gaussian prior per
pixel; this module adds what turns it into a denoiser: the noise model (Gaussian or
Poisson), and where the noise level is unknown, Laine et al.'s two ways of learning
it from noisy data alone: one global learned level, or a small per-image estimator
network trained jointly through the same likelihood.

Camera photos add a fourth way, ``measured``: the level is not learned at all but
measured on the noisy image itself by the sub-image MAD estimator
(:func:`~edgerestore.runtime.sigma_estimate.estimate_sigma` with
:func:`~edgerestore.runtime.sigma_estimate.level_stride`), in training
and at inference alike. A learned level is not identifiable from the likelihood
alone: with a blind *patch* (``--hole``), whose prior is wide, the prior covariance
absorbed all of the noise variance and the learned level went to 0, so the model
returned its input. The measured level is fixed by the data, the prior covariance
learns around it, and the runtime reproduces it with numpy.

Noise parameter convention (what :mod:`gaussian_head` expects): Gaussian noise is
described by its variance in [0, 1] units, Poisson noise by lambda.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from torch import Tensor, nn

from edgerestore.errors import InputError
from edgerestore.models import gaussian_head
from edgerestore.models.image_network import DenoisingNetwork, ImageNetwork
from edgerestore.runtime.sigma_estimate import estimate_sigma, level_stride

SigmaMode = Literal["known", "global", "estimated", "measured"]
SIGMA_MODES = ("known", "global", "estimated", "measured")
NoiseModel = Literal["gauss", "poisson"]
_INITIAL_LOG_LEVEL = {"gauss": math.log(25 / 255), "poisson": math.log(30.0)}


class NoiseLevelEstimator(nn.Module):
    """Per-image noise level from the noisy image: strided convs, then a spatial mean.

    Laine et al. train such a network jointly with the denoiser when sigma is
    unknown; it outputs the log of the noise std (Gaussian) or of lambda (Poisson).
    """

    def __init__(self, channels: int, width: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = channels
        for _ in range(4):
            layers += [nn.Conv2d(c, width, 3, stride=2, padding=1), nn.LeakyReLU(0.1)]
            c = width
        layers.append(nn.Conv2d(width, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, noisy: Tensor) -> Tensor:
        return self.net(noisy).mean(dim=(1, 2, 3))


class BlindSpotDenoiser(DenoisingNetwork):
    """Backbone + Gaussian prior head + noise model (+ noise-level learning).

    Its receptive field, tile alignment and square multiple are the backbone's: the
    Bayesian step is per pixel.
    """

    def __init__(self, backbone: ImageNetwork, channels: int, noise_model: NoiseModel = "gauss",
                 sigma_mode: SigmaMode = "known") -> None:
        super().__init__()
        if noise_model not in ("gauss", "poisson"):
            raise InputError(f"noise model must be gauss or poisson, got {noise_model!r}")
        if sigma_mode not in SIGMA_MODES:
            raise InputError(f"sigma mode must be one of {', '.join(SIGMA_MODES)}, "
                             f"got {sigma_mode!r}")
        if sigma_mode == "measured" and noise_model != "gauss":
            raise InputError("a measured noise level needs the Gaussian noise model")
        self.backbone = backbone
        self.channels = channels
        self.noise_model = noise_model
        self.sigma_mode = sigma_mode
        init = _INITIAL_LOG_LEVEL[noise_model]
        if sigma_mode == "global":
            self.log_level = nn.Parameter(torch.tensor(init))
        elif sigma_mode == "estimated":
            self.estimator = NoiseLevelEstimator(channels)
            with torch.no_grad():
                self.estimator.net[-1].bias.fill_(init)

    @property
    def in_channels(self) -> int:
        return self.channels

    @property
    def receptive_field(self) -> int | None:
        return self.backbone.receptive_field

    @property
    def tile_align(self) -> int:
        return self.backbone.tile_align

    @property
    def square_multiple(self) -> int | None:
        return self.backbone.square_multiple

    @property
    def task(self) -> str:
        """``denoise_direct`` when the level is learned (the graph computes it), else
        ``denoise_posterior``: the runtime passes the level it is given or measures."""
        return "denoise_direct" if self.sigma_mode in ("global", "estimated") else \
            "denoise_posterior"

    @property
    def estimate_stride(self) -> int:
        return level_stride(self.sigma_mode)

    def forward(self, noisy: Tensor) -> Tensor:
        """Raw prior parameters [B, K, H, W] (K = 9 RGB, 2 grey)."""
        return self.backbone(noisy)

    def level_to_param(self, level: Tensor) -> Tensor:
        """User-facing level (sigma in [0,1] units, or lambda) -> head parameter."""
        return level.square() if self.noise_model == "gauss" else level

    def estimated_level(self, noisy: Tensor) -> Tensor:
        """The model's own noise level per image (sigma in [0,1] units, or lambda).

        Learned for ``global`` / ``estimated``; measured by the MAD estimate at
        :attr:`estimate_stride` for ``measured``, and for ``known`` too, where training
        is told the level: that is what a runtime does when a user gives none.
        """
        if self.sigma_mode == "global":
            return self.log_level.exp().expand(noisy.shape[0])
        if self.sigma_mode == "estimated":
            return self.estimator(noisy).exp()
        if self.noise_model != "gauss":
            raise InputError("the MAD estimate measures Gaussian noise; give this "
                             f"{self.noise_model}-noise model its level")
        images = noisy.detach().float().permute(0, 2, 3, 1).cpu().numpy()
        return torch.tensor([estimate_sigma(im, self.estimate_stride) for im in images],
                            device=noisy.device)

    def loss(self, noisy: Tensor, level: Tensor | None) -> Tensor:
        """Laine's negative log-likelihood of the noisy batch (no clean data involved).

        ``level`` is the true per-image level for ``known`` mode and ignored otherwise.
        """
        return self.nll(self(noisy), noisy, level)

    def nll(self, raw: Tensor, noisy: Tensor, level: Tensor | None) -> Tensor:
        """:meth:`loss` given the backbone's output ``raw`` (computed by a wrapper, e.g. DDP).

        The likelihood maths runs in fp32 whatever precision produced ``raw``.
        """
        if self.sigma_mode == "known":
            if level is None:
                raise InputError("known-sigma training needs the noise level")
        else:
            level = self.estimated_level(noisy)
        return gaussian_head.nll_loss(raw.float(), noisy.float(), self.level_to_param(level),
                                      self.noise_model)

    @torch.no_grad()
    def denoise(self, noisy: Tensor, level: Tensor | None = None,
                mode: Literal["posterior", "prior"] = "posterior") -> Tensor:
        """Posterior mean with the given (or else its own, :meth:`estimated_level`)
        level, or the prior mean."""
        raw = self(noisy).float()
        if mode == "prior":
            return gaussian_head.prior_mean(raw)
        if level is None:
            level = self.estimated_level(noisy)
        return gaussian_head.posterior_mean(raw, noisy.float(), self.level_to_param(level),
                                            self.noise_model)

    def config(self) -> dict[str, Any]:
        return {"arch": "blindspot_denoiser", "channels": self.channels,
                "noise_model": self.noise_model, "sigma_mode": self.sigma_mode,
                "backbone": self.backbone.config()}

