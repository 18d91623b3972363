"""Architecture registry: rebuild a network from the config stored next to its weights.

Weights files carry ``model.config()`` (a JSON dict with an ``"arch"`` key); this
maps it back to a module. New architectures add one entry to
:data:`ARCHITECTURES`.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from edgerestore.errors import InputError, ModelFileError
from edgerestore.models.blindspot import DilatedBlindSpotNet
from edgerestore.models.blindspot_denoiser import build_blindspot_denoiser
from edgerestore.models.dde import DensityConv, DensityMLP, GeneratorMLP
from edgerestore.models.dncnn import DnCNN
from edgerestore.models.laine_unet import LaineBlindSpotUNet

ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "dilated_blindspot": DilatedBlindSpotNet,
    "laine_unet": LaineBlindSpotUNet,
    "blindspot_denoiser": build_blindspot_denoiser,
    "dncnn": DnCNN,
    "dde_mlp": DensityMLP,
    "dde_conv": DensityConv,
    "dde_generator": GeneratorMLP,
}


def build_model(config: dict) -> nn.Module:
    """A freshly initialised module for ``config`` (as written by its ``config()``)."""
    kwargs = dict(config)
    arch = kwargs.pop("arch", None)
    if not isinstance(arch, str) or arch not in ARCHITECTURES:
        known = ", ".join(sorted(ARCHITECTURES))
        raise ModelFileError(f"unknown architecture {arch!r} in model config (known: {known})")
    try:
        return ARCHITECTURES[arch](**kwargs)
    except (TypeError, InputError) as exc:
        raise ModelFileError(f"bad model config for {arch!r}: {exc}") from exc
