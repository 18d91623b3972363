"""Architecture facts live on the model classes, and every exported card carries them.

For each architecture a tiny model is written as weights, its card is built the way
``edgerestore export`` builds it and read back with the runtime's card reader; the
facts must agree with the model's properties. The halo the card gives a tiler must
then make a tiled run equal the whole-image one (a dilated net with ``hole=1`` once
got a receptive field without its hole, one pixel of halo short).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgerestore.errors import InputError, ModelFileError  # noqa: E402
from edgerestore.export import metadata  # noqa: E402
from edgerestore.export.graph import build_graph  # noqa: E402
from edgerestore.export.pipeline import Exported, ExportOptions, Model  # noqa: E402
from edgerestore.models.blindspot import DilatedBlindSpotNet  # noqa: E402
from edgerestore.models.blindspot_denoiser import BlindSpotDenoiser  # noqa: E402
from edgerestore.models.dncnn import DnCNN  # noqa: E402
from edgerestore.models.image_network import DenoisingNetwork  # noqa: E402
from edgerestore.models.laine_unet import LaineBlindSpotUNet  # noqa: E402
from edgerestore.models.pd_blindspot import R3_PERIOD, PDBlindSpotNet  # noqa: E402
from edgerestore.models.weights_io import save_weights  # noqa: E402
from edgerestore.runtime.model_card import ModelCard, parse_card_text  # noqa: E402
from edgerestore.runtime.model_metadata import sidecar_path  # noqa: E402
from edgerestore.runtime.tiling import run_tiled  # noqa: E402


def dilated(channels: int, outputs: int, hole: int = 0) -> DilatedBlindSpotNet:
    return DilatedBlindSpotNet(channels, outputs, width=8, depth=3, branch_width=4,
                               mix_widths=(8,), hole=hole)


#: One tiny model per architecture and variant the exporter handles.
ARCHS: dict[str, Callable[[], DenoisingNetwork]] = {
    "blindspot": lambda: BlindSpotDenoiser(dilated(3, 9), 3),
    "blindspot_hole1": lambda: BlindSpotDenoiser(dilated(3, 9, hole=1), 3),
    "blindspot_grey_measured": lambda: BlindSpotDenoiser(dilated(1, 2, hole=1), 1,
                                                         sigma_mode="measured"),
    "blindspot_global_level": lambda: BlindSpotDenoiser(dilated(3, 9), 3, sigma_mode="global"),
    "blindspot_laine": lambda: BlindSpotDenoiser(
        LaineBlindSpotUNet(3, 9, base_width=4, head_widths=(8,)), 3),
    "dncnn_map": lambda: DnCNN(3, depth=4, width=8),
    "dncnn_dae": lambda: DnCNN(1, depth=3, width=8, role="dae"),
    "pd_stride2_r3": lambda: PDBlindSpotNet(dilated(3, 3), 3, infer_stride=2, r3_steps=2),
    "pd_stride3_hole1": lambda: PDBlindSpotNet(dilated(3, 3, hole=1), 3, infer_stride=3,
                                               r3_steps=0),
}


def build(name: str) -> DenoisingNetwork:
    torch.manual_seed(0)
    return ARCHS[name]().eval()


def exported_card(model: DenoisingNetwork, tmp_path: Path) -> ModelCard:
    """The card ``edgerestore export`` would write for ``model``, read by the runtime."""
    weights = tmp_path / "tiny.safetensors"
    save_weights(model, model.config(), weights, card={"name": "tiny"})
    opts = ExportOptions(weights=weights, out=tmp_path)
    loaded = Model(opts)
    item = Exported(tmp_path / "tiny_fp32.onnx", "onnx", "fp32", None)
    metadata.write_sidecar(item.path, loaded.card_for(opts, item))
    return parse_card_text(sidecar_path(item.path).read_text(), str(item.path))


@pytest.mark.parametrize("name", list(ARCHS))
def test_exported_card_states_the_models_facts(name, tmp_path):
    model = build(name)
    card = exported_card(model, tmp_path)
    assert card.task == model.task
    assert card.channels == model.in_channels
    assert card.receptive_field == model.receptive_field
    assert card.tile_align == model.tile_align
    assert card.square_multiple == model.square_multiple
    assert card.noise.estimate_stride == model.estimate_stride
    assert card.noise.training_sigma == pytest.approx(
        float(model.assumed_training_noise.split(":")[1]))  # the card of "tiny" has none


def test_the_facts_follow_the_constructor_arguments():
    assert build("blindspot_hole1").receptive_field == 4 * 3 - 1 + 2
    assert build("dncnn_map").receptive_field == 2 * 4 + 1
    assert build("blindspot_laine").receptive_field is None
    assert build("blindspot_laine").square_multiple == 32
    pd2, pd3 = build("pd_stride2_r3"), build("pd_stride3_hole1")
    assert (pd2.tile_align, pd3.tile_align) == (R3_PERIOD, 3)
    assert pd2.receptive_field == 2 * (11 - 1) + 1 + (11 - 1)
    assert pd3.receptive_field == 3 * (13 - 1) + 1
    assert build("blindspot_grey_measured").estimate_stride == 2
    assert build("dncnn_dae").task == "dae"
    assert build("blindspot_global_level").task == "denoise_direct"


def test_raw_graph_card_and_what_cannot_be_exported(tmp_path):
    model = build("blindspot_hole1")
    spec = build_graph(model, model.config(), raw=True)
    assert (spec.task, spec.out_channels) == ("denoise_raw_prior", 9)
    with pytest.raises(InputError, match="--raw"):
        build_graph(build("dncnn_map"), build("dncnn_map").config(), raw=True)
    with pytest.raises(ModelFileError, match="on its own"):
        backbone = dilated(3, 9)
        build_graph(backbone, backbone.config())
    square_pd = PDBlindSpotNet(LaineBlindSpotUNet(3, 3, base_width=4, head_widths=(8,)), 3)
    assert square_pd.square_multiple == 2 * 32
    with pytest.raises(ModelFileError, match="square-only"):
        build_graph(square_pd, square_pd.config())


@pytest.mark.parametrize("name", [n for n in ARCHS if n != "blindspot_laine"])
def test_the_cards_halo_makes_tiles_equal_the_whole_image(name, tmp_path):
    """Tiles get ``receptive_field // 2`` of halo (as ExportedDenoiser gives them) and
    start at multiples of ``tile_align``; no blend, so nothing hides a short halo. The
    network runs in float64: a pixel missing from the halo changes outputs by ~3e-3."""
    model = build(name)
    card = exported_card(model, tmp_path)
    net = model.double()
    channels = model.in_channels
    image = np.random.default_rng(0).random((100, 90, channels))

    def run(tile: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            out = net(torch.from_numpy(tile.transpose(2, 0, 1).copy())[None])
        return out[0].numpy().transpose(1, 2, 0)

    whole = run(image)
    tiled = run_tiled(image, run, tile=(64, 64), halo=card.receptive_field // 2, blend=0,
                      align=card.tile_align)
    np.testing.assert_allclose(tiled, whole, rtol=0, atol=1e-6)  # the tiler sums in float32
