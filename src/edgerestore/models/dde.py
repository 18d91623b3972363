"""Denoising density estimators (Bigdeli et al., arXiv 2001.02728): networks, loss, log Z.

A DDE is a scalar network ``s(x)`` trained so that ``x~ + sigma^2 grad s(x~)`` denoises
``x~ = x + N(0, sigma^2 I)``. By Tweedie's formula the optimal denoiser is
``x~ + sigma^2 grad log p_sigma(x~)``, where ``p_sigma = p * N(0, sigma^2 I)`` is the
Gaussian-smoothed data density, so the minimiser of the loss has
``s = log p_sigma + const``: an unnormalised log-density learned by denoising alone.
The gradient of ``s`` is what the loss sees, so activations must be smooth (softplus,
swish or tanh): a ReLU net's input gradient is piecewise constant and its second
derivative, which the loss backpropagates through, is zero.

The constant is fixed afterwards by importance sampling (:func:`log_normaliser`), so
``s(x) - log Z`` is a normalised log-density of ``p_sigma`` and test log-likelihoods
can be compared with other density estimators.

The networks here are also the generator architectures of the KL-trained generator
(:mod:`edgerestore.models.train_dde`); all of them rebuild from ``config()``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from edgerestore.errors import InputError

ACTIVATIONS: dict[str, type[nn.Module]] = {"softplus": nn.Softplus, "swish": nn.SiLU,
                                           "tanh": nn.Tanh}


def _activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise InputError(f"activation {name!r}: use one of {', '.join(ACTIVATIONS)} "
                         "(the DDE loss needs a smooth input gradient)")
    return ACTIVATIONS[name]()


def _mlp(sizes: list[int], act: str) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(_activation(act))
    return nn.Sequential(*layers)


class DensityMLP(nn.Module):
    """Scalar ``s(x)`` for vectors (or any shape, flattened): the DDE for 2-D toy data."""

    def __init__(self, shape: list[int], width: int = 128, depth: int = 3,
                 activation: str = "softplus") -> None:
        super().__init__()
        if width < 1 or depth < 1:
            raise InputError("DDE width and depth must be at least 1")
        self.shape = list(shape)
        self.width, self.depth, self.activation = width, depth, activation
        self.net = _mlp([math.prod(shape), *[width] * depth, 1], activation)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x.flatten(1)).squeeze(1)

    def config(self) -> dict:
        return {"arch": "dde_mlp", "shape": self.shape, "width": self.width,
                "depth": self.depth, "activation": self.activation}


class DensityConv(nn.Module):
    """Scalar ``s(x)`` for small images: two strided smooth conv stages, then a linear head."""

    def __init__(self, shape: list[int], width: int = 32, activation: str = "softplus") -> None:
        super().__init__()
        channels, height, wide = shape
        if height % 4 or wide % 4:
            raise InputError(f"conv DDE needs sides divisible by 4, got {height}x{wide}")
        self.shape, self.width, self.activation = list(shape), width, activation
        self.features = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), _activation(activation),
            nn.Conv2d(width, width, 3, stride=2, padding=1), _activation(activation),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), _activation(activation))
        self.head = _mlp([2 * width * (height // 4) * (wide // 4), 4 * width, 1], activation)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x).flatten(1)).squeeze(1)

    def config(self) -> dict:
        return {"arch": "dde_conv", "shape": self.shape, "width": self.width,
                "activation": self.activation}


class GeneratorMLP(nn.Module):
    """``g(z)``: latent ``[N, latent_dim]`` to samples ``[N, *shape]``.

    ``squash`` maps the output into [0, 1] with a sigmoid (images); without it the
    output is unbounded (2-D toy data).
    """

    def __init__(self, latent_dim: int, shape: list[int], width: int = 256, depth: int = 2,
                 activation: str = "swish", squash: bool = False) -> None:
        super().__init__()
        if latent_dim < 1:
            raise InputError("latent_dim must be at least 1")
        self.latent_dim, self.shape = latent_dim, list(shape)
        self.width, self.depth, self.activation, self.squash = width, depth, activation, squash
        self.net = _mlp([latent_dim, *[width] * depth, math.prod(shape)], activation)

    def forward(self, z: Tensor) -> Tensor:
        out = self.net(z).reshape(z.shape[0], *self.shape)
        return torch.sigmoid(out) if self.squash else out

    def config(self) -> dict:
        return {"arch": "dde_generator", "latent_dim": self.latent_dim, "shape": self.shape,
                "width": self.width, "depth": self.depth, "activation": self.activation,
                "squash": self.squash}


def build_density(shape: list[int], kind: str, width: int,
                  activation: str = "softplus") -> nn.Module:
    """An MLP DDE for vectors or a conv DDE for ``[C, H, W]`` images (``kind`` = mlp|conv)."""
    if kind == "conv":
        if len(shape) != 3:
            raise InputError(f"conv DDE needs image samples [C, H, W], got shape {shape}")
        return DensityConv(shape, width, activation)
    if kind == "mlp":
        return DensityMLP(shape, width, 3, activation)
    raise InputError(f"DDE kind {kind!r}: use mlp or conv")


def grad_s(s: nn.Module, x: Tensor, create_graph: bool) -> Tensor:
    """``grad_x s(x)`` per sample (s is summed over the batch: samples are independent)."""
    with torch.enable_grad():
        if not x.requires_grad:
            x = x.detach().requires_grad_(True)
        return torch.autograd.grad(s(x).sum(), x, create_graph=create_graph)[0]


def dde_loss(s: nn.Module, x: Tensor, sigma: float, noise: Tensor | None = None) -> Tensor:
    """``mean_batch 0.5 ||x~ + sigma^2 grad s(x~) - x||^2`` with ``x~ = x + sigma * noise``."""
    if noise is None:
        noise = torch.randn_like(x)
    noisy = (x + sigma * noise).detach().requires_grad_(True)
    denoised = noisy + sigma**2 * grad_s(s, noisy, create_graph=True)
    return 0.5 * (denoised - x).flatten(1).pow(2).sum(1).mean()


def denoise(s: nn.Module, noisy: Tensor, sigma: float) -> Tensor:
    """The DDE's free denoiser ``x~ + sigma^2 grad s(x~)`` (the posterior mean at its optimum)."""
    return (noisy + sigma**2 * grad_s(s, noisy, create_graph=False)).detach()


@torch.no_grad()
def log_normaliser(s: nn.Module, shape: list[int], sigma: float, samples: int = 100_000,
                   batch: int = 10_000, generator: torch.Generator | None = None,
                   device: str = "cpu") -> float:
    """``log Z = log E_u[exp(s(u)) / q(u)]``, ``u ~ q = N(0, (1 + sigma^2) I)``.

    The proposal is the smoothed density of standardised data (unit variance per
    dimension) convolved with the DDE noise, so data should be standardised first.
    Returns the log of the sample mean, computed stably (log-sum-exp).
    """
    if samples < 1:
        raise InputError("log Z needs at least one importance sample")
    dim = math.prod(shape)
    var = 1.0 + sigma**2
    terms = []
    for start in range(0, samples, batch):
        n = min(batch, samples - start)
        u = torch.randn((n, *shape), generator=generator).to(device) * math.sqrt(var)
        log_q = -0.5 * u.flatten(1).pow(2).sum(1) / var - 0.5 * dim * math.log(2 * math.pi * var)
        terms.append((s(u) - log_q).double().cpu())
    all_terms = torch.cat(terms)
    return float(torch.logsumexp(all_terms, 0) - math.log(all_terms.numel()))


@torch.no_grad()
def log_likelihood(s: nn.Module, x: Tensor, log_z: float, batch: int = 10_000) -> Tensor:
    """Normalised ``log p_sigma(x) = s(x) - log Z`` per sample."""
    return torch.cat([s(x[i:i + batch]) for i in range(0, x.shape[0], batch)]) - log_z
