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
from conftest import cli, make_onnx_denoiser, one_line_error  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from edgerestore.errors import EdgeRestoreError, ModelFileError  # noqa: E402
from edgerestore.runtime.image_io import write_image  # noqa: E402
from edgerestore.runtime.model_card import (  # noqa: E402
    SCHEMA_VERSION,
    ModelCard,
    parse_card,
    parse_card_text,
)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=4),
    max_leaves=12)
VALID = {"schema": 1, "task": "map_denoiser", "inputs": ["image"], "layout": "NCHW",
         "channels": 3,
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


def test_the_exporter_writes_the_schema_the_runtime_reads():
    pytest.importorskip("torch")
    from edgerestore.export import metadata

    assert metadata.SCHEMA_VERSION == SCHEMA_VERSION == 1


def test_the_schema_is_checked_on_read():
    """Version 1 and a card without ``schema`` (older files) are read; a newer version
    or a non-integer is refused with one error naming the file and the field."""
    assert parse_card(VALID, "m.onnx").task == "map_denoiser"
    older = {k: v for k, v in VALID.items() if k != "schema"}
    assert parse_card(older, "m.onnx").task == "map_denoiser"
    assert parse_card({**VALID, "schema": None}, "m.onnx").task == "map_denoiser"
    with pytest.raises(ModelFileError, match=r"^new\.onnx: .*'schema' is 2, newer than"):
        parse_card({**VALID, "schema": SCHEMA_VERSION + 1}, "new.onnx")
    for bad in ("1", 1.0, True, 0, -1, [1], {"v": 1}):
        with pytest.raises(ModelFileError, match=r"^str\.onnx: model card field 'schema'"):
            parse_card({**VALID, "schema": bad}, "str.onnx")


@pytest.mark.parametrize(("schema", "code"), [(2, 2), ("1", 2), (None, 0), (1, 0)])
def test_denoise_refuses_a_newer_or_malformed_schema(tmp_path, capsys, schema, code):
    """``edgerestore denoise --model FILE``: a card of schema 2 (or "1") exits 2 with
    one line naming the file and the field; a card without one still runs."""
    pytest.importorskip("onnx")
    path = make_onnx_denoiser(tmp_path / "model.onnx", task="denoise_posterior",
                              card={} if schema is None else {"schema": schema})
    image = tmp_path / "in.png"
    write_image(image, np.random.default_rng(0).random((24, 24, 3)).astype(np.float32))
    out = tmp_path / "out.png"
    got, err = cli(capsys, "-q", "denoise", "--model", path, image, "-o", out,
                   "--sigma", "25")
    assert got == code, err
    if code:
        assert one_line_error(err) and str(path) in err and "'schema'" in err
        assert not out.exists()
    else:
        assert out.is_file()


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
