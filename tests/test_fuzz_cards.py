"""Property-based fuzzing of model cards and their three homes (Hypothesis).

Cards are arbitrary JSON, or a valid card with one field replaced by arbitrary JSON;
they are read by the schema directly, from a sidecar next to a damaged ``.tflite``,
and embedded in an ONNX graph opened by :class:`ExportedDenoiser`. Property: a typed
card whose fields have the promised types and ranges, or a one-line
:class:`~edgerestore.errors.ModelFileError`; a denoiser built from an accepted card
returns a finite image of the input's shape and leaves the input unchanged.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from conftest import make_onnx_denoiser  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from edgerestore.errors import EdgeRestoreError, ModelFileError  # noqa: E402
from edgerestore.runtime.model_card import ModelCard, parse_card, parse_card_text  # noqa: E402

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=4),
    max_leaves=12)
VALID = {"task": "map_denoiser", "inputs": ["image"], "layout": "NCHW", "channels": 3,
         "tile": None, "receptive_field": 7, "square_multiple": False,
         "noise": {"model": "gauss", "training_sigma": 11.0, "level_range": [11.0, 11.0]}}
GENERATOR = {"task": "generate", "inputs": ["z"], "latent_dim": 16, "output_shape": [1, 8, 8],
             "layout": "NCHW", "batch": None}
FIELDS = sorted({*VALID, *GENERATOR, "out_channels"})


@st.composite
def mutated_cards(draw) -> dict:
    card = json.loads(json.dumps(draw(st.sampled_from([VALID, GENERATOR]))))
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(FIELDS))
        if draw(st.booleans()):
            card[key] = draw(JSON)
        else:
            card.pop(key, None)
    return card


def _check_card(card: ModelCard) -> None:
    assert card.layout in ("NCHW", "NHWC", "NC") and all(isinstance(i, str) for i in card.inputs)
    if card.is_denoiser:
        assert card.channels is None or 1 <= card.channels <= 4
        assert card.tile is None or all(isinstance(v, int) and v >= 1 for v in card.tile)
        sigma = card.noise.training_sigma
        assert sigma is None or 0 < sigma <= 255
        side = card.square_multiple
        assert side is None or (isinstance(side, int) and not isinstance(side, bool)
                                and side >= 1)
    else:
        assert isinstance(card.latent_dim, int) and card.latent_dim >= 1
        assert card.output_shape and all(isinstance(v, int) and v >= 1
                                         for v in card.output_shape)


def _parse(call) -> ModelCard | None:
    try:
        card = call()
    except ModelFileError as exc:
        assert "\n" not in str(exc)
        return None
    _check_card(card)
    return card


def test_the_card_of_a_square_only_export_parses():
    """The exporter writes the side multiple (Laine's U-Net: 32); the latency benchmark
    could not open such a file while the schema expected a boolean."""
    assert parse_card({**VALID, "square_multiple": 32}, "unet.onnx").square_multiple == 32
    assert parse_card({**VALID, "square_multiple": None}, "net.onnx").square_multiple is None
    with pytest.raises(ModelFileError, match="square_multiple"):
        parse_card({**VALID, "square_multiple": "yes"}, "unet.onnx")


@given(data=JSON | mutated_cards())
def test_any_json_is_a_valid_card_or_a_model_file_error(data):
    _parse(lambda: parse_card(data, "fuzz.onnx"))


@given(text=st.text(max_size=80) | st.binary(max_size=80))
def test_any_text_is_a_valid_card_or_a_model_file_error(text):
    _parse(lambda: parse_card_text(text, "fuzz.onnx"))


@given(card=mutated_cards(), body=st.binary(max_size=300))
def test_sidecars_of_damaged_tflite_files(tmp_path, card, body):
    from edgerestore.runtime.model_metadata import read_metadata, sidecar_path

    model = tmp_path / "m.tflite"
    model.write_bytes(b"\0\0\0\0TFL3" + body)
    sidecar_path(model).write_text(json.dumps(card))
    try:
        read_metadata(model)
    except EdgeRestoreError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=15)
@given(card=mutated_cards().filter(lambda c: c.get("task") != "generate"),
       size=st.tuples(st.integers(1, 40), st.integers(1, 40)))
def test_onnx_cards_open_a_denoiser_or_fail_cleanly(tmp_path, card, size):
    from edgerestore.runtime.exported_denoiser import ExportedDenoiser

    path = make_onnx_denoiser(tmp_path / "m.onnx", card={**card, "inputs": ["image"]})
    try:
        den = ExportedDenoiser(path, max_tile=64)
    except EdgeRestoreError as exc:
        assert "\n" not in str(exc)
        return
    image = np.random.default_rng(0).random((*size, den.channels)).astype(np.float32)
    before = image.copy()
    try:
        out = den.denoise(image)
    except EdgeRestoreError as exc:
        assert "\n" not in str(exc)
        return
    assert out.shape == image.shape and np.all(np.isfinite(out))
    assert np.array_equal(image, before)
