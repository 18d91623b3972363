"""The typed model card of an exported file, validated once, wherever it was read from.

An exported ``.onnx`` / ``.tflite`` file carries a JSON card (see
:mod:`edgerestore.runtime.model_metadata` for where it lives: ONNX metadata, TFLite
metadata or a sidecar ``FILE.json``). All three copies are parsed by
:func:`parse_card`, so a field of the wrong type (``"channels": "abc"``), an unknown
layout, a card that is a JSON list or a size that would exhaust memory is refused
with one :class:`~edgerestore.errors.ModelFileError` naming the file and the field,
before any session or buffer is created. So is a card whose ``schema`` is newer than
:data:`SCHEMA_VERSION` (a card without one is an older file and is read as before).
Fields the runtime does not use (provenance, tool versions) are kept untouched in
:attr:`ModelCard.raw`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgerestore.errors import InputError, ModelFileError, one_line
from edgerestore.runtime.input_blend import check_table

#: The card schema this runtime reads; ``edgerestore export`` writes it as ``"schema"``.
#: A card without the field predates it and is read as it always was; a newer one is
#: refused (its fields may mean something this version would misread).
SCHEMA_VERSION = 1
DENOISER_TASKS = ("denoise_posterior", "denoise_raw_prior", "denoise_direct", "map_denoiser",
                  "dae")
#: Denoisers told the noise level (a ``sigma`` input, or the numpy Bayesian step);
#: ``denoise_direct`` (AP-BSN) removes the noise it sees with no level at all.
LEVEL_TASKS = ("denoise_posterior", "denoise_raw_prior")
TASKS = (*DENOISER_TASKS, "generate")
#: Layouts of image inputs; generators of vectors use ``NC``.
LAYOUTS = {"denoiser": ("NCHW", "NHWC"), "generate": ("NCHW", "NC")}
#: Largest tile / output side and latent size a card may declare (bounds allocations).
MAX_SIDE = 16384
MAX_LATENT = 65536
MAX_SIGMA = 255.0
#: Largest tile-origin multiple a card may ask for (AP-BSN's is 32).
MAX_ALIGN = 256


@dataclass(frozen=True)
class NoiseCard:
    """The training noise: model name, fixed sigma (0-255) and level range, if recorded."""

    model: str | None = None
    training_sigma: float | None = None
    level_range: tuple[float, float] | None = None
    #: Sub-image stride of the MAD estimate when the user gives no sigma (2+ for a model
    #: trained on spatially correlated camera noise with a measured level).
    estimate_stride: int = 1


@dataclass(frozen=True)
class ModelCard:
    """The fields the runtime configures itself from; ``raw`` is the whole card."""

    task: str
    inputs: tuple[str, ...]
    layout: str
    channels: int | None = None
    out_channels: int | None = None
    tile: tuple[int, int] | None = None
    square_multiple: int | None = None
    receptive_field: int | None = None
    #: Tile origins must be multiples of this to match a whole-image run (AP-BSN).
    tile_align: int = 1
    #: (noise level, weight) pairs of :mod:`edgerestore.runtime.input_blend`, or None.
    input_blend: tuple[tuple[float, float], ...] | None = None
    noise: NoiseCard = field(default_factory=NoiseCard)
    latent_dim: int | None = None
    output_shape: tuple[int, ...] | None = None
    batch: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_denoiser(self) -> bool:
        return self.task in DENOISER_TASKS


class _Fields:
    """Typed access to one card's fields; every failure names the file and the field."""

    def __init__(self, data: dict[str, Any], source: str) -> None:
        self.data = data
        self.source = source

    def fail(self, key: str, want: str) -> ModelFileError:
        return ModelFileError(f"{self.source}: model card field {key!r} must be {want}, "
                              f"got {self.data.get(key)!r:.60}")

    def integer(self, key: str, low: int, high: int, *, required: bool = False,
                value: Any = None, name: str | None = None) -> int | None:
        value = self.data.get(key) if value is None else value
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(name or key, f"an integer in {low}..{high}")
        return value

    def number(self, key: str, value: Any, low: float, high: float) -> float | None:
        if value is None:
            return None
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or not math.isfinite(value) or not low <= value <= high):
            raise self.fail(key, f"a number in [{low:g}, {high:g}]")
        return float(value)

    def int_list(self, key: str, length: tuple[int, ...], high: int) -> tuple[int, ...] | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or len(value) not in length:
            raise self.fail(key, f"a list of {' or '.join(map(str, length))} integers")
        return tuple(self.integer(key, 1, high, required=True, value=v) for v in value)


def parse_card(data: Any, source: str) -> ModelCard:
    """Validate a decoded card (a dict) and return its typed form."""
    if not isinstance(data, dict):
        raise ModelFileError(f"{source}: its edgerestore metadata is a JSON "
                             f"{type(data).__name__}, not an object")
    f = _Fields(data, source)
    _check_schema(f)
    task = data.get("task")
    if task not in TASKS:
        raise f.fail("task", f"one of {', '.join(TASKS)}")
    inputs = data.get("inputs")
    if (not isinstance(inputs, list) or not 1 <= len(inputs) <= 4
            or not all(isinstance(i, str) and i for i in inputs)):
        raise f.fail("inputs", "a list of 1 to 4 input names")
    kind = "generate" if task == "generate" else "denoiser"
    layout = data.get("layout", "NCHW")
    if layout not in LAYOUTS[kind]:
        raise f.fail("layout", " or ".join(LAYOUTS[kind]))
    # The exporter writes the side multiple a square-only model needs (Laine's U-Net: 32)
    # or null; false is read as null.
    square = data.get("square_multiple")
    square = (f.integer("square_multiple", 1, MAX_SIDE, value=square)
              if square is not None and square is not False else None)
    if kind == "generate":
        return ModelCard(
            task, tuple(inputs), layout,
            latent_dim=f.integer("latent_dim", 1, MAX_LATENT, required=True),
            output_shape=f.int_list("output_shape", (1, 2, 3), MAX_SIDE)
            or _missing(f, "output_shape"),
            batch=f.integer("batch", 1, 4096), raw=data)
    return ModelCard(
        task, tuple(inputs), layout,
        channels=f.integer("channels", 1, 4),
        out_channels=f.integer("out_channels", 1, 64),
        tile=f.int_list("tile", (2,), MAX_SIDE),  # type: ignore[arg-type]
        square_multiple=square,
        receptive_field=f.integer("receptive_field", 1, MAX_SIDE),
        tile_align=f.integer("tile_align", 1, MAX_ALIGN) or 1,
        input_blend=_input_blend(f), noise=_noise(f), raw=data)


def _check_schema(f: _Fields) -> None:
    """Refuse a ``schema`` that is not a version number, or newer than :data:`SCHEMA_VERSION`."""
    schema = f.data.get("schema")
    if schema is None:
        return
    if isinstance(schema, bool) or not isinstance(schema, int) or schema < 1:
        raise f.fail("schema", "a whole schema version number (1, 2, ...)")
    if schema > SCHEMA_VERSION:
        raise ModelFileError(f"{f.source}: model card field 'schema' is {schema}, newer than "
                             f"the schema {SCHEMA_VERSION} this edgerestore reads; upgrade "
                             "edgerestore or re-export the model with this version")


def _input_blend(f: _Fields) -> tuple[tuple[float, float], ...] | None:
    table = f.data.get("input_blend")
    if table is None:
        return None
    try:
        return check_table(table)
    except InputError as exc:
        raise f.fail("input_blend", "ascending [level, weight] pairs, levels in [0, 255], "
                     "weights in [0, 1]") from exc


def _missing(f: _Fields, key: str) -> tuple[int, ...]:
    raise f.fail(key, "present")


def _noise(f: _Fields) -> NoiseCard:
    noise = f.data.get("noise")
    if noise is None:
        return NoiseCard()
    if not isinstance(noise, dict):
        raise f.fail("noise", "an object")
    sub = _Fields(noise, f.source)
    model = noise.get("model")
    if model is not None and not isinstance(model, str):
        raise sub.fail("model", "a noise model name")
    sigma = sub.number("training_sigma", noise.get("training_sigma"), 1e-6, MAX_SIGMA)
    levels = noise.get("level_range")
    if levels is not None:
        if not isinstance(levels, list) or len(levels) != 2:
            raise sub.fail("level_range", "a list [low, high]")
        low, high = (sub.number("level_range", v, 0.0, 1e9) for v in levels)
        levels = (low, high)
    stride = sub.integer("sigma_estimate_stride", 1, 16, name="noise.sigma_estimate_stride") or 1
    return NoiseCard(model, sigma, levels, stride)


def parse_card_text(text: str | bytes, source: str) -> ModelCard:
    """Decode a card's JSON text and validate it (see :func:`parse_card`)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ModelFileError(f"{source}: its edgerestore metadata is not valid JSON "
                             f"({exc})") from exc
    return parse_card(data, source)


def json_object(text: str | bytes, source: str, what: str) -> dict[str, Any]:
    """``text`` decoded as a JSON object, or one :class:`ModelFileError` naming ``source``.

    Weights configs and cards come back from files anyone can edit: text that is not
    JSON, or JSON that is no object (a list, a string), must be refused here rather
    than fail as ``.get`` on a list deep inside a command.
    """
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ModelFileError(f"{source}: {what} is not valid JSON ({one_line(exc)})") from exc
    if not isinstance(data, dict):
        raise ModelFileError(f"{source}: {what} is {json_kind(data)}, not a JSON object")
    return data


def json_kind(value: object) -> str:
    """What a decoded JSON value is, in JSON's own words (for error messages)."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    kinds = {str: "a string", list: "a list", int: "a number", float: "a number"}
    return kinds.get(type(value), f"a {type(value).__name__}")


def read_json_object(path: str | Path, what: str) -> dict[str, Any]:
    """The JSON object in file ``path`` (see :func:`json_object`); unreadable is refused too."""
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{path}: cannot read the {what} ({one_line(exc)})") from exc
    return json_object(text, str(path), what)
