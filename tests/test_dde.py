"""Denoising density estimators: the loss, log Z, generator training, export and sampling."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from edgerestore.cli import main
from edgerestore.errors import InputError, ModelFileError
from edgerestore.models.dde import (
    DensityConv,
    GeneratorMLP,
    dde_loss,
    denoise,
    log_likelihood,
    log_normaliser,
)
from edgerestore.models.dde_data import TOY_DENSITIES, image_crops, toy_samples
from edgerestore.models.sample_quality import energy_distance
from edgerestore.models.train_dde import DdeTraining, fit_density, train_generator
from edgerestore.models.weights_io import load_card, load_weights, save_weights
from edgerestore.runtime.image_io import write_image


class Quadratic(nn.Module):
    """``s(x) = -a ||x||^2 / 2 + c``: the family that holds the exact Gaussian answer."""

    def __init__(self, a: float, c: float = 0.0) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.tensor(a, dtype=torch.float64))
        self.c = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -0.5 * self.a * x.flatten(1).pow(2).sum(1) + self.c


SIGMA = 0.5
A_STAR = 1.0 / (1.0 + SIGMA**2)  # data N(0, 1): s* = -x^2 / (2 (1 + sigma^2)) + c


def _gaussian_loss(a: float) -> tuple[float, float]:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn((200_000, 1), generator=gen, dtype=torch.float64)
    noise = torch.randn((200_000, 1), generator=gen, dtype=torch.float64)
    s = Quadratic(a)
    loss = dde_loss(s, x, SIGMA, noise)
    (grad,) = torch.autograd.grad(loss, s.a)
    return loss.item(), grad.item()


def test_loss_is_stationary_and_minimal_at_the_closed_form_optimum():
    loss, grad = _gaussian_loss(A_STAR)
    assert abs(grad) < 0.01
    # The minimum is the posterior variance of x given x~, halved.
    assert loss == pytest.approx(0.5 * SIGMA**2 / (1 + SIGMA**2), rel=0.01)
    for delta in (-0.1, 0.1):
        assert _gaussian_loss(A_STAR + delta)[0] > loss + 1e-4


def test_denoiser_is_the_posterior_mean_at_the_optimum():
    noisy = torch.tensor([[1.0], [-2.0]], dtype=torch.float64)
    out = denoise(Quadratic(A_STAR), noisy, SIGMA)
    torch.testing.assert_close(out, noisy / (1 + SIGMA**2))


def test_log_normaliser_of_a_gaussian():
    var, c, dim = 0.8, 1.7, 2
    s = Quadratic(1.0 / var, c)
    log_z = log_normaliser(s, [dim], sigma=0.3, samples=200_000,
                           generator=torch.Generator().manual_seed(0))
    assert log_z == pytest.approx(c + 0.5 * dim * math.log(2 * math.pi * var), abs=0.02)
    x = torch.tensor([[0.0, 0.0], [1.0, -0.5]], dtype=torch.float64)
    exact = -0.5 * (x**2).sum(1) / var - 0.5 * dim * math.log(2 * math.pi * var)
    torch.testing.assert_close(log_likelihood(s, x, log_z), exact, atol=0.02, rtol=0)


def test_fit_density_lowers_the_loss():
    x = toy_samples("eight_gaussians", 2000, seed=0)
    data = torch.from_numpy(x[:512])
    noise = torch.randn(data.shape, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(0)
    start = fit_density(x, sigma=0.2, steps=0, width=64, activation="swish")
    before = dde_loss(start, data, 0.2, noise).item()
    fitted = fit_density(x, sigma=0.2, steps=300, lr=3e-3, width=64, activation="swish")
    after = dde_loss(fitted, data, 0.2, noise).item()
    # Identity denoising costs 0.5 * sigma^2 * dim = 0.04; the eight tight modes allow ~0.01.
    assert after < 0.75 * before


def test_toy_densities_are_standardised():
    for name in TOY_DENSITIES:
        x = toy_samples(name, 4000, seed=0)
        assert x.shape == (4000, 2) and x.dtype == np.float32
        assert x.std(0).min() > 0.3 and x.std(0).max() < 1.6, name
    with pytest.raises(InputError):
        toy_samples("moons", 10, 0)


def test_energy_distance_is_zero_only_for_matching_sets():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(400, 3)), rng.normal(size=(400, 3))
    assert abs(energy_distance(a, b)) < 0.05
    assert energy_distance(a + 1.0, b) > 0.5


def tiny(tmp_path: Path, **overrides) -> DdeTraining:
    settings = {"data": "eight_gaussians", "out": str(tmp_path / "g.safetensors"),
                "run_dir": str(tmp_path / "run"), "latent_dim": 2, "gen_width": 16,
                "gen_depth": 1, "dde_kind": "mlp", "dde_width": 16, "steps": 8, "batch": 32,
                "checkpoint_every": 4, "device": "cpu", "gen_every": 2}
    return DdeTraining(**{**settings, **overrides})


def test_generator_resume_matches_an_uninterrupted_run(tmp_path, monkeypatch):
    from edgerestore.models import train_dde as module

    full = tiny(tmp_path / "a")
    card = train_generator(full)
    assert card["task"] == "generate" and [h["step"] for h in card["history"]] == [4, 8]
    assert {"loss_dde_data", "loss_dde_gen", "loss_kl"} <= set(card["history"][-1])
    crashed = tiny(tmp_path / "b")
    real = module._generator_step
    calls = {"n": 0}

    def crash_on_third(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # step 4: after the step-4 checkpoint
            raise RuntimeError("simulated crash")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "_generator_step", crash_on_third)
    with pytest.raises(RuntimeError):
        train_generator(crashed)
    monkeypatch.setattr(module, "_generator_step", real)
    train_generator(crashed, resume=True)
    a, _ = load_weights(tmp_path / "a" / "g.safetensors")
    b, _ = load_weights(tmp_path / "b" / "g.safetensors")
    for pa, pb in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=0, atol=1e-6)
    with pytest.raises(InputError, match="different settings"):
        train_generator(replace(crashed, sigma=0.1), resume=True)


def test_train_dde_cli_and_bad_settings(tmp_path):
    out = tmp_path / "t.safetensors"
    assert main(["-q", "train", "dde", "--data", "rings", "--out", str(out), "--run-dir",
                 str(tmp_path / "r"), "--steps", "2", "--batch", "8", "--gen-width", "8",
                 "--dde-width", "8", "--latent-dim", "2", "--device", "cpu"]) == 0
    card = load_card(out)
    assert card["training"]["dde_kind"] == "mlp" and "quality" in card
    assert main(["-q", "train", "dde", "--data", "moons", "--out", str(out)]) == 2
    assert main(["-q", "train", "dde", "--data", "rings", "--dde-kind", "conv",
                 "--out", str(out)]) == 2
    assert main(["-q", "train", "dde", "--sigma", "0", "--out", str(out)]) == 2


def test_conv_dde_gives_one_value_per_image():
    s = DensityConv([1, 8, 8], width=4)
    assert s(torch.zeros(3, 1, 8, 8)).shape == (3,)
    with pytest.raises(InputError):
        DensityConv([1, 6, 6])


@pytest.fixture
def tiny_generator(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    gen = GeneratorMLP(4, [1, 8, 8], width=16, depth=1, squash=True)
    path = tmp_path / "gen.safetensors"
    save_weights(gen, gen.config(), path, {"name": "gen", "task": "generate",
                                          "training": {"data": "digits"}})
    return path


def test_generator_exports_to_onnx_and_samples_without_torch(tmp_path, tiny_generator):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxslim")
    out = tmp_path / "exp"
    assert main(["-q", "export", "--model", str(tiny_generator), "--format", "onnx",
                 "--precision", "fp32", "--out", str(out)]) == 0
    onnx_file = out / "gen_fp32.onnx"
    from edgerestore.export.generator_export import parity

    gen, _ = load_weights(tiny_generator)
    assert parity(gen, onnx_file)["psnr_vs_torch"] > 60
    blocker = tmp_path / "blocker"
    (blocker / "torch").mkdir(parents=True)
    (blocker / "torch" / "__init__.py").write_text("raise ImportError('torch is blocked')\n")
    grid = tmp_path / "grid.png"
    script = textwrap.dedent(f"""
        import sys
        from edgerestore.cli import main
        from edgerestore.runtime.generate import ExportedGenerator
        assert main(["-q", "generate", "--model", r"{onnx_file}", "-n", "5",
                     "-o", r"{grid}", "--seed", "3"]) == 0
        a = ExportedGenerator(r"{onnx_file}").sample(5, seed=3)
        b = ExportedGenerator(r"{onnx_file}").sample(5, seed=3)
        assert a.shape == (5, 1, 8, 8) and (a == b).all() and 0 <= a.min() <= a.max() <= 1
        try:
            main(["-q", "generate", "--model", r"{onnx_file}", "-n", "0", "-o", r"{grid}"])
        except SystemExit as exc:  # argparse refuses -n 0 while parsing
            assert exc.code == 2
        else:
            raise AssertionError("-n 0 was accepted")
        assert "torch" not in sys.modules or sys.modules["torch"] is None
        print("OK")
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(blocker)), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("OK")
    from edgerestore.runtime.image_io import read_image

    image, _ = read_image(grid)
    assert image.shape[:2] == (2 * 33 + 1, 3 * 33 + 1)  # 5 samples: 2 rows of 3, 4x enlarged


def test_generate_rejects_bad_inputs(tmp_path, tiny_generator):
    from edgerestore.runtime.generate import ExportedGenerator, generate_grid

    with pytest.raises(ModelFileError):
        ExportedGenerator(tmp_path / "missing.onnx")
    with pytest.raises(ModelFileError):
        ExportedGenerator(tiny_generator)  # weights, not an exported file
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    assert main(["-q", "generate", "--model", str(junk), "-o", str(tmp_path / "g.png")]) == 2
    with pytest.raises(InputError):
        generate_grid(junk, 0, tmp_path / "g.png")


def test_photo_crops_hold_out_whole_images(tmp_path):
    """Held-out crops must come from images no training crop touched: each image here is
    one flat colour, so a crop's colour says which image it came from."""
    for i in range(10):
        write_image(tmp_path / f"{i:02d}.png", np.full((40, 50, 3), i / 10, np.float32))
    write_image(tmp_path / "10.png", np.full((40, 50, 1), 0.95, np.float32))  # grey -> RGB
    train, held = image_crops(tmp_path, size=16, per_image=4, seed=0)
    assert train.shape[1:] == (3, 16, 16) and held.shape[1:] == (3, 16, 16)
    assert len(train) + len(held) == 44 and len(held) == 4
    assert {round(float(v), 2) for v in train[:, 0, 0, 0]}.isdisjoint(
        {round(float(v), 2) for v in held[:, 0, 0, 0]})
    with pytest.raises(InputError, match="smaller than a 64x64 crop"):
        image_crops(tmp_path, size=64)
    (tmp_path / "only").mkdir()
    write_image(tmp_path / "only" / "a.png", np.zeros((40, 40, 3), np.float32))
    with pytest.raises(InputError, match="at least two images"):
        image_crops(tmp_path / "only")


def test_train_dde_on_a_photo_folder(tmp_path):
    rng = np.random.default_rng(0)
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(4):
        write_image(photos / f"{i}.png", rng.random((24, 24, 3)).astype(np.float32))
    out = tmp_path / "gen.safetensors"
    assert main(["-q", "train", "dde", "--data", str(photos), "--crop", "8", "--out", str(out),
                 "--run-dir", str(tmp_path / "run"), "--steps", "4", "--batch", "8",
                 "--latent-dim", "4", "--gen-width", "16", "--dde-width", "4",
                 "--checkpoint-every", "2", "--threads", "1"]) == 0
    card = load_card(out)
    assert card["training"]["crop"] == 8 and card["training"]["dde_kind"] == "conv"
    assert load_weights(out)[1]["shape"] == [3, 8, 8]
