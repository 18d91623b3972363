"""Dilated blind-spot network of Honzátko et al. 2020 (arXiv 2008.11010).

A blind-spot network predicts each pixel from its neighbours only, so it can be
trained on noisy images alone (the noisy pixel cannot simply be copied). Laine et
al. get there with four rotated, shifted U-Nets; this architecture instead uses
one plain conv trunk plus, at every trunk level, a 3x3 dilated convolution whose
centre tap does not exist.

Why it is blind although the trunk sees every pixel: after ``c`` 3x3 convs a
trunk feature depends on inputs within Chebyshev distance ``c``. The branch at
level ``c`` has dilation ``c + 1`` and no centre tap, so it reads trunk features
exactly ``c + 1`` pixels away (horizontally, vertically or diagonally); their
inputs lie within ``c`` of those, which never reaches back to the centre.

Receptive field: branch ``c`` reaches ``c + (c + 1) = 2c + 1`` pixels out. With
levels ``c = 0 .. depth-1`` (``depth`` branches, the first reading the input
itself, and ``depth - 1`` trunk convs) the field is ``(4 depth - 1)^2`` minus the
centre: depth 11 gives the paper's 43x43, and 11 branches of 64 channels give
the 704-channel concatenation of the paper's figure (mixed 704 -> 384 -> 192 ->
96, i.e. ``branch_width=64, mix_widths=(384, 192, 96)``). The defaults follow
the authors' code instead: branch width 18, so the concatenation is 11 x 18 = 198
channels, mixed by 1x1 convs of widths 99 and 99 (their "198 -> 99 -> 99").

A larger blind spot (``hole``): branch ``c`` with dilation ``c + 1 + hole`` reads
trunk features ``c + 1 + hole`` pixels away, whose inputs lie within ``c`` of them,
so no output sees any input within Chebyshev distance ``hole`` of its centre. Why:
camera noise is spatially correlated (demosaicing spreads each sensor value over its
neighbours: correlation ~0.5 at lag 1, ~0.1 at lag 2, ~0.02 at lag 3 for this
project's simulator), and a net that sees the correlated neighbours learns to copy
their noise. Hiding the 3x3 (``hole=1``) neighbourhood removes most of that while the
prediction still uses every other pixel at full resolution (unlike pixel-shuffle
downsampling, which throws away the detail of fine-textured images). The idea is that
of blind-*patch* networks for real noise (e.g. Wang et al., LG-BPN, CVPR 2023); this is
our own formulation on Honzatko's branches. ``hole=0`` is the paper's network.

All convs use zero 'same' padding, so any HxW works and padding is input-free
(it never copies the centre pixel into its own neighbourhood).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from edgerestore.errors import InputError
from edgerestore.models.image_network import ImageNetwork

_SLOPE = 0.1
#: Index of the centre tap in a row-major flattened 3x3 kernel.
_CENTRE = 4


class CenterlessConv2d(nn.Module):
    """3x3 conv, dilation ``d``, padding ``d``, whose centre tap is structurally zero.

    Only the 8 off-centre taps are parameters (shape [out, in, 8]); the zero centre
    is inserted when the kernel is built, so no optimiser step, weight decay or
    loaded state dict can make it non-zero, unlike a mask applied to a full kernel.
    """

    def __init__(self, in_channels: int, out_channels: int, dilation: int) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.dilation = dilation
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, 8))
        self.bias = nn.Parameter(torch.empty(out_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """nn.Conv2d's default init, with the fan-in of the 8 real taps."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        bound = 1.0 / math.sqrt(self.in_channels * 8)
        nn.init.uniform_(self.bias, -bound, bound)

    def kernel(self) -> Tensor:
        """The dense [out, in, 3, 3] kernel with a zero centre."""
        w = self.weight
        centre = w.new_zeros(*w.shape[:2], 1)
        flat = torch.cat([w[..., :_CENTRE], centre, w[..., _CENTRE:]], dim=-1)
        return flat.view(*w.shape[:2], 3, 3)

    def forward(self, x: Tensor) -> Tensor:
        d = self.dilation
        return F.conv2d(x, self.kernel(), self.bias, padding=d, dilation=d)

    def count_macs(self, output: Tensor) -> tuple[int, int]:
        """(real, dense) multiply-accumulates: 8 vs 9 taps per output value."""
        per_tap = output.numel() * self.in_channels
        return 8 * per_tap, 9 * per_tap

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, dilation={self.dilation}"


def _check_widths(**widths: int | tuple[int, ...]) -> None:
    for name, value in widths.items():
        values = value if isinstance(value, tuple) else (value,)
        if not all(isinstance(v, int) and v >= 1 for v in values):
            raise InputError(f"{name} must be positive integers, got {value!r}")


class DilatedBlindSpotNet(ImageNetwork):
    """Honzátko et al.'s blind-spot denoiser: conv trunk + centreless dilated branches.

    ``depth`` is the number of branches (trunk levels 0 .. depth-1, level 0 being
    the input); the trunk therefore has ``depth - 1`` 3x3 convs of ``width``
    channels. See the module docstring for the receptive-field arithmetic.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        width: int = 128,
        depth: int = 11,
        branch_width: int = 18,
        mix_widths: tuple[int, ...] = (99, 99),
        hole: int = 0,
    ) -> None:
        super().__init__()
        mix_widths = tuple(mix_widths)
        _check_widths(in_channels=in_channels, out_channels=out_channels, width=width,
                      depth=depth, branch_width=branch_width, mix_widths=mix_widths)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.width = width
        self.depth = depth
        self.branch_width = branch_width
        self.mix_widths = mix_widths
        if isinstance(hole, bool) or not isinstance(hole, int) or not 0 <= hole <= 8:
            raise InputError(f"hole must be an integer in [0, 8], got {hole!r}")
        self.hole = hole

        self.trunk = nn.ModuleList(
            nn.Conv2d(in_channels if c == 0 else width, width, 3, padding=1)
            for c in range(depth - 1)
        )
        self.branches = nn.ModuleList(
            CenterlessConv2d(in_channels if c == 0 else width, branch_width,
                             dilation=c + 1 + hole)
            for c in range(depth)
        )
        mixer: list[nn.Module] = []
        channels = branch_width * depth
        for w in mix_widths:
            mixer += [nn.Conv2d(channels, w, 1), nn.LeakyReLU(_SLOPE)]
            channels = w
        mixer.append(nn.Conv2d(channels, out_channels, 1))
        self.mixer = nn.Sequential(*mixer)

    @property
    def receptive_field(self) -> int:
        """Side of the square input window each output sees (centre excluded)."""
        return 4 * self.depth - 1 + 2 * self.hole

    def forward(self, x: Tensor) -> Tensor:
        branches = [F.leaky_relu(self.branches[0](x), _SLOPE)]
        for conv, branch in zip(self.trunk, self.branches[1:], strict=True):
            x = F.leaky_relu(conv(x), _SLOPE)
            branches.append(F.leaky_relu(branch(x), _SLOPE))
        return self.mixer(torch.cat(branches, dim=1))

    def config(self) -> dict:
        """JSON-serialisable constructor arguments, for :func:`registry.build_model`."""
        return {
            "arch": "dilated_blindspot",
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "width": self.width,
            "depth": self.depth,
            "branch_width": self.branch_width,
            "mix_widths": list(self.mix_widths),
            **({"hole": self.hole} if self.hole else {}),
        }
