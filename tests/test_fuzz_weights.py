"""Property-based fuzzing of the metadata inside ``.safetensors`` weights (Hypothesis).

The embedded ``edgerestore_config`` is any text, any JSON, or the valid config of a
tiny DnCNN with fields replaced by arbitrary JSON (nested too); the card beside it is
any text as well. The weights are opened the way ``deblur`` / ``macs`` do. Property:
exit code 0 with a working model, or exit code 2 with a one-line error; never exit 1,
a traceback or an "internal error" (issue 29, item 2). Sizes stay small, so a mutated
config never asks for a large network.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")
from conftest import cli_exit_0_or_2  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

from edgerestore.models.dncnn import DnCNN  # noqa: E402
from edgerestore.models.weights_io import CONFIG_KEY  # noqa: E402
from edgerestore.runtime.image_io import write_image  # noqa: E402

MODEL = DnCNN(3, depth=3, width=8, role="map")
TENSORS = {k: v.contiguous() for k, v in MODEL.state_dict().items()}
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 12) | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=3),
    max_leaves=8)
ARCH = st.sampled_from(["dncnn", "blindspot_denoiser", "pd_blindspot", "dilated_blindspot",
                        "laine_unet", "dde_mlp", "nope"])


@st.composite
def configs(draw) -> str:
    """Config text: arbitrary, arbitrary JSON, or DnCNN's config with fields mutated."""
    kind = draw(st.sampled_from(["text", "json", "mutated", "wrapped", "valid"]))
    if kind == "text":
        return draw(st.text(max_size=40))
    if kind == "json":
        return json.dumps(draw(JSON))
    config = dict(MODEL.config())
    if kind in ("mutated", "wrapped"):
        for _ in range(draw(st.integers(1, 3))):
            key = draw(st.sampled_from([*config, "arch", "backbone", "extra"]))
            config[key] = draw(ARCH if key == "arch" else JSON)
    if kind == "wrapped":
        config = {"arch": draw(ARCH), "backbone": config, "channels": draw(JSON)}
    return json.dumps(config)


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> tuple[Path, Path]:
    """A small colour image and a 3x3 box kernel (.npy) to deblur it with."""
    folder = tmp_path_factory.mktemp("photo")
    write_image(folder / "in.png", np.random.default_rng(0).random((12, 12, 3)))
    np.save(folder / "k.npy", np.full((3, 3), 1 / 9))
    return folder / "in.png", folder / "k.npy"


@settings(max_examples=30)
@given(config=configs(), card=st.none() | st.text(max_size=30) | JSON.map(json.dumps),
       command=st.sampled_from(["macs", "deblur"]))
def test_any_metadata_is_a_working_model_or_exit_2(tmp_path_factory, capsys, photo, config,
                                                    card, command):
    folder = tmp_path_factory.mktemp("weights")
    weights = folder / "w.safetensors"
    save_file(TENSORS, str(weights), metadata={CONFIG_KEY: config})
    if card is not None:
        weights.with_suffix(".json").write_text(card)
    argv = (["macs", "--model", weights, "--no-reference"] if command == "macs" else
            ["deblur", photo[0], "-o", folder / "o.png", "--kernel", photo[1],
             "--denoiser", weights, "--sigma", "2.55", "--iters", "1"])
    code, _err = cli_exit_0_or_2(capsys, *argv)
    if code == 0 and command == "deblur":
        assert (folder / "o.png").is_file()
