"""DnCNN-style residual denoiser: the backbone of both the DAE prior R and the MAP
denoiser D of Bigdeli et al. (VISAPP 2020).

``depth`` 3x3 conv layers of ``width`` channels with ReLU, no batch norm (the paper
drops it so the network is a plain function of its input, which keeps the prior
gradient ``x - R(x)`` well defined), and a global residual: the body predicts the
noise, the output is ``x - body(x)``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from edgerestore.errors import InputError
from edgerestore.models.image_network import DenoisingNetwork
from edgerestore.runtime.presets import MAP_DENOISER_SIGMA


class DnCNN(DenoisingNetwork):
    """Residual plain-conv denoiser; any H x W, 'same' zero padding."""

    #: Trained on Gaussian noise, at one level it is not told at inference (fixed strength).
    noise_model = "gauss"
    #: The MAP-denoiser paper's level, for a card that records none.
    assumed_training_noise = f"gauss:{MAP_DENOISER_SIGMA * 255:g}"

    def __init__(self, channels: int = 3, depth: int = 17, width: int = 64,
                 role: str = "denoiser") -> None:
        super().__init__()
        if depth < 2 or width < 1 or channels not in (1, 3):
            raise InputError(f"bad DnCNN config: channels={channels} depth={depth} "
                             f"width={width}")
        self.body = conv_stack(channels, width, depth)
        self.channels, self.depth, self.width, self.role = channels, depth, width, role

    @property
    def in_channels(self) -> int:
        return self.channels

    @property
    def receptive_field(self) -> int:
        """``depth`` 3x3 convs: each widens the window by 2."""
        return 2 * self.depth + 1

    @property
    def task(self) -> str:
        """A DAE prior or a MAP denoiser: both image in, image out at one fixed strength."""
        return "dae" if self.role == "dae" else "map_denoiser"

    def forward(self, x: Tensor) -> Tensor:
        return x - self.body(x)

    @torch.no_grad()
    def denoise(self, noisy: Tensor, level: Tensor | None = None) -> Tensor:
        """The forward pass: a fixed-strength denoiser ignores ``level``."""
        return self(noisy)

    def init_for_training(self) -> None:
        """Start as the identity (:func:`start_as_identity`); only for training from
        scratch: a warm start loads over it."""
        start_as_identity(self.body)

    def config(self) -> dict[str, Any]:
        return {"arch": "dncnn", "channels": self.channels, "depth": self.depth,
                "width": self.width, "role": self.role}


def conv_stack(channels: int, width: int, depth: int) -> nn.Sequential:
    """``depth`` 3x3 'same' convs, ``channels`` -> ``width`` ... ``width`` -> ``channels``,
    a ReLU after each but the last: the body of a residual plain denoiser."""
    layers: list[nn.Module] = [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(inplace=True)]
    for _ in range(depth - 2):
        layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True)]
    layers.append(nn.Conv2d(width, channels, 3, padding=1))
    return nn.Sequential(*layers)


def start_as_identity(body: nn.Sequential) -> None:
    """He (Kaiming) init of a plain ReLU conv stack's hidden convs, zeros for the last.

    Why: PyTorch's default conv init scales each layer's output by about 1/sqrt(6)
    behind a ReLU, so without batch norm the body's signal and gradients vanish with
    depth. Measured here: a 17x64 DAE at the default init stayed the identity for
    2,000 steps (its loss equal to sigma_R^2 to four digits), while with this init
    the same run's loss fell from the first hundred steps. A zero last layer makes a
    residual network the identity at step 0 (a residual denoiser's natural start, and
    the MAP denoiser's data-term optimum); its gradient is not zero, so the body trains
    from step 1.
    """
    convs = [m for m in body if isinstance(m, nn.Conv2d)]
    for conv in convs[:-1]:
        nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
        nn.init.zeros_(conv.bias)
    nn.init.zeros_(convs[-1].weight)
    nn.init.zeros_(convs[-1].bias)
