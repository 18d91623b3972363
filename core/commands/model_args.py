"""Options shared by the restoration commands: which model, which backend, many files.

``--model`` takes a packaged name or a file; without it the command uses the
packaged default for the image (see :mod:`edgerestore.runtime.packaged`). Kept in
one place so ``denoise`` and ``deblur | inpaint | upscale`` spell them the same.
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgerestore import argtypes
from edgerestore.console import log
from edgerestore.errors import InputError
from edgerestore.runtime.packaged import BACKENDS, PRECISIONS, SHIPPED

if TYPE_CHECKING:
    import numpy as np


def add_model_args(p: argparse.ArgumentParser, *flags: str, dest: str, what: str,
                   files: str = ".onnx, .tflite") -> None:
    """``flags`` (e.g. ``--model``) naming the model, plus ``--backend`` / ``--precision``."""
    p.add_argument(*flags, dest=dest, metavar="NAME_OR_PATH",
                   help=f"{what}: a packaged model ({', '.join(SHIPPED)}; see "
                        f"`edgerestore models`) or a file ({files}); default: the packaged "
                        "default for the image")
    p.add_argument("--backend", choices=BACKENDS,
                   help="for a packaged model: run its file for this backend (default: the "
                        "fastest installed one)")
    p.add_argument("--precision", choices=PRECISIONS,
                   help="for a packaged model: run its file of this precision (default: the "
                        "fastest)")


def add_batch_args(p: argparse.ArgumentParser) -> None:
    """Options that apply when the inputs are several files, folders or globs."""
    p.add_argument("--jobs", type=argtypes.int_range(1, 256), default=1,
                   help="with several inputs: files restored in parallel processes (default 1)")
    p.add_argument("--overwrite", action="store_true",
                   help="with several inputs: replace outputs that already exist (default: "
                        "skip them)")



def model_path(args: argparse.Namespace, task: str, image: np.ndarray | None = None,
               *, dest: str = "model") -> Path | None:
    """The file ``args.<dest>`` names (packaged name or path) for ``task``.

    With no model given it is the packaged default for ``image`` (its channels and,
    for denoising, its given or estimated noise level), or None while the image is
    not read yet (read it, then call again).
    """
    from edgerestore.runtime.packaged import resolve

    given = getattr(args, dest)
    if given is not None:
        return resolve(str(given), task=task, backend=args.backend, precision=args.precision)
    if image is None:
        return None
    sigma = getattr(args, "sigma", None)
    if task == "denoise" and sigma is None:
        from edgerestore.runtime.sigma_estimate import estimate_sigma

        sigma = estimate_sigma(image) * 255.0
    path = resolve(None, task=task, channels=image.shape[2], backend=args.backend,
                   precision=args.precision, sigma=sigma if task == "denoise" else None)
    log.info("model: %s (the packaged default for this image)", path.name)
    return path


def run_many(args: argparse.Namespace, task: str, **work_options: Any) -> int:
    """Restore every input of a batch into the ``-o`` folder (``denoise`` / ``deblur``).

    ``work_options`` go to the per-file function (the deblur kernel and solver options).
    """
    from edgerestore import batch

    if getattr(args, "in_place", False):
        raise InputError("--in-place applies to one input; a batch writes into the -o folder")
    pairs, skipped = batch.plan(args.input, args.output, overwrite=args.overwrite)
    model = getattr(args, "model", None) or getattr(args, "denoiser", None)
    work = partial(batch.denoise_one if task == "denoise" else batch.deblur_one,
                   model=None if model is None else str(model), backend=args.backend,
                   precision=args.precision, sigma=args.sigma,
                   threads=batch.threads_per_job(args.threads, args.jobs),
                   bit_depth=args.bit_depth, **work_options)
    failures = batch.run(pairs, work, args.jobs)
    return batch.report(failures, len(pairs), skipped)


def one_input(args: argparse.Namespace) -> Path:
    """The single input of a command that has no batch mode."""
    if len(args.input) != 1 or args.input[0].is_dir() or args.jobs != 1 or args.overwrite:
        raise InputError(f"{args.command} takes one input image (no --jobs / --overwrite); "
                         "only denoise and deblur restore several files at once")
    return args.input[0]
