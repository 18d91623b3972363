"""Camera-pipeline noise: each stage inverts its forward stage, the noise is spatially
correlated as a real pipeline's is, seeding, the spec and the CLI."""

from __future__ import annotations

import numpy as np
import pytest

from edgerestore.cli import main
from edgerestore.errors import InputError
from edgerestore.runtime import camera_noise as cn
from edgerestore.runtime.image_io import read_image, write_image
from edgerestore.runtime.noise import NoiseSpec, add_gaussian_noise

pytest.importorskip("colour_demosaicing")


def smooth_image(height: int = 48, width: int = 64) -> np.ndarray:
    """A smooth colour image in [0.1, 0.8] (demosaicing is near exact on it)."""
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    return np.stack([0.1 + 0.6 * x, 0.45 + 0.25 * np.sin(3 * y), 0.1 + 0.5 * (x + y) / 2],
                    axis=-1)


def lag1_correlation(noise: np.ndarray) -> float:
    """Mean over channels of the correlation of horizontally adjacent noise values."""
    return float(np.mean([np.corrcoef(noise[:, :-1, c].ravel(), noise[:, 1:, c].ravel())[0, 1]
                          for c in range(noise.shape[-1])]))


def test_tone_curve_and_gamma_invert_each_other():
    x = np.linspace(0.0, 1.0, 1001)
    np.testing.assert_allclose(cn.tone_curve(cn.inverse_tone_curve(x)), x, atol=1e-9)
    np.testing.assert_allclose(cn.inverse_tone_curve(cn.tone_curve(x)), x, atol=1e-6)
    x = x[1:]
    np.testing.assert_allclose(cn.gamma_compress(cn.gamma_expand(x)), x, atol=1e-9)
    np.testing.assert_allclose(cn.gamma_expand(cn.gamma_compress(x)), x, atol=1e-9)


def test_colour_matrix_rows_sum_to_one_and_invert():
    rng = np.random.default_rng(0)
    for _ in range(5):
        cam = cn.random_camera(rng)
        np.testing.assert_allclose(cam.rgb_to_cam.sum(axis=1), 1.0, atol=1e-12)
        img = smooth_image()
        back = cn.apply_ccm(cn.apply_ccm(img, cam.rgb_to_cam), cam.cam_to_rgb)
        np.testing.assert_allclose(back, img, atol=1e-9)
        assert 1.9 <= cam.red_gain <= 2.4 and 1.5 <= cam.blue_gain <= 1.9


def test_white_balance_inverts_below_highlights_and_keeps_white_white():
    cam = cn.random_camera(np.random.default_rng(1))
    img = smooth_image()  # grey level < 0.9: the plain gain applies
    np.testing.assert_allclose(cn.apply_gains(cn.mosaic(cn.invert_gains(img, cam)), cam),
                               cn.mosaic(img), atol=1e-12)
    white = np.ones((2, 2, 3))
    np.testing.assert_allclose(cn.invert_gains(white, cam), white)  # not dimmed to grey


def test_mosaic_is_rggb_and_demosaic_inverts_it_on_smooth_images():
    img = smooth_image()
    bayer = cn.mosaic(img)
    assert bayer[0, 0] == img[0, 0, 0] and bayer[0, 1] == img[0, 1, 1]
    assert bayer[1, 0] == img[1, 0, 1] and bayer[1, 1] == img[1, 1, 2]
    for method in cn.DEMOSAIC_METHODS:
        back = cn.demosaic(bayer, method)[4:-4, 4:-4]  # borders: interpolation padding
        assert np.abs(back - img[4:-4, 4:-4]).max() < 0.02, method


def test_whole_pipeline_without_noise_returns_the_image():
    img = smooth_image()
    cam = cn.random_camera(np.random.default_rng(2))
    out = cn.process(cn.unprocess(img, cam), cam)
    assert np.abs(out - img)[4:-4, 4:-4].max() < 0.02


def test_noise_is_spatially_correlated_unlike_white_noise():
    flat = np.full((96, 96, 3), 0.5, np.float32)
    spec = NoiseSpec.parse("camera:iso=3200")
    camera = spec.apply(flat, np.random.default_rng(3))[0]
    camera_noise = camera - camera.mean(axis=(0, 1))
    white = add_gaussian_noise(flat, 10, np.random.default_rng(3)) - flat
    assert lag1_correlation(camera_noise) > 0.2
    assert abs(lag1_correlation(white)) < 0.05
    assert 3 / 255 < camera_noise.std() < 40 / 255


def test_noise_grows_with_iso():
    flat = np.full((64, 64, 3), 0.4, np.float32)
    stds = [(NoiseSpec.parse(f"camera:iso={iso}").apply(flat, np.random.default_rng(0))[0]
             - flat).std() for iso in (200, 1600, 6400)]
    assert stds[0] < stds[1] < stds[2]


def test_seeded_and_shape_dtype_kept_for_odd_grey_and_jpeg():
    spec = NoiseSpec.parse("camera:iso=400-3200,jpeg=90,demosaic=bilinear")
    img = smooth_image(33, 21).astype(np.float32)
    a, level_a = spec.apply(img, np.random.default_rng(7))
    b, level_b = spec.apply(img, np.random.default_rng(7))
    c, _ = spec.apply(img, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert level_a == level_b and 400 <= level_a <= 3200
    assert not np.array_equal(a, c)
    assert a.shape == img.shape and a.dtype == np.float32 and 0 <= a.min() <= a.max() <= 1
    np.testing.assert_allclose(a * 255, np.round(a * 255), atol=1e-3)  # a JPEG is 8-bit
    grey = spec.apply(img[..., :1], np.random.default_rng(7))[0]
    assert grey.shape == (33, 21, 1)


def test_spec_parses_and_prints_back():
    for text in ("camera:iso=1600,jpeg=90", "camera:iso=400-3200,demosaic=bilinear",
                 "camera:iso=100"):
        spec = NoiseSpec.parse(text)
        assert str(spec) == text and NoiseSpec.parse(str(spec)) == spec
    spec = NoiseSpec.parse("camera")
    assert (spec.low, spec.high) == (cn.ISO_MIN, cn.ISO_MAX) and spec.is_range


@pytest.mark.parametrize("text", ["camera:iso=50", "camera:iso=20000", "camera:iso=x",
                                  "camera:iso=3200-400", "camera:jpeg=0", "camera:jpeg=101",
                                  "camera:jpeg=9.5", "camera:demosaic=vng", "camera:gain=2",
                                  "camera:iso=100,iso=200", "camera:iso"])
def test_bad_specs_are_input_errors(text):
    with pytest.raises(InputError, match="bad noise"):
        NoiseSpec.parse(text)


def test_bad_images_are_input_errors():
    spec = NoiseSpec.parse("camera:iso=800")
    for bad in (np.zeros((8, 8, 2), np.float32), np.zeros((8, 8, 3), np.uint8),
                np.full((8, 8, 3), np.nan, np.float32)):
        with pytest.raises(InputError):
            spec.apply(bad, np.random.default_rng(0))


def test_cli_add_noise_camera_and_bad_spec_exit_2(tmp_path, capsys):
    clean = tmp_path / "clean.png"
    write_image(clean, smooth_image().astype(np.float32))
    out = tmp_path / "noisy.png"
    assert main(["add-noise", str(clean), "-o", str(out), "--noise",
                 "camera:iso=1600,jpeg=90", "--seed", "1"]) == 0
    noisy = read_image(out)[0]
    assert noisy.shape == (48, 64, 3) and np.abs(noisy - read_image(clean)[0]).mean() > 2 / 255
    capsys.readouterr()
    assert main(["add-noise", str(clean), "-o", str(tmp_path / "x.png"), "--noise",
                 "camera:iso=1600,jpeg=900"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "jpeg" in err and "Traceback" not in err
    assert not (tmp_path / "x.png").exists()
