"""A small plain CNN that sees every pixel: the student a blind-spot teacher is distilled into.

Why a student: a blind-spot net pays for self-supervision twice, it may not see the
pixel it restores and its architecture is constrained to keep that pixel out (AP-BSN
adds pixel-shuffle passes and R3 on top). Its output, the posterior mean, can instead be
the target of an ordinary CNN (:mod:`edgerestore.models.train_distill`): no clean image
enters anywhere, so the chain stays self-supervised, and the student is free to be the
cheapest network that fits the teacher.

The network is FFDNet's shape without its noise-level map: the image is split into its
``scale x scale`` pixel-shuffle sub-images stacked as channels (so the convolutions run
at ``1/scale^2`` of the pixels and see ``scale`` times further), ``depth`` 3x3 conv +
ReLU layers of ``width`` channels, and the inverse shuffle; the body predicts the
correction to the input. Plain convs and ReLUs only: what XNNPACK int8 and the LiteRT
GPU delegate run fastest. The shuffles are :func:`~edgerestore.models.pd_blindspot.pd_down`
and :func:`~edgerestore.models.pd_blindspot.pd_up` (rank <= 4, which the GPU delegate keeps).

The student learns one fixed mapping, so it takes no noise level: a student of a
sigma-range teacher estimates the level from the image itself, as DnCNN-B does.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from edgerestore.errors import InputError
from edgerestore.models.dncnn import conv_stack, start_as_identity
from edgerestore.models.image_network import DenoisingNetwork
from edgerestore.models.pd_blindspot import pad_to_multiple, pd_down, pd_up

#: The noise models a student may stand for: its teacher's (None: real camera noise).
STUDENT_NOISE_MODELS = ("gauss", "poisson", None)


class PlainStudent(DenoisingNetwork):
    """Pixel-unshuffle, ``depth`` plain 3x3 convs of ``width``, shuffle back, plus the input."""

    def __init__(self, channels: int = 3, width: int = 48, depth: int = 12, scale: int = 2,
                 noise_model: str | None = "gauss") -> None:
        super().__init__()
        if channels not in (1, 3) or width < 1 or depth < 2 or not 1 <= scale <= 8:
            raise InputError(f"bad student config: channels={channels} width={width} "
                             f"depth={depth} scale={scale}")
        if noise_model not in STUDENT_NOISE_MODELS:
            raise InputError(f"bad student noise model {noise_model!r}")
        self.body = conv_stack(channels * scale * scale, width, depth)
        self.channels, self.width, self.depth, self.scale = channels, width, depth, scale
        self.noise_model = noise_model

    @property
    def in_channels(self) -> int:
        return self.channels

    @property
    def receptive_field(self) -> int:
        """``depth`` 3x3 convs on the sub-images: ``2 depth + 1`` sub-image pixels, each
        ``scale`` image pixels apart, plus the rest of the outermost ``scale`` block."""
        return self.scale * (2 * self.depth + 1)

    @property
    def tile_align(self) -> int:
        """The shuffle groups pixels by their position modulo ``scale``: a tile must start
        on that grid to compute what the whole image does."""
        return self.scale

    @property
    def task(self) -> str:
        """Image in, denoised image out, no level input (see the module docstring)."""
        return "denoise_direct"

    def forward(self, noisy: Tensor) -> Tensor:
        h, w = noisy.shape[-2:]
        x = pad_to_multiple(noisy, self.scale)
        b, c, hp, wp = x.shape
        s = self.scale
        stacked = pd_down(x, s).reshape(b, s * s * c, hp // s, wp // s)
        correction = self.body(stacked).reshape(b * s * s, c, hp // s, wp // s)
        return (x + pd_up(correction, s))[..., :h, :w]

    @torch.no_grad()
    def denoise(self, noisy: Tensor, level: Tensor | None = None) -> Tensor:
        """The forward pass; ``level`` is ignored (the student estimates it implicitly)."""
        return self(noisy)

    def init_for_training(self) -> None:
        """Start as the identity, as a DnCNN does (:func:`start_as_identity`)."""
        start_as_identity(self.body)

    def config(self) -> dict[str, Any]:
        return {"arch": "plain_student", "channels": self.channels, "width": self.width,
                "depth": self.depth, "scale": self.scale, "noise_model": self.noise_model}
