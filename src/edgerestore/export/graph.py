"""The exportable graphs: what an ONNX or TFLite file computes, as plain torch modules.

Three graphs cover every shipped network:

* :class:`PosteriorMeanGraph` (task ``denoise_posterior``): a blind-spot model's
  backbone plus Laine's Bayesian step, inputs ``noisy`` [1,C,H,W] and the noise level
  [1], output the posterior mean. :mod:`edgerestore.models.gaussian_head` does that
  step with float64 Cholesky factorisations and batched ``linalg.solve``, which
  neither ONNX nor TFLite (nor a phone GPU) can run, so it is rewritten here as
  per-pixel float32 arithmetic: ``Sigma_x = U U^T + eps I`` and ``Sigma_y = Sigma_x +
  Sigma_n`` are built entry by entry from channel slices, and the 3x3 system is solved
  with the adjugate over the determinant. Only Slice/Mul/Add/Sub/Div/Max/Concat
  reach the exported file, and every accelerator runs those.
* :class:`RawGraph` (``denoise_raw_prior``): the backbone alone, for runtimes that
  do the Bayesian step in numpy (:mod:`edgerestore.runtime.bayes`) and for debugging.
* Every other :class:`~edgerestore.models.image_network.DenoisingNetwork` exports as it
  is, under the task it states: DnCNN (``map_denoiser`` or ``dae``: plain convs and
  ReLUs), AP-BSN (:class:`~edgerestore.models.pd_blindspot.PDBlindSpotNet`,
  ``denoise_direct``: its whole eval-mode inference, pixel-shuffle downsampling at the
  inference stride as rank-4 reshapes and transposes, the backbone, the inverse
  shuffle, then R3's passes with the fixed mask pattern as a constant; image in, image
  out, no noise-level input since it models no noise level).

:class:`NHWC` wraps any of them with channel-last image input/output: Android
bitmaps and the LiteRT GPU delegate are channel-last, so a permute in the graph
saves a copy per frame on the device.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from edgerestore.errors import InputError, ModelFileError
from edgerestore.models.blindspot_denoiser import BlindSpotDenoiser
from edgerestore.models.gaussian_head import POISSON_SIGNAL_FLOOR
from edgerestore.models.image_network import DenoisingNetwork
from edgerestore.runtime.bayes import COV_EPS, NOISE_VAR_FLOOR


class GaussianPosterior(nn.Module):
    """Per-pixel posterior mean of Laine's Gaussian head, in export-friendly float32 ops.

    ``forward(raw, noisy, level)``: ``raw`` [B,K,H,W] prior parameters, ``noisy``
    [B,C,H,W], ``level`` [1] (Gaussian: noise std in [0, 1] units; Poisson: lambda).
    Same gain form and constants as :func:`gaussian_head.posterior_mean`:
    ``mu_x + Sigma_x (Sigma_x + Sigma_n)^-1 (y - mu_x)``.

    Float32 is enough at realistic noise: on the shipped RGB model's outputs the result
    is within 1.2e-7 of the float64 Cholesky head at sigma 25-50, 1.4e-6 at sigma 5
    and 1.6e-5 at sigma 2, where the determinant's cancellation starts to show
    (``Sigma_y`` becomes ill-conditioned as the noise vanishes).
    """

    def __init__(self, channels: int, noise_model: str) -> None:
        super().__init__()
        if channels not in (1, 3):
            raise InputError(f"the Gaussian head supports 1 or 3 channels, got {channels}")
        if noise_model not in ("gauss", "poisson"):
            raise InputError(f"noise model must be gauss or poisson, got {noise_model!r}")
        self.channels = channels
        self.noise_model = noise_model

    def noise_variance(self, mean: Tensor, level: Tensor) -> Tensor:
        """Diagonal of Sigma_n, broadcastable to ``mean``, floored as in training."""
        level = level.reshape(-1, 1, 1, 1)
        if self.noise_model == "gauss":
            var = level * level
        else:
            var = torch.clamp(mean, min=POISSON_SIGNAL_FLOOR) / level
        return torch.clamp(var, min=NOISE_VAR_FLOOR)

    def forward(self, raw: Tensor, noisy: Tensor, level: Tensor) -> Tensor:
        c = self.channels
        mean = raw[:, :c]
        var = self.noise_variance(mean, level)
        if c == 1:
            prior = raw[:, 1:2] * raw[:, 1:2] + COV_EPS
            return mean + prior * (noisy - mean) / (prior + var)
        return _posterior3(raw, noisy, var, per_channel=self.noise_model == "poisson")


def _posterior3(raw: Tensor, noisy: Tensor, var: Tensor, per_channel: bool) -> Tensor:
    """RGB posterior mean by the symmetric adjugate.

    ``var`` is [B,3,H,W] when ``per_channel`` (Poisson), else one variance per image
    used for all three channels as is, so no broadcast op reaches the file.
    """

    def ch(t: Tensor, i: int) -> Tensor:
        return t[:, i : i + 1]

    # U = [[a, b, c], [0, d, e], [0, 0, f]] (row-major upper triangle, Laine's layout).
    a, b, c, d, e, f = (ch(raw, 3 + i) for i in range(6))
    n0, n1, n2 = (ch(var, i) for i in range(3)) if per_channel else (var, var, var)
    # Sigma_x = U U^T + eps I.
    x00 = a * a + b * b + c * c + COV_EPS
    x01 = b * d + c * e
    x02 = c * f
    x11 = d * d + e * e + COV_EPS
    x12 = e * f
    x22 = f * f + COV_EPS
    # Sigma_y = Sigma_x + Sigma_n: only the diagonal changes.
    y00, y11, y22 = x00 + n0, x11 + n1, x22 + n2
    # Cofactors of the symmetric Sigma_y, then Sigma_y^-1 r = adj(Sigma_y) r / det.
    k00 = y11 * y22 - x12 * x12
    k01 = x02 * x12 - x01 * y22
    k02 = x01 * x12 - x02 * y11
    k11 = y00 * y22 - x02 * x02
    k12 = x01 * x02 - y00 * x12
    k22 = y00 * y11 - x01 * x01
    det = y00 * k00 + x01 * k01 + x02 * k02
    r0, r1, r2 = (ch(noisy, i) - ch(raw, i) for i in range(3))
    g0 = (k00 * r0 + k01 * r1 + k02 * r2) / det
    g1 = (k01 * r0 + k11 * r1 + k12 * r2) / det
    g2 = (k02 * r0 + k12 * r1 + k22 * r2) / det
    return torch.cat([ch(raw, 0) + x00 * g0 + x01 * g1 + x02 * g2,
                      ch(raw, 1) + x01 * g0 + x11 * g1 + x12 * g2,
                      ch(raw, 2) + x02 * g0 + x12 * g1 + x22 * g2], dim=1)


class PosteriorMeanGraph(nn.Module):
    """Backbone + float32 Bayesian step: ``(noisy, level) -> posterior mean``."""

    def __init__(self, model: BlindSpotDenoiser) -> None:
        super().__init__()
        self.backbone = model.backbone
        # A named submodule, so its exported nodes are scoped "/bayes/...": int8
        # quantisation keeps exactly those in float (see onnx_export).
        self.bayes = GaussianPosterior(model.channels, model.noise_model)

    def forward(self, noisy: Tensor, level: Tensor) -> Tensor:
        return self.bayes(self.backbone(noisy), noisy, level)


class LearnedLevelGraph(nn.Module):
    """Backbone + Bayesian step at the model's own noise level: ``noisy -> posterior mean``.

    For models trained with a learned level (``sigma_mode`` global or estimated), e.g.
    on camera photos, whose noise the MAD estimate a runtime would otherwise use
    underestimates badly (it is spatially correlated). Tiled, the estimator sees one
    tile (with its halo) at a time: a local level, which suits signal-dependent noise.
    """

    def __init__(self, model: BlindSpotDenoiser) -> None:
        super().__init__()
        self.model = model
        self.bayes = GaussianPosterior(model.channels, model.noise_model)

    def forward(self, noisy: Tensor) -> Tensor:
        return self.bayes(self.model.backbone(noisy), noisy, self.model.estimated_level(noisy))


class RawGraph(nn.Module):
    """The backbone alone: ``noisy -> raw prior parameters [1,K,H,W]``."""

    def __init__(self, model: BlindSpotDenoiser) -> None:
        super().__init__()
        self.backbone = model.backbone

    def forward(self, noisy: Tensor) -> Tensor:
        return self.backbone(noisy)


class NHWC(nn.Module):
    """Channel-last image input and output around an NCHW graph (the level stays [1])."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, noisy: Tensor, *rest: Tensor) -> Tensor:
        out = self.inner(noisy.permute(0, 3, 1, 2), *rest)
        return out.permute(0, 2, 3, 1)


@dataclass(frozen=True)
class GraphSpec:
    """An exportable graph and what a runtime needs to know to feed it."""

    module: nn.Module
    task: str
    input_names: tuple[str, ...]
    output_name: str
    channels: int
    out_channels: int
    layout: str
    #: Square inputs whose side is a multiple of this (Laine's U-Net: 32); else None (any HxW).
    square_multiple: int | None

    @property
    def level_input(self) -> str | None:
        return self.input_names[1] if len(self.input_names) > 1 else None

    def image_shape(self, height: int, width: int) -> tuple[int, ...]:
        """The image input's shape for one HxW tile in this graph's layout."""
        if self.layout == "NHWC":
            return (1, height, width, self.channels)
        return (1, self.channels, height, width)

    def example_inputs(self, height: int, width: int, level: float) -> tuple[Tensor, ...]:
        """Tracing inputs: a mid-grey-plus-noise image (and the level)."""
        gen = torch.Generator().manual_seed(0)
        image = 0.5 + 0.1 * torch.randn(self.image_shape(height, width), generator=gen)
        if self.level_input is None:
            return (image,)
        return image, torch.tensor([level], dtype=torch.float32)


def build_graph(model: nn.Module, config: dict, *, raw: bool = False,
                nhwc: bool = False) -> GraphSpec:
    """The graph to export for a loaded network (see the module docstring).

    Only a blind-spot denoiser's graph is rewritten (its Bayesian step, or ``raw``: the
    backbone alone); every other denoising network is exported as it is.
    """
    arch = config.get("arch")
    if not isinstance(model, DenoisingNetwork):
        raise ModelFileError(f"a {arch} network cannot be exported on its own; export the "
                             "denoiser file that contains it")
    channels = out_channels = model.in_channels
    if isinstance(model, BlindSpotDenoiser):
        if raw:
            module: nn.Module = RawGraph(model)
            task, inputs, output = "denoise_raw_prior", ("noisy",), "raw"
            out_channels = model.backbone.out_channels
        elif model.task == "denoise_direct":  # a learned level, computed in the graph
            module = LearnedLevelGraph(model)
            task, inputs, output = model.task, ("noisy",), "denoised"
        else:  # known, or measured by the runtime (numpy) before the graph runs
            module = PosteriorMeanGraph(model)
            level = "sigma" if model.noise_model == "gauss" else "lambda"
            task, inputs, output = model.task, ("noisy", level), "denoised"
    else:
        if raw:
            raise InputError(f"--raw applies to blind-spot models with a Gaussian prior head; "
                             f"a {arch} network outputs the denoised image itself")
        if model.square_multiple:
            raise ModelFileError(f"a {arch} network with a square-only backbone cannot be "
                                 "exported (AP-BSN supports the dilated blind-spot backbone: "
                                 "Laine's U-Net needs square inputs that PD would halve)")
        module, task, inputs, output = model, model.task, ("noisy",), "denoised"
    if nhwc:
        module = NHWC(module)
    return GraphSpec(module.eval(), task, inputs, output, channels, out_channels,
                     "NHWC" if nhwc else "NCHW", model.square_multiple)
