"""The ``edgerestore`` command line: one frame, commands contributed by small modules.

Each module in :mod:`edgerestore.commands` exposes ``register(subparsers)``; this
file only wires them together, sets up logging and turns
:class:`~edgerestore.errors.EdgeRestoreError` into a message and a non-zero exit
(tracebacks only with ``--debug``). Command modules import heavy dependencies
(torch, onnx) inside their handlers so that ``--help`` and the torch-free runtime
commands work on a device install.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from typing import NoReturn

from edgerestore import __version__
from edgerestore.commands import COMMAND_MODULES
from edgerestore.console import log, setup_logging
from edgerestore.errors import EdgeRestoreError, one_line

EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 1


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line, like every other error.

    argparse prints the whole usage block before the message; here the message comes
    alone, with the command and a pointer to ``--help``. Subcommand parsers inherit
    the class (argparse creates them with the parent's type).
    """

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every registered command."""
    parser = OneLineParser(
        prog="edgerestore",
        description="Unsupervised image restoration from training to phones.",
    )
    parser.add_argument("--version", action="version", version=f"edgerestore {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    parser.add_argument(
        "--debug", action="store_true", help="show full tracebacks on errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # The command line as given, so result files can record what produced them.
    args.command_line = "edgerestore " + shlex.join(sys.argv[1:] if argv is None else argv)
    setup_logging(args.verbose, args.quiet)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USER_ERROR
    try:
        result = args.func(args)
    except EdgeRestoreError as exc:
        if args.debug:
            raise
        log.error("error: %s", one_line(exc))
        return EXIT_USER_ERROR
    except OSError as exc:
        # The environment, not the program: unreadable input, full disk, read-only folder.
        if args.debug:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        log.error("error: %s%s", where, one_line(exc.strerror or exc))
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    except Exception as exc:
        if args.debug:
            raise
        log.error("internal error: %s: %s (rerun with --debug for the traceback)",
                  type(exc).__name__, exc)
        return EXIT_INTERNAL_ERROR
    return int(result or 0)
