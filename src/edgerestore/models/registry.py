"""Architecture registry: rebuild a network from the config stored next to its weights.

Weights files carry ``model.config()`` (a JSON dict with an ``"arch"`` key); this
maps it back to a module. New architectures add one entry to
:data:`ARCHITECTURES`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from edgerestore.errors import InputError, ModelFileError
from edgerestore.models.blindspot import DilatedBlindSpotNet
from edgerestore.models.blindspot_denoiser import BlindSpotDenoiser, NoiseModel, SigmaMode
from edgerestore.models.dde import DensityConv, DensityMLP, GeneratorMLP
from edgerestore.models.dncnn import DnCNN
from edgerestore.models.laine_unet import LaineBlindSpotUNet
from edgerestore.models.pd_blindspot import PDBlindSpotNet
from edgerestore.models.student import PlainStudent
from edgerestore.runtime.model_card import json_kind


def build_blindspot_denoiser(backbone: dict[str, Any], channels: int,
                             noise_model: NoiseModel = "gauss",
                             sigma_mode: SigmaMode = "known") -> BlindSpotDenoiser:
    """Rebuild from :meth:`BlindSpotDenoiser.config`: the backbone through this registry.

    It lives here, not beside the class, so that the registry imports the model module
    and never the other way round (no import cycle).
    """
    return BlindSpotDenoiser(build_model(backbone), channels, noise_model, sigma_mode)


def build_pd_blindspot(backbone: dict[str, Any], channels: int, **pd: Any) -> PDBlindSpotNet:
    """Rebuild from :meth:`PDBlindSpotNet.config` (AP-BSN), the backbone through this registry."""
    return PDBlindSpotNet(build_model(backbone), channels, **pd)


ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "dilated_blindspot": DilatedBlindSpotNet,
    "laine_unet": LaineBlindSpotUNet,
    "blindspot_denoiser": build_blindspot_denoiser,
    "pd_blindspot": build_pd_blindspot,
    "dncnn": DnCNN,
    "plain_student": PlainStudent,
    "dde_mlp": DensityMLP,
    "dde_conv": DensityConv,
    "dde_generator": GeneratorMLP,
}


#: Architectures that wrap another network, whose config sits under ``"backbone"``.
WRAPPERS = ("blindspot_denoiser", "pd_blindspot")


def check_config(config: object, source: str = "model config") -> None:
    """Refuse a config that is no object or names an unknown architecture (its backbone's too).

    Some callers read a stored config without building it (``train --init-from`` takes
    ``config["backbone"]["arch"]``), so the structure is checked where the config is
    read, and a hand-edited file is one :class:`ModelFileError`, never a KeyError.
    """
    if not isinstance(config, dict):
        raise ModelFileError(f"{source}: the model config is {json_kind(config)}, "
                             "not a JSON object")
    arch = config.get("arch")
    if not isinstance(arch, str) or arch not in ARCHITECTURES:
        known = ", ".join(sorted(ARCHITECTURES))
        raise ModelFileError(f"{source}: unknown architecture {arch!r} in the model config "
                             f"(known: {known})")
    if arch in WRAPPERS:
        check_config(config.get("backbone"), source)


def build_model(config: dict) -> nn.Module:
    """A freshly initialised module for ``config`` (as written by its ``config()``)."""
    check_config(config)
    kwargs = dict(config)
    arch = kwargs.pop("arch")
    _check_sizes(arch, kwargs)
    try:
        return ARCHITECTURES[arch](**kwargs)
    except (TypeError, InputError) as exc:
        raise ModelFileError(f"bad model config for {arch!r}: {exc}") from exc


#: Largest layer size a config may ask for: far above any network here, far below the
#: sizes that make torch try to allocate terabytes (a width of 200,000).
MAX_CONFIG_SIZE = 8192


def _check_sizes(arch: str, value: object) -> None:
    """Refuse a config holding a non-positive or huge integer before anything is allocated."""
    if isinstance(value, dict):
        for item in value.values():
            _check_sizes(arch, item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_sizes(arch, item)
    elif isinstance(value, int) and not isinstance(value, bool) and not (
            0 <= value <= MAX_CONFIG_SIZE):
        raise ModelFileError(f"bad model config for {arch!r}: size {value} is outside "
                             f"0..{MAX_CONFIG_SIZE}")
