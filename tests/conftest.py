"""Shared fixtures and helpers: small deterministic images, generated in code."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(name: str) -> ModuleType:
    """``benchmarks/<name>.py`` as a module (benchmarks are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


TINY_CARD = {"name": "tiny_dncnn", "sigma": 11.0}


def save_tiny_dncnn(path: Path, channels: int = 3, identity: bool = False,
                    card: dict | None = None, seed: int = 0) -> Path:
    """A tiny DnCNN MAP denoiser (depth 3, width 8) saved as ``path`` with its card;
    ``identity``: the last layer zeroed, so the net returns its input. Needs torch."""
    import torch

    from edgerestore.models.dncnn import DnCNN
    from edgerestore.models.weights_io import save_weights

    torch.manual_seed(seed)
    model = DnCNN(channels, depth=3, width=8, role="map").eval()
    if identity:
        torch.nn.init.zeros_(model.body[-1].weight)
        torch.nn.init.zeros_(model.body[-1].bias)
    save_weights(model, model.config(), path, card=TINY_CARD if card is None else card)
    return path


@pytest.fixture(scope="session")
def tiny_dncnn(tmp_path_factory) -> Path:
    """``tiny_dncnn.safetensors``: :func:`save_tiny_dncnn`'s RGB net (skips without torch)."""
    pytest.importorskip("torch")
    return save_tiny_dncnn(tmp_path_factory.mktemp("tiny") / "tiny_dncnn.safetensors")


#: The blind-spot backbone the training tests build: small enough for seconds on a CPU.
TINY_BACKBONE = {"width": 8, "depth": 2, "branch_width": 4, "mix_widths": [8]}


def write_sample_crops(folder: Path, height: int, width: int) -> Path:
    """``folder`` with a ``height`` x ``width`` crop (from row and column 100) of the
    astronaut, coffee and chelsea samples, one PNG each."""
    from edgerestore.runtime.image_io import write_image
    from edgerestore.runtime.samples import load_sample

    for name in ("astronaut", "coffee", "chelsea"):
        write_image(folder / f"{name}.png", load_sample(name)[100:100 + height, 100:100 + width])
    return folder


@pytest.fixture(scope="session")
def train_images(tmp_path_factory) -> Path:
    """Three 64x80 crops of the bundled samples: the training tests' data folder."""
    return write_sample_crops(tmp_path_factory.mktemp("data"), 64, 80)


def run_crashing_at(monkeypatch, module: ModuleType, crash_step: int, run) -> None:
    """Call ``run()`` with ``module.sample_batch`` raising a simulated crash at
    ``crash_step`` (``run`` must fail with it), then put the real sampler back."""
    real = module.sample_batch

    def crash(images, items, size, seed, step):
        if step == crash_step:
            raise RuntimeError("simulated crash")
        return real(images, items, size, seed, step)

    monkeypatch.setattr(module, "sample_batch", crash)
    with pytest.raises(RuntimeError):
        run()
    monkeypatch.setattr(module, "sample_batch", real)


def tiny_blindspot_training(tmp: Path, data: Path, **kw):
    """``BlindSpotTraining`` of :data:`TINY_BACKBONE` on ``data`` writing under ``tmp``
    (12 steps of 2 patches of 24, a checkpoint every 4, one CPU thread); ``kw`` overrides."""
    from dataclasses import replace

    from edgerestore.models.train_blindspot import BlindSpotTraining

    base = BlindSpotTraining(data=str(data), out=str(tmp / "w.safetensors"),
                             run_dir=str(tmp / "run"), backbone=dict(TINY_BACKBONE), steps=12,
                             batch=2, patch=24, checkpoint_every=4, device="cpu", threads=1)
    return replace(base, **kw)


def correlated_noise(shape: tuple[int, ...], sigma: float,
                     rng: np.random.Generator) -> np.ndarray:
    """HxWxC noise of std ``sigma`` (0-255 units, returned in [0, 1] units) correlated
    like a demosaiced camera's: white noise smoothed by [1, 1] / sqrt(2) along both
    axes, so lag-1 correlation 0.5 in each direction and none from lag 2 on."""
    white = rng.standard_normal((shape[0] + 1, shape[1] + 1, shape[2]))
    rows = (white[1:] + white[:-1]) / np.sqrt(2)
    return (rows[:, 1:] + rows[:, :-1]) / np.sqrt(2) * sigma / 255.0


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def rgb(rng: np.random.Generator) -> np.ndarray:
    """A 37x53 RGB float32 image with smooth structure and detail."""
    y, x = np.mgrid[0:37, 0:53] / 40.0
    base = np.stack([np.sin(3 * x) * 0.4 + 0.5, np.cos(2 * y) * 0.4 + 0.5, x * y * 0.4], -1)
    return np.clip(base + 0.05 * rng.standard_normal(base.shape), 0, 1).astype(np.float32)


# Hypothesis: the fuzz tests (tests/test_fuzz_*.py) stay within CI's budget by default;
# `pytest --hypothesis-profile=long` explores far more inputs locally.
try:
    from hypothesis import HealthCheck, settings
except ImportError:  # the dev extra installs it; without it the fuzz tests skip
    pass
else:
    settings.register_profile(
        "default", max_examples=25, deadline=None, derandomize=True, print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    settings.register_profile(
        "long", max_examples=2000, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    settings.load_profile("default")


def make_onnx_denoiser(path, *, channels: int = 3, task: str = "map_denoiser",
                       output: str = "same", card: dict | None = None):
    """A tiny exported denoiser (an ONNX graph with its card), built without torch.

    ``output``: ``same`` returns the input (plus 0 x sigma for two-input tasks),
    ``one_channel`` only its first channel, ``half`` every second row: graphs whose
    output does not match their card. ``card`` overrides fields of the card.
    """
    import json

    import onnx
    from onnx import TensorProto, helper, numpy_helper

    posterior = task.startswith("denoise_")
    names = ["noisy", "sigma"] if posterior else ["image"]
    x = helper.make_tensor_value_info(names[0], TensorProto.FLOAT, [1, channels, "h", "w"])
    y = helper.make_tensor_value_info("out", TensorProto.FLOAT, None)
    ints = {"s0": 0, "e1": 1, "big": 1 << 30, "ax1": 1, "ax2": 2, "st2": 2}
    used = {"one_channel": ("s0", "e1", "ax1"), "half": ("s0", "big", "ax2", "st2")}
    inits = [numpy_helper.from_array(np.array([ints[n]], np.int64), n)
             for n in used.get(output, ())]
    nodes = []
    inputs = [x]
    src = names[0]
    if posterior:
        inputs.append(helper.make_tensor_value_info("sigma", TensorProto.FLOAT, [1]))
        inits.append(numpy_helper.from_array(np.zeros(1, np.float32), "zero"))
        nodes += [helper.make_node("Mul", ["sigma", "zero"], ["s0f"]),
                  helper.make_node("Add", [src, "s0f"], ["shifted"])]
        src = "shifted"
    if output == "one_channel":
        nodes.append(helper.make_node("Slice", [src, "s0", "e1", "ax1"], ["out"]))
    elif output == "half":
        nodes.append(helper.make_node("Slice", [src, "s0", "big", "ax2", "st2"], ["out"]))
    else:
        nodes.append(helper.make_node("Identity", [src], ["out"]))
    graph = helper.make_graph(nodes, "tiny", inputs, [y], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    full = {"task": task, "inputs": names, "layout": "NCHW", "channels": channels,
            "tile": None, "receptive_field": 3,
            "noise": {"model": "gauss", "training_sigma": 11.0}, **(card or {})}
    helper.set_model_props(model, {"edgerestore": json.dumps(full)})
    onnx.save(model, str(path))
    return path


def _mount_tmpfs(path, options: str) -> str | None:
    """Mount a small tmpfs at ``path``; the reason it cannot be done, or None."""
    import subprocess

    path.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                          capture_output=True, text=True)
    return None if proc.returncode == 0 else (proc.stderr.strip() or "mount failed")


def _umount(path) -> None:
    import subprocess

    subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _tmpfs(path, options: str, what: str):
    """Yield ``path`` with a tmpfs of ``options`` mounted on it (skip, naming ``what``,
    where that cannot be done); unmount it afterwards."""
    reason = _mount_tmpfs(path, options)
    if reason:
        pytest.skip(f"cannot mount {what} here ({reason})")
    yield path
    _umount(path)


@pytest.fixture
def read_only_dir(tmp_path):
    """A folder nobody can write to, root included: a read-only tmpfs (skip if unmountable)."""
    yield from _tmpfs(tmp_path / "ro", "size=1m,ro", "a read-only tmpfs")


@pytest.fixture
def full_disk_dir(tmp_path):
    """A 256 KiB tmpfs, to run out of space on (skip where tmpfs cannot be mounted)."""
    yield from _tmpfs(tmp_path / "small", "size=256k", "a small tmpfs")


# --------------------------------------------------------------------------- commands

def cli(capsys, *argv: str | Path) -> tuple[int, str]:
    """Exit code and stderr of one in-process command (usage errors included)."""
    from edgerestore.cli import main

    try:
        code = main([*map(str, argv)])
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


def one_line_error(err: str) -> bool:
    """``err`` is one ``error:`` line: no traceback, no internal error."""
    lines = [line for line in err.splitlines() if line.strip()]
    return (len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in err
            and "internal error" not in err)


def cli_exit_0_or_2(capsys, *argv: str | Path) -> tuple[int, str]:
    """:func:`cli`, checking the fuzz tests' property: exit 0, or exit 2 with one line of
    stderr; never another code, a traceback or an internal error."""
    code, err = cli(capsys, *argv)
    assert code in (0, 2), err
    assert "Traceback" not in err and "internal error" not in err
    if code == 2:
        assert len([line for line in err.splitlines() if line.strip()]) == 1, err
    return code, err


# --------------------------------------------------------------------------- solvers

def smooth_image(h: int, w: int, channels: int = 1) -> np.ndarray:
    """A smooth, non-periodic test image (a ramp plus waves and a blob)."""
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    base = 0.2 + 0.5 * xx + 0.2 * np.sin(5 * yy) + 0.15 * np.exp(
        -((xx - 0.6) ** 2 + (yy - 0.3) ** 2) / 0.02
    )
    return np.repeat(base[..., None], channels, axis=2)


def gaussian_smoother(std: float = 0.8):
    """A fixed-strength 'denoiser': Gaussian smoothing with reflected borders."""
    from edgerestore.runtime import blur, kernels

    g = kernels.gaussian_kernel(std)
    r = g.shape[0] // 2

    def smooth(v: np.ndarray, sigma: float | None) -> np.ndarray:
        padded = np.pad(v, ((r, r), (r, r), (0, 0)), mode="reflect")
        return blur.blur_valid(padded, g).astype(np.float32)

    return smooth


def binary_scene(channels: int = 3, side: int = 32) -> np.ndarray:
    """Random black-and-white pixels: deblurring them at a low noise level makes the
    solvers' iterates ring well outside [0, 1] (what the range check on the denoiser
    call refused)."""
    rng = np.random.default_rng(1)
    return (rng.random((side, side, channels)) > 0.5).astype(np.float32)


#: A 15-pixel diagonal motion blur.
MOTION = np.eye(15) / 15


@pytest.fixture
def blurred(tmp_path: Path) -> tuple[Path, Path]:
    """A blurred, slightly noisy colour photo and its motion kernel (.npy)."""
    from edgerestore.runtime.blur import blur_circular
    from edgerestore.runtime.image_io import write_image

    scene = blur_circular(binary_scene(), MOTION)
    noisy = scene + np.random.default_rng(0).normal(0, 0.002, scene.shape)
    image = tmp_path / "blurred.png"
    write_image(image, np.clip(noisy, 0, 1))
    np.save(tmp_path / "k.npy", MOTION)
    return image, tmp_path / "k.npy"
