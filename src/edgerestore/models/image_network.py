"""What every image network states about itself, so that export and the runtime ask it.

A tiler needs a network's receptive field (the halo each tile gets), the multiple its
tile origins must be (AP-BSN's pixel-shuffle stride and R3 mask period) and whether it
takes only square inputs of some side multiple (Laine's U-Net); an exporter needs which
task a runtime should run the file as and the noise it was trained on. These are facts
of an architecture and its constructor arguments, so each network class states them
here, next to the code that makes them true, rather than export or the model card
re-deriving them from config dictionaries (where a blind-spot net's ``hole`` was once
forgotten and its exported tile halo came out one pixel short).

:class:`ImageNetwork` is every network that maps an image to an image of the same size
(a denoiser, or a blind-spot backbone that outputs prior parameters);
:class:`DenoisingNetwork` is the subset that is a complete denoiser, what
:mod:`edgerestore.models.torch_denoisers` runs and ``edgerestore export`` writes.
"""

from __future__ import annotations

import abc

from torch import Tensor, nn

#: Training noise assumed when a blind-spot model's card records none (Laine et al.'s).
BLINDSPOT_ASSUMED_NOISE = "gauss:25"


class ImageNetwork(nn.Module, abc.ABC):
    """An image -> same-size image network, and the facts a tiler and an exporter need.

    Subclasses set ``in_channels`` (the image channels the network reads) and define
    :attr:`receptive_field`; the other facts default to those of a plain conv net.
    """

    in_channels: int
    #: Tile origins must be multiples of this for a tiled run to equal a whole-image one.
    tile_align: int = 1
    #: Square inputs whose side is a multiple of this run without the network padding
    #: them itself (an exported graph takes only those); None: any H x W.
    square_multiple: int | None = None

    @property
    @abc.abstractmethod
    def receptive_field(self) -> int | None:
        """Side of the input window one output pixel depends on (a tiler's overlap is
        half of it); None when it is (nearly) the whole input."""


class DenoisingNetwork(ImageNetwork):
    """A complete denoiser: noisy image in, denoised image out (in eval mode)."""

    #: The noise the network models: 'gauss', 'poisson', or None for one that removes
    #: what it sees without a noise model (AP-BSN).
    noise_model: str | None
    #: Training noise (a :class:`~edgerestore.runtime.noise.NoiseSpec` string) assumed
    #: when its card records none.
    assumed_training_noise: str = BLINDSPOT_ASSUMED_NOISE
    #: Sub-image stride of the MAD noise estimate when no level is given.
    estimate_stride: int = 1
    #: (noise level 0-255, weight) pairs: how much of its output to keep against the
    #: input at each measured level (:mod:`edgerestore.runtime.input_blend`); None: all.
    input_blend: tuple[tuple[float, float], ...] | None = None

    @property
    @abc.abstractmethod
    def task(self) -> str:
        """What a runtime runs the exported network as (a model card ``task``, see
        :data:`edgerestore.runtime.model_card.DENOISER_TASKS`)."""

    @abc.abstractmethod
    def denoise(self, noisy: Tensor, level: Tensor | None = None) -> Tensor:
        """The denoised batch; ``level`` (noise std in [0, 1] units, or lambda) is used by
        networks told the level and ignored by the others; None: their own estimate."""
