"""The second reliability round (issue 29), items 1 and 4: plug-and-play priors and the
options a model would ignore; one test per defect, each named by its item.

Every test here failed on the code before the fix. Commands run in-process through
:func:`edgerestore.cli.main` (``cli`` in conftest); the packaged exported models stand in
where the defect was seen with them, tiny ONNX graphs (``make_onnx_denoiser``) elsewhere.
The other items: ``test_reliability_files.py`` (2, 5, 6, 7, 9),
``test_reliability_training.py`` (3, 8).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import MOTION, binary_scene, cli, make_onnx_denoiser, one_line_error

from edgerestore.errors import InputError

pytest.importorskip("onnx")


# --- item 1: exported priors deblur ordinary photos ------------------------------------

@pytest.mark.parametrize(("prior", "options"), [
    ("blindspot_eff_gauss25_rgb", ["--sigma", "2.55", "--backend", "litert"]),
    ("blindspot_eff_gauss25_rgb", ["--sigma", "2.55", "--backend", "onnxruntime",
                                   "--precision", "fp32"]),
    ("map_rgb", ["--sigma", "0", "--method", "hqs", "--backend", "onnxruntime",
                 "--precision", "fp32"]),
])
def test_item1_exported_priors_deblur_a_photo(capsys, tmp_path, blurred, prior, options):
    if "litert" in options:
        pytest.importorskip("ai_edge_litert")
    image, kernel = blurred
    code, err = cli(capsys, "deblur", image, "-o", tmp_path / "out.png", "--kernel", kernel,
                    "--denoiser", prior, "--iters", "6", *options)
    assert code == 0, err
    assert (tmp_path / "out.png").is_file()


def test_item1_the_solver_protocol_takes_iterates_outside_the_unit_range(tmp_path):
    from edgerestore.runtime.exported_denoiser import ExportedDenoiser

    den = ExportedDenoiser(make_onnx_denoiser(tmp_path / "grey.onnx", channels=1))
    iterate = np.linspace(-1.7, 2.9, 16 * 16, dtype=np.float32).reshape(16, 16, 1)
    np.testing.assert_allclose(den(iterate, 0.04), iterate, atol=1e-6)  # an identity graph
    with pytest.raises(InputError, match=r"\[0, 1\]"):  # a caller's image is still checked
        den.denoise(iterate * 255)


def test_item1_a_grey_exported_prior_used_per_channel(blurred):
    from edgerestore.runtime.exported_denoiser import ExportedDenoiser
    from edgerestore.runtime.image_io import read_image
    from edgerestore.runtime.packaged import resolve
    from edgerestore.runtime.pnp import deblur

    grey = ExportedDenoiser(resolve("map_gray", task="prior", channels=1,
                                    backend="onnxruntime", precision="fp32"))

    def per_channel(image: np.ndarray, sigma: float | None) -> np.ndarray:
        return np.concatenate([grey(image[:, :, c:c + 1], sigma)
                               for c in range(image.shape[2])], axis=2)

    image, _ = blurred
    result = deblur(read_image(image)[0], MOTION, per_channel, sigma_n=0.0, method="hqs",
                    iters=6, denoiser_sigma=grey.strength)
    assert result.x.shape == (32, 32, 3) and np.all(np.isfinite(result.x))


def test_item1_a_0_255_image_is_refused_where_it_enters_the_solver(tmp_path):
    from edgerestore.runtime.exported_denoiser import ExportedDenoiser
    from edgerestore.runtime.pnp import deblur

    den = ExportedDenoiser(make_onnx_denoiser(tmp_path / "prior.onnx"))
    with pytest.raises(InputError, match=r"observation values span .*\[0, 1\]"):
        deblur(binary_scene() * 255, np.full((3, 3), 1 / 9), den, sigma_n=0.01, iters=2)

# --- item 4: options that would be ignored or break tiling are refused -------------------

def test_item4_denoise_with_a_map_prior_refuses_sigma(capsys, tmp_path, blurred):
    image, _ = blurred
    out = tmp_path / "out.png"
    code, err = cli(capsys, "denoise", image, "-o", out, "--model", "map_rgb", "--sigma", "25",
                    "--backend", "onnxruntime", "--precision", "fp32")
    assert code == 2 and one_line_error(err), err
    assert "--sigma" in err and "fixed strength" in err and not out.exists()
    code, err = cli(capsys, "denoise", image, "-o", out, "--model", "map_rgb",
                    "--backend", "onnxruntime", "--precision", "fp32")
    assert code == 0, err  # without --sigma the prior denoises as before


@pytest.mark.parametrize("blend", [-5, -1, 2.5, True, "16", 10**6, 512 - 2 * 1 - 1 + 1])
def test_item4_a_blend_outside_its_range_is_refused(tmp_path, blend):
    from edgerestore.runtime.exported_denoiser import ExportedDenoiser

    model = make_onnx_denoiser(tmp_path / "m.onnx")  # receptive field 3: halo 1
    with pytest.raises(InputError, match="blend"):
        ExportedDenoiser(model, max_tile=512, blend=blend)


def test_item4_blends_inside_the_range_tile_seamlessly(tmp_path):
    from edgerestore.runtime.exported_denoiser import ExportedDenoiser

    model = make_onnx_denoiser(tmp_path / "m.onnx")
    image = np.random.default_rng(0).random((80, 150, 3)).astype(np.float32)
    for blend in (0, 7, 64 - 2 * 1 - 1):  # the largest: tiles advance by one pixel
        den = ExportedDenoiser(model, max_tile=64, blend=blend)
        np.testing.assert_allclose(den.denoise(image), image, atol=1e-4)
    assert ExportedDenoiser(model).blend == 16  # the default where the tile has room
