"""Options shared by the restoration commands: which model, which backend, many files.

``--model`` takes a packaged name or a file; without it the command uses the
packaged default for the image (see :mod:`edgerestore.runtime.packaged`). Kept in
one place so ``denoise`` and ``deblur | inpaint | upscale`` spell them the same, and
turn them into the options of :func:`edgerestore.api.restore_file` the same way for one
file and for a folder.
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path
from typing import Any

from edgerestore import argtypes
from edgerestore.errors import InputError
from edgerestore.runtime.model_files import EXPORTED_SUFFIXES
from edgerestore.runtime.packaged import BACKENDS, PRECISIONS, SHIPPED


def add_model_args(p: argparse.ArgumentParser, *flags: str, dest: str, what: str,
                   files: str = ", ".join(EXPORTED_SUFFIXES)) -> None:
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



def restore_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options of :func:`edgerestore.api.restore_file` that every restoring command
    has (the task's own come from the command)."""
    model = getattr(args, "model", None) or getattr(args, "denoiser", None)
    options = {"model": None if model is None else str(model), "backend": args.backend,
               "precision": args.precision, "sigma": args.sigma, "threads": args.threads,
               "bit_depth": args.bit_depth}
    for name in ("device", "max_tile"):
        if hasattr(args, name):
            options[name] = getattr(args, name)
    return options


def run_one(args: argparse.Namespace, task: str, **task_options: Any) -> int:
    """Restore the one input into ``-o`` (with progress bars)."""
    from edgerestore.api import restore_file

    restore_file(task, args.input[0], args.output, in_place=args.in_place,
                 show_progress=True, **restore_options(args), **task_options)
    return 0


def run_many(args: argparse.Namespace, task: str, **task_options: Any) -> int:
    """Restore every input of a batch into the ``-o`` folder (``denoise`` / ``deblur``),
    each file exactly as :func:`run_one` would."""
    from edgerestore import batch
    from edgerestore.api import restore_file

    if getattr(args, "in_place", False):
        raise InputError("--in-place applies to one input; a batch writes into the -o folder")
    pairs, skipped = batch.plan(args.input, args.output, overwrite=args.overwrite)
    options = {**restore_options(args),
               "threads": batch.threads_per_job(args.threads, args.jobs)}
    work = partial(restore_file, task, **options, **task_options)
    failures = batch.run(pairs, work, args.jobs)
    return batch.report(failures, len(pairs), skipped)


def one_input(args: argparse.Namespace) -> Path:
    """The single input of a command that has no batch mode."""
    if len(args.input) != 1 or args.input[0].is_dir() or args.jobs != 1 or args.overwrite:
        raise InputError(f"{args.command} takes one input image (no --jobs / --overwrite); "
                         "only denoise and deblur restore several files at once")
    return args.input[0]
