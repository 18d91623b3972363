"""Distillation: the plain student network's facts, its export and tiling, and
``edgerestore train distill`` from a teacher to a student that learned it (no clean
image used), resumable without recomputing the teacher, and its refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import cli, one_line_error, save_tiny_dncnn

from edgerestore.cli import main

torch = pytest.importorskip("torch")

from edgerestore.models import train_distill  # noqa: E402
from edgerestore.models.student import PlainStudent  # noqa: E402
from edgerestore.models.weights_io import load_card, load_weights, save_weights  # noqa: E402


def tiny_student(scale: int = 2, seed: int = 0) -> PlainStudent:
    torch.manual_seed(seed)
    return PlainStudent(3, width=8, depth=3, scale=scale).eval()


def test_student_starts_as_the_identity_and_takes_any_size():
    net = tiny_student(scale=3)
    net.init_for_training()
    x = torch.rand(1, 3, 31, 22)
    with torch.no_grad():
        assert torch.equal(net(x), x)
    assert net.receptive_field == 3 * 7 and net.tile_align == 3
    assert net.task == "denoise_direct"


def test_student_receptive_field_is_exact():
    """An output pixel changes with inputs inside the stated window and not outside."""
    net = tiny_student(scale=2)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        base = net(x)
        for offset, changes in ((net.receptive_field // 2, True),
                                (net.receptive_field // 2 + 2, False)):
            y = x.clone()
            y[..., 32, 32 + offset] += 1.0
            assert bool((net(y)[..., 32, 32] != base[..., 32, 32]).any()) == changes


def test_student_onnx_runs_tiled_as_whole(tmp_path):
    pytest.importorskip("onnx")
    from edgerestore.runtime.exported_denoiser import ExportedDenoiser

    net = tiny_student()
    weights = tmp_path / "student.safetensors"
    save_weights(net, net.config(), weights, {"name": "student", "noise": "gauss:25"})
    assert main(["-q", "export", "--model", str(weights), "--format", "onnx", "--precision",
                 "fp32", "--out", str(tmp_path)]) == 0
    image = np.random.default_rng(0).random((70, 53, 3)).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(image.transpose(2, 0, 1))[None])[0].numpy()
    whole = ExportedDenoiser(tmp_path / "student_fp32.onnx").denoise(image)
    tiled = ExportedDenoiser(tmp_path / "student_fp32.onnx", max_tile=32).denoise(image)
    assert np.allclose(whole, expected.transpose(1, 2, 0), atol=1e-5)
    assert np.allclose(tiled, whole, atol=1e-5)


@pytest.fixture(scope="module")
def teacher(tmp_path_factory) -> Path:
    """A tiny DnCNN as the teacher: what it computes does not matter, only that the
    student learns to compute it too."""
    return save_tiny_dncnn(tmp_path_factory.mktemp("teacher") / "teacher.safetensors",
                           card={"name": "teacher", "noise": "gauss:25"})


def distill(capsys, teacher: Path, data: Path, tmp: Path, *extra: str) -> tuple[int, str]:
    return cli(capsys, "-q", "train", "distill", "--teacher", teacher, "--data", data,
               "--out", tmp / "student.safetensors", "--run-dir", tmp / "run",
               "--width", "8", "--depth", "3", "--batch", "4", "--patch", "32",
               "--checkpoint-every", "20", "--threads", "1", "--device", "cpu", *extra)


def student_error(student_path: Path, teacher_path: Path, data: Path) -> tuple[float, float]:
    """Mean squared distance to the teacher's output of the student and of the identity,
    on the training images with fresh noise."""
    student, _ = load_weights(student_path)
    teacher_net, _ = load_weights(teacher_path)
    rng = np.random.default_rng(5)
    errors, identity = [], []
    for path in sorted(data.iterdir()):
        from edgerestore.runtime.image_io import read_image

        clean = read_image(path)[0]
        noisy = clean + rng.normal(0, 25 / 255, clean.shape).astype(np.float32)
        x = torch.from_numpy(noisy.transpose(2, 0, 1))[None]
        with torch.no_grad():
            target = teacher_net(x)
            errors.append(float(((student(x) - target) ** 2).mean()))
            identity.append(float(((x - target) ** 2).mean()))
    return float(np.mean(errors)), float(np.mean(identity))


def test_distill_learns_the_teacher_and_records_it(capsys, tmp_path, teacher, train_images):
    code, err = distill(capsys, teacher, train_images, tmp_path, "--steps", "120")
    assert code == 0, err
    learned, identity = student_error(tmp_path / "student.safetensors", teacher, train_images)
    assert learned < 0.5 * identity
    card = load_card(tmp_path / "student.safetensors")
    assert card["teacher"]["name"] == "teacher"
    assert len(card["teacher"]["sha256"]) == 64
    assert card["training"]["clean_targets_used"] is False
    assert card["noise"] == "gauss:25"
    assert card["training"]["images_seen"] == 120 * 4
    student, config = load_weights(tmp_path / "student.safetensors")
    assert config["arch"] == "plain_student" and isinstance(student, PlainStudent)


def test_distill_resumes_without_recomputing_the_teacher(capsys, tmp_path, teacher,
                                                         train_images, monkeypatch):
    code, err = distill(capsys, teacher, train_images, tmp_path, "--steps", "20")
    assert code == 0, err

    def no_teacher(*_args, **_kw):
        raise AssertionError("the teacher ran again")

    monkeypatch.setattr(train_distill, "teacher_function", no_teacher)
    code, err = distill(capsys, teacher, train_images, tmp_path, "--steps", "40", "--resume")
    assert code == 0, err
    assert load_card(tmp_path / "student.safetensors")["training"]["images_seen"] == 160
    # Other noise: the cached targets are stale and the teacher runs again.
    code, err = distill(capsys, teacher, train_images, tmp_path, "--steps", "4", "--overwrite",
                        "--noise", "gauss:15")
    assert code == 1 and "the teacher ran again" in err


def test_clipped_inputs_are_8_bit(tmp_path, train_images):
    cfg = train_distill.DistillTraining(data=str(train_images), out="x.safetensors",
                                        run_dir=str(tmp_path), teacher="t",
                                        clipped_fraction=1.0)
    from edgerestore.runtime.noise import NoiseSpec

    noisy, level = train_distill.noisy_input(np.full((8, 8, 3), 0.5, np.float32),
                                             NoiseSpec.parse("gauss:25"), cfg, 0)
    assert level == 25.0 and noisy.min() >= 0 and noisy.max() <= 1
    assert np.allclose(noisy * 255, np.round(noisy * 255), atol=1e-4)


@pytest.mark.parametrize("extra, words", [
    (("--already-noisy", "--noise", "gauss:25"), "--already-noisy"),
    (("--channels", "1"), "channel"),
    (("--already-noisy", "--dev-images", "."), "noisy/ and clean/"),
])
def test_distill_refusals(capsys, tmp_path, teacher, train_images, extra, words):
    code, err = distill(capsys, teacher, train_images, tmp_path, "--steps", "2", *extra)
    assert code == 2 and one_line_error(err) and words in err, err
    assert not (tmp_path / "student.safetensors").exists()


def test_a_student_is_no_teacher(capsys, tmp_path, train_images):
    net = tiny_student()
    path = tmp_path / "s.safetensors"
    save_weights(net, net.config(), path, {"name": "s", "noise": "gauss:25"})
    code, err = distill(capsys, path, train_images, tmp_path / "o")
    assert code == 2 and one_line_error(err) and "student" in err, err



def test_eval_scores_a_student_and_refuses_modes_it_has_not(capsys, tmp_path, train_images):
    net = tiny_student()
    path = tmp_path / "s.safetensors"
    save_weights(net, net.config(), path, {"name": "s", "noise": "gauss:25"})
    out = tmp_path / "eval.json"
    code, err = cli(capsys, "-q", "eval", "denoise", "--model", path, "--images", train_images,
                    "--noise", "gauss:25", "--no-ssim", "--json", out)
    assert code == 0, err
    import json

    assert json.loads(out.read_text())["count"] == 3
    code, err = cli(capsys, "-q", "eval", "denoise", "--model", path, "--images", train_images,
                    "--noise", "gauss:25", "--mode", "all")
    assert code == 2 and one_line_error(err) and "one output" in err, err
