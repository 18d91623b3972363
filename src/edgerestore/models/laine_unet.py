"""Blind-spot U-Net of Laine et al. 2019, "High-Quality Self-Supervised Deep Image Denoising".

Structure of the released TensorFlow code (NVlabs/selfsupervised-denoising,
``analysis_network`` with ``blindspot=True``), re-expressed in PyTorch:

* The batch is stacked with its 90/180/270-degree rotations on the batch axis,
  so one U-Net with an *upward-only* receptive field looks in four directions.
* Every 3x3 conv is a shift-down conv (pad 2 rows on top, none below): output
  row ``i`` sees input rows ``i-2 .. i`` only. Before each 2x2 max-pool the
  features move down one row, so pooling never pulls in a lower row either.
* Noise2Noise U-Net: encoder convs of ``base_width`` (48) channels with five
  pooling levels, nearest-neighbour upsampling, decoder convs of twice that (96).
* At the end the features move down one more row (now row ``i`` sees rows
  ``< i`` only: the centre is excluded), are rotated back and concatenated on
  channels (4 x 96 = 384), then mixed by 1x1 convs 384 -> 384 -> 96 -> outputs.
  The union of the four half-planes is the whole image minus the centre pixel.

Five poolings need a side that is a multiple of 32 and the rotations need a
square, so ``forward`` zero-pads bottom/right to the next square multiple of 32
and crops back: any HxW works. Zero (not reflect) padding keeps the blind spot
exact at the borders; a reflection would copy a pixel into its own neighbourhood.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from edgerestore.errors import InputError
from edgerestore.models.image_network import ImageNetwork

_SLOPE = 0.1
_LEVELS = 5
_MULTIPLE = 2**_LEVELS


class ShiftConv2d(nn.Conv2d):
    """kxk conv whose receptive field extends upwards only (rows ``i-k+1 .. i``).

    Equivalent to Laine's pad-top / 'SAME' conv / crop-bottom, but done as one
    asymmetric pad so the conv computes exactly H output rows.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3) -> None:
        super().__init__(in_channels, out_channels, kernel_size)
        half = kernel_size // 2
        self._pad = (half, half, 2 * half, 0)

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(F.pad(x, self._pad))


def _shift_down(x: Tensor) -> Tensor:
    """Move features down one row (zero top row), dropping the bottom row."""
    return F.pad(x[:, :, :-1], (0, 0, 1, 0))


def _he_init(conv: nn.Conv2d, gain: float = math.sqrt(2.0)) -> None:
    """Laine's init: normal weights with std gain / sqrt(fan_in), zero bias."""
    fan_in = conv.weight[0].numel()
    nn.init.normal_(conv.weight, 0.0, gain / math.sqrt(fan_in))
    nn.init.zeros_(conv.bias)


class LaineBlindSpotUNet(ImageNetwork):
    """Laine et al.'s four-rotation blind-spot U-Net (see the module docstring)."""

    #: Five 2x2 poolings and four rotations: square sides that are multiples of 32 are
    #: not padded (``forward`` pads any other size up to one).
    square_multiple = _MULTIPLE

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        base_width: int = 48,
        head_widths: tuple[int, ...] = (384, 96),
    ) -> None:
        super().__init__()
        head_widths = tuple(head_widths)
        for name, value in [("in_channels", in_channels), ("out_channels", out_channels),
                            ("base_width", base_width), *(("head_widths", w) for w in head_widths)]:
            if not isinstance(value, int) or value < 1:
                raise InputError(f"{name} must be positive integers, got {value!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.base_width = base_width
        self.head_widths = head_widths

        enc, dec = base_width, 2 * base_width
        # enc_conv0 .. enc_conv6; convs 1..5 are each followed by a pool.
        self.encoder = nn.ModuleList(
            ShiftConv2d(in_channels if i == 0 else enc, enc) for i in range(_LEVELS + 2)
        )
        # dec_conv5a/b .. dec_conv1a/b; each pair reads the upsampled features
        # concatenated with the skip (pool4 .. pool1 have `enc` channels, pool0 is the input).
        skips = [enc] * (_LEVELS - 1) + [in_channels]
        self.decoder = nn.ModuleList(
            nn.ModuleList([ShiftConv2d((enc if i == 0 else dec) + skip, dec),
                           ShiftConv2d(dec, dec)])
            for i, skip in enumerate(skips)
        )
        head: list[nn.Module] = []
        channels = 4 * dec
        for w in head_widths:
            head += [nn.Conv2d(channels, w, 1), nn.LeakyReLU(_SLOPE)]
            channels = w
        head.append(nn.Conv2d(channels, out_channels, 1))
        self.head = nn.Sequential(*head)

        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                _he_init(module)
        _he_init(head[-1], gain=1.0)

    @property
    def receptive_field(self) -> None:
        """None: five poolings make each output see (nearly) the whole padded square."""
        return None

    def _unet(self, x: Tensor) -> Tensor:
        """The upward-looking U-Net on the rotated batch (side a multiple of 32)."""
        skips = [x]
        h = F.leaky_relu(self.encoder[0](x), _SLOPE)
        for conv in self.encoder[1 : _LEVELS + 1]:
            h = F.max_pool2d(_shift_down(F.leaky_relu(conv(h), _SLOPE)), 2)
            skips.append(h)
        h = F.leaky_relu(self.encoder[-1](skips.pop()), _SLOPE)  # pool5 is no skip
        for conv_a, conv_b in self.decoder:
            h = torch.cat([F.interpolate(h, scale_factor=2.0, mode="nearest"), skips.pop()], 1)
            h = F.leaky_relu(conv_a(h), _SLOPE)
            h = F.leaky_relu(conv_b(h), _SLOPE)
        return _shift_down(h)

    def forward(self, x: Tensor) -> Tensor:
        height, width = x.shape[-2:]
        side = -(-max(height, width) // _MULTIPLE) * _MULTIPLE
        x = F.pad(x, (0, side - width, 0, side - height))
        rotated = torch.cat([torch.rot90(x, k, (2, 3)) for k in range(4)], dim=0)
        views = self._unet(rotated).chunk(4, dim=0)
        h = torch.cat([torch.rot90(v, -k, (2, 3)) for k, v in enumerate(views)], dim=1)
        return self.head(h)[:, :, :height, :width]

    def config(self) -> dict:
        """JSON-serialisable constructor arguments, for :func:`registry.build_model`."""
        return {
            "arch": "laine_unet",
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "base_width": self.base_width,
            "head_widths": list(self.head_widths),
        }
