"""Error types that reach the user as a one-line message instead of a traceback.

Every stage raises a subclass of :class:`EdgeRestoreError` for problems caused by
its input (a corrupt image, a wrong kernel, a missing optional dependency). The CLI
prints the message and exits non-zero; anything else is a bug and keeps its
traceback under ``--debug``.
"""


class EdgeRestoreError(Exception):
    """A problem the user can fix; the message says what and how."""


class ImageError(EdgeRestoreError):
    """An image file that is missing, unreadable, corrupt or unsupported."""


class InputError(EdgeRestoreError):
    """An argument or array that is out of range, malformed or inconsistent."""


class OutputError(InputError):
    """An output that cannot be written: a missing or read-only folder, a full disk, a
    name that is too long, or a file the same command reads (never overwritten)."""


class ModelFileError(EdgeRestoreError):
    """A model or weights file that is missing, corrupt or does not match its use."""


class MissingDependencyError(EdgeRestoreError):
    """An optional dependency of one stage is not installed (``extra=""``: a base one)."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        self.package = package
        self.extra = extra
        install = f"pip install 'edgerestore[{extra}]'" if extra else (
            "pip install edgerestore (the base install includes it)")
        super().__init__(f"{purpose} needs the '{package}' package: {install}")


def one_line(exc: BaseException | str) -> str:
    """A message on one line: native libraries (onnxruntime, libpng) embed line breaks."""
    return " ".join(str(exc).split())


def require(module: str, *, package: str, extra: str, purpose: str):
    """Import an optional module, or raise :class:`MissingDependencyError` naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(package, extra, purpose) from exc
