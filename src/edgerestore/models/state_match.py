"""Start a network from another one's weights where the two architectures only partly agree.

``--init-from`` takes a trained model into a related architecture: a known-sigma
blind-spot model into one that learns its own noise level, or a Gaussian-head model into
AP-BSN's image-output wrapper. One rule serves both, so they cannot drift apart: the
required part (the backbone) must match tensor for tensor, since a half-loaded backbone
would train from a silently broken start; everything else is copied where name and shape
agree and otherwise starts fresh.

This module imports no model and no registry, so a model class may call it without an
import cycle (``weights_io`` builds models through the registry).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from torch import Tensor, nn

from edgerestore.errors import ModelFileError


class LayerMismatch(ModelFileError):
    """A required tensor that only one side has (``have`` or ``need`` is None) or that has
    another shape in the source; callers turn it into their own user-facing message."""

    def __init__(self, name: str, have: list[int] | None, need: list[int] | None) -> None:
        self.name, self.have, self.need = name, have, need
        if have is None:
            text = f"{name} is not in the source weights"
        elif need is None:
            text = f"{name} is in the source weights but not in this model"
        else:
            text = f"{name} is {have} in the source weights, this model needs {need}"
        super().__init__(text)


class Matched(NamedTuple):
    """What :func:`load_matching` copied and what it left as initialised (sorted names)."""

    taken: list[str]
    fresh: list[str]


def _fit(src: Tensor, own: Tensor, first_rows: bool) -> Tensor | None:
    """``src`` as it goes into ``own``'s place, or None if it does not fit."""
    if src.shape == own.shape:
        return src
    if (first_rows and src.dim() > 0 and src.shape[1:] == own.shape[1:]
            and src.shape[0] > own.shape[0]):
        return src[: own.shape[0]]
    return None


def load_matching(model: nn.Module, source: Mapping[str, Tensor], *,
                  required_prefix: str = "backbone.", first_rows: bool = False) -> Matched:
    """Copy into ``model`` every tensor of the state dict ``source`` that fits; the
    tensors named ``required_prefix...`` must all fit, on both sides, or nothing is loaded.

    A tensor fits if it has the model's name and shape, or, with ``first_rows``, the
    model's shape after its first dimension and more rows: then its first rows are taken.
    That is how an output layer regressing ``[mean, extra outputs]`` gives the mean to a
    layer that outputs only the mean (a Gaussian head's prior mean to AP-BSN).

    Raises :class:`LayerMismatch` for the first required tensor that only one side has
    (these come first) or that does not fit.
    """
    own = model.state_dict()
    mine = {k for k in own if k.startswith(required_prefix)}
    theirs = {k for k in source if k.startswith(required_prefix)}
    one_sided = sorted(mine ^ theirs)
    if one_sided:
        name = one_sided[0]
        raise LayerMismatch(name, list(source[name].shape) if name in theirs else None,
                            list(own[name].shape) if name in mine else None)
    taken = {}
    for name, tensor in own.items():
        fitted = _fit(source[name], tensor, first_rows) if name in source else None
        if fitted is not None:
            taken[name] = fitted
        elif name in mine:
            raise LayerMismatch(name, list(source[name].shape), list(tensor.shape))
    model.load_state_dict({**own, **taken})
    return Matched(sorted(taken), sorted(set(own) - set(taken)))
