"""AP-BSN: a blind-spot denoiser for spatially correlated (camera) noise.

Lee, Son & Lee, "AP-BSN: Self-Supervised Denoising for Real-World Images via Asymmetric
PD and Blind-Spot Network" (CVPR 2022), written from the paper's method around this
project's dilated blind-spot net (any blind-spot backbone works).

Why: a blind-spot net predicts a pixel from its neighbours; when the noise of the
neighbours is correlated with the centre's (demosaicing, JPEG), the net learns to copy
it and removes little noise. Pixel-shuffle downsampling (PD) with stride ``s`` splits
the image into ``s^2`` sub-images of every ``s``-th pixel; pixels ``s`` apart carry
nearly independent noise, so the blind-spot net trained on the sub-images learns to
remove the noise instead of copying it.

* Training: PD with a large stride (paper: 5), the backbone on every sub-image, the
  inverse PD, and AP-BSN's self-supervised L1 loss against the noisy input itself.
* Inference, asymmetric PD: a smaller stride (paper: 2). Sub-images of stride 2 keep
  more image detail (less aliasing) and their noise is still mostly decorrelated.
* Random-replacing refinement (R3): PD destroys fine texture, so the PD output is
  refined ``T`` times (paper: 8): each time a random fraction ``p`` (paper: 0.16) of its
  values is replaced by the noisy ones and the backbone runs with no PD (the centre
  is still never seen, and the surviving noise is too sparse to be copied); the
  average of the ``T`` outputs is the result. The masks are a fixed pattern, not fresh
  random draws: one ``R3_PERIOD``-square 0/1 mask per pass and channel, drawn once from
  ``R3_SEED`` and tiled over the image. So the same image always gives the same
  output, an exported graph (ONNX, TFLite) computes exactly what PyTorch does (no
  random op, which neither format can reproduce), and a tiled runtime whose tile
  origins are multiples of the period gets the same masks as the whole image. The
  pattern is a non-persistent buffer, rebuilt from the seed, never saved in weights.

The ``s^2`` sub-images are folded into the batch dimension rather than tiled into one
mosaic image as the authors' code does: the backbone's zero 'same' padding then
separates them exactly (no receptive field crosses from one sub-image into another),
and the whole path stays reshapes and transposes of rank <= 4 (exportable, and what
the LiteRT GPU delegate takes). Sizes that are not a
multiple of ``s`` are padded by edge replication at the bottom and right: a padded
pixel copies one at distance ``< s``, which lies in another sub-image, so the blind
spot holds at the borders too (reflection would put a copy of the centre pixel into
its own sub-image).

``forward`` follows ``self.training`` as AP-BSN's does: in training mode it is the PD
blind-spot output at the training stride (what the loss needs); in eval mode it is the
full inference (asymmetric PD, then R3), so a loaded model is a plain image -> image
denoiser.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from edgerestore.errors import InputError
from edgerestore.models.image_network import DenoisingNetwork, ImageNetwork
from edgerestore.models.state_match import LayerMismatch, load_matching
from edgerestore.runtime.input_blend import blend_with_input

#: The paper's settings: training stride 5, inference stride 2, R3 with 8 passes at 0.16.
TRAIN_STRIDE, INFER_STRIDE, R3_STEPS, R3_PROB = 5, 2, 8, 0.16
#: Seed of R3's replacement masks (inference is deterministic).
R3_SEED = 0
#: Side of R3's mask pattern: the mask of pixel (i, j) is the pattern's (i mod P, j mod P).
#: Small, because a tiler's tile origins must be multiples of it
#: (:attr:`PDBlindSpotNet.tile_align`);
#: the pattern repeating every 32 pixels does not matter, it only picks which pixels
#: R3 replaces.
R3_PERIOD = 32
#: (stride-2 noise level 0-255, weight of the output against the input): at low noise
#: the detail pixel-shuffling costs outweighs the noise it removes, so part of the input
#: is kept (:mod:`edgerestore.runtime.input_blend`). Measured on real noisy photos held
#: out from training (``python benchmarks/real_noise.py --blend``, result file
#: ``benchmarks/results/real_noise_blend.json``).
INPUT_BLEND = ((2.0, 0.5), (6.0, 1.0))


def pd_down(x: Tensor, stride: int) -> Tensor:
    """[B, C, H, W] -> [B s^2, C, H/s, W/s]: sub-image ``(p, q)`` holds ``x[..., p::s, q::s]``.

    H and W must be multiples of ``stride`` (see :func:`pad_to_multiple`). Written with
    tensors of rank <= 4 only (one 6-D permute would do), because TFLite's GPU delegate
    refuses rank-5/6 RESHAPE and TRANSPOSE and would send the whole graph to the CPU.
    """
    b, c, h, w = x.shape
    s = stride
    h, w = h // s, w // s
    # [(b c i), p, j, q] -> [p, q, (b c i), j] -> [(p q), b, (c i j)] -> [b, (p q), (c i j)]
    y = x.reshape(b * c * h, s, w, s).permute(1, 3, 0, 2).reshape(s * s, b, c * h * w)
    return y.transpose(0, 1).reshape(b * s * s, c, h, w)


def pd_up(y: Tensor, stride: int) -> Tensor:
    """Exact inverse of :func:`pd_down`: [B s^2, C, h, w] -> [B, C, h s, w s] (rank <= 4)."""
    n, c, h, w = y.shape
    s = stride
    b = n // (s * s)
    x = y.reshape(b, s * s, c * h * w).transpose(0, 1).reshape(s, s, b * c * h, w)
    return x.permute(2, 0, 3, 1).reshape(b, c, h * s, w * s)


def r3_masks(steps: int, channels: int, prob: float, period: int = R3_PERIOD,
             seed: int = R3_SEED) -> Tensor:
    """R3's fixed mask pattern: [1, steps * channels, period, period], 1 = take the noisy value.

    Pass ``t``'s mask of channel ``c`` is channel ``t * channels + c``: laid out for
    :meth:`PDBlindSpotNet.refine`, which keeps every tensor at rank 4.
    """
    gen = torch.Generator().manual_seed(seed)
    draw = torch.rand((1, steps * channels, period, period), generator=gen)
    return (draw < prob).float()


def pad_to_multiple(x: Tensor, stride: int) -> Tensor:
    """Edge-replicate the bottom and right so H and W are multiples of ``stride``.

    Always a pad (possibly of zero): an exported graph then takes any size.
    """
    pad_h, pad_w = -x.shape[-2] % stride, -x.shape[-1] % stride
    return F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")


def _check_stride(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 16:
        raise InputError(f"{name} must be an integer in [1, 16], got {value!r}")


class PDBlindSpotNet(DenoisingNetwork):
    """A blind-spot backbone (image -> image, ``channels`` in and out) inside AP-BSN's PD."""

    #: No noise model: it removes the noise it sees, with no level input.
    noise_model = None

    def __init__(self, backbone: ImageNetwork, channels: int, train_stride: int = TRAIN_STRIDE,
                 infer_stride: int = INFER_STRIDE, r3_steps: int = R3_STEPS,
                 r3_prob: float = R3_PROB) -> None:
        super().__init__()
        _check_stride("train_stride", train_stride)
        _check_stride("infer_stride", infer_stride)
        if not isinstance(r3_prob, (int, float)) or not 0.0 <= r3_prob <= 1.0:
            raise InputError(f"r3_prob must be in [0, 1], got {r3_prob!r}")
        if getattr(backbone, "out_channels", channels) != channels:
            raise InputError(f"the backbone must output the image's {channels} channels "
                             f"(AP-BSN regresses the image), not {backbone.out_channels}")
        self.backbone = backbone
        self.channels = channels
        self.train_stride = train_stride
        self.infer_stride = infer_stride
        self.r3_prob = float(r3_prob)
        self.set_r3_steps(r3_steps)

    def set_r3_steps(self, steps: int) -> None:
        """Run inference with ``steps`` R3 passes (0: the PD output alone): R3's speed /
        quality trade-off is an inference choice, the weights are the same."""
        if isinstance(steps, bool) or not isinstance(steps, int) or not 0 <= steps <= 64:
            raise InputError(f"r3_steps must be an integer in [0, 64], got {steps!r}")
        self.r3_steps = steps
        # Rebuilt from the seed, never saved: weights files hold the backbone only.
        self.register_buffer("r3_mask", r3_masks(steps, self.channels, self.r3_prob),
                             persistent=False)

    @property
    def in_channels(self) -> int:
        return self.channels

    @property
    def receptive_field(self) -> int | None:
        """Side of the input window one inference output pixel depends on.

        The backbone (window ``f``) at stride ``s`` sees ``s (f - 1) + 1`` pixels; R3 runs
        the backbone again on that output, widening it by ``f - 1``.
        """
        field = self.backbone.receptive_field
        if field is None:
            return None
        return self.infer_stride * (field - 1) + 1 + (field - 1 if self.r3_steps else 0)

    @property
    def tile_align(self) -> int:
        """The inference stride (a tile then holds the same sub-images) and, with R3, its
        mask period (the same masks), times the backbone's own alignment."""
        own = math.lcm(self.infer_stride, R3_PERIOD) if self.r3_steps else self.infer_stride
        return math.lcm(own, self.infer_stride * self.backbone.tile_align)

    @property
    def square_multiple(self) -> int | None:
        """A square-only backbone needs that multiple on the sub-images, so ``stride`` times
        it on the image (R3's full-resolution passes then get a multiple too)."""
        inner = self.backbone.square_multiple
        return None if inner is None else self.infer_stride * inner

    @property
    def task(self) -> str:
        return "denoise_direct"

    def blind_spot(self, x: Tensor, stride: int) -> Tensor:
        """The backbone on the stride-``stride`` sub-images, reassembled: [B, C, H, W].

        No output pixel depends on its own input pixel, nor on any pixel outside its
        sub-image (a different row or column residue modulo ``stride``).
        """
        h, w = x.shape[-2:]
        padded = pad_to_multiple(x, stride)
        return pd_up(self.backbone(pd_down(padded, stride)), stride)[..., :h, :w]

    def refine(self, noisy: Tensor, denoised: Tensor) -> Tensor:
        """R3: mean of ``r3_steps`` backbone passes on ``denoised`` with a fixed pattern
        (:func:`r3_masks`, tiled from the top-left corner) of its values set to ``noisy``.

        Pass by pass, so memory stays that of one backbone call; all tensors rank 4.
        """
        if self.r3_steps == 0:
            return denoised
        mask = self.tiled_mask(*noisy.shape[-2:]).to(noisy.dtype)
        step = noisy - denoised
        c = self.channels
        total = torch.zeros_like(denoised)
        for t in range(self.r3_steps):
            total = total + self.backbone(denoised + mask[:, t * c:(t + 1) * c] * step)
        return total / self.r3_steps

    def tiled_mask(self, height: int, width: int) -> Tensor:
        """R3's pattern tiled over a ``height x width`` image: [1, T C, H, W].

        Pixel (i, j) takes pattern cell (i mod P, j mod P). Two spellings of the same
        values, because the exporters need different ones: the TorchScript tracer (ONNX,
        dynamic H and W) records a gather with computed indices (Range, Mod, Gather),
        which TFLite would keep as GATHER_ND and bounds checks the GPU delegate refuses;
        torch.export (TFLite, fixed tile) sees concrete sizes, so the pattern is
        concatenated whole-period copies and cropped: CONCATENATION and SLICE only.
        """
        if torch.jit.is_tracing():
            device = self.r3_mask.device
            rows = torch.arange(height, device=device) % R3_PERIOD
            cols = torch.arange(width, device=device) % R3_PERIOD
            return self.r3_mask.index_select(2, rows).index_select(3, cols)
        tall = torch.cat([self.r3_mask] * -(-height // R3_PERIOD), dim=2)
        return torch.cat([tall] * -(-width // R3_PERIOD), dim=3)[..., :height, :width]

    def forward(self, noisy: Tensor) -> Tensor:
        """Training mode: the PD blind-spot output at ``train_stride``; eval: the denoised image."""
        if self.training:
            return self.blind_spot(noisy, self.train_stride)
        return self.refine(noisy, self.blind_spot(noisy, self.infer_stride))

    def nll(self, raw: Tensor, noisy: Tensor, level: Tensor | None = None) -> Tensor:
        """The training loss given ``raw = self(noisy)`` in training mode (computed by a
        wrapper such as DDP): AP-BSN's L1 distance to the noisy input, in fp32.

        The name and signature are the blind-spot trainer's loss hook (as
        :meth:`BlindSpotDenoiser.nll`); L1 is the negative log-likelihood of a Laplace
        model up to constants. ``level`` is not used: there is no noise model.
        """
        return (raw.float() - noisy.float()).abs().mean()

    @property
    def input_blend(self) -> tuple[tuple[float, float], ...]:
        """How much of the output to keep against the input at each measured noise level
        (:mod:`edgerestore.runtime.input_blend`): :data:`INPUT_BLEND`."""
        return INPUT_BLEND

    @torch.no_grad()
    def denoise(self, noisy: Tensor, level: Tensor | None = None, mode: str = "posterior"
                ) -> Tensor:
        """The AP-BSN estimate (asymmetric PD, then R3), blended with the input by the
        measured noise level (:attr:`input_blend`), whatever the mode is set to.

        ``level`` and ``mode`` are the blind-spot denoiser's call signature (the
        trainer's dev-set scoring passes them); this model has no noise model or
        separate prior, so neither changes the result. The blend is the runtime's own
        function, per image of the batch, so PyTorch and an exported file agree.
        """
        was_training = self.training
        self.eval()
        try:
            out = self(noisy).float()
        finally:
            self.train(was_training)
        images = noisy.float().permute(0, 2, 3, 1).cpu().numpy()
        blended = [blend_with_input(x, y, self.input_blend)
                   for x, y in zip(images, out.permute(0, 2, 3, 1).cpu().numpy(), strict=True)]
        return torch.from_numpy(np.stack(blended)).permute(0, 3, 1, 2).to(out.device)

    def init_from_gaussian(self, source: nn.Module) -> list[str]:
        """Start from a Gaussian-head blind-spot model of the same backbone; returns the
        names of the tensors taken.

        Why: the head's first ``channels`` outputs are Laine's prior mean, the clean
        pixel predicted from its neighbours, which is exactly what the L1 loss trains
        this backbone to output; a model trained on synthetic white noise is therefore
        a far better start than random weights (the optimiser restarts, as with any
        ``--init-from``). Layers whose shapes differ other than by the head's extra
        covariance outputs are an error, not silently skipped.
        """
        try:  # first_rows: the head's prior-mean outputs of its last layer
            return load_matching(self, source.state_dict(), first_rows=True).taken
        except LayerMismatch as exc:
            if exc.have is None or exc.need is None:
                raise InputError("the --init-from model has a different backbone (layer "
                                 "names differ); give the same --arch/--width/--depth") from exc
            raise InputError(f"the --init-from model's {exc.name} is {exc.have}, "
                             f"this backbone needs {exc.need}") from exc

    def config(self) -> dict[str, Any]:
        """JSON-serialisable constructor arguments, for :func:`registry.build_model`."""
        return {"arch": "pd_blindspot", "channels": self.channels,
                "train_stride": self.train_stride, "infer_stride": self.infer_stride,
                "r3_steps": self.r3_steps, "r3_prob": self.r3_prob,
                "backbone": self.backbone.config()}
