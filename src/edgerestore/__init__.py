"""edgerestore: unsupervised image restoration from training to phones.

The root package is deliberately tiny and torch-free: it holds the version, the
error types every stage raises, and the command-line frame. The work lives in
``edgerestore.models`` (torch), ``edgerestore.export`` (conversion) and
``edgerestore.runtime`` (numpy + an inference backend, what goes on a device).

The one-call API (``edgerestore.denoise``, ``deblur``, ``inpaint``, ``upscale``,
``restore_file``, ``load_model``; see :mod:`edgerestore.api`) is imported on first use,
so ``import edgerestore`` costs no numpy or onnxruntime import.
"""

from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("edgerestore")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

API = ("Model", "deblur", "denoise", "inpaint", "load_model", "restore_file", "upscale")
__all__ = ["__version__", *API]


def __getattr__(name: str) -> Any:
    if name in API:
        from edgerestore import api

        return getattr(api, name)
    raise AttributeError(f"module 'edgerestore' has no attribute {name!r}")
