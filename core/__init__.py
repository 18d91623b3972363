"""edgerestore: unsupervised image restoration from training to phones.

The root package is deliberately tiny and torch-free: it holds the version, the
error types every stage raises, and the command-line frame. The work lives in
``edgerestore.models`` (torch), ``edgerestore.export`` (conversion) and
``edgerestore.runtime`` (numpy + an inference backend, what goes on a device).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("edgerestore")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
