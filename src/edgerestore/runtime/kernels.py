"""Blur kernels: loading, validation, a Gaussian, and a synthetic camera-shake generator.

Kernels are point-spread functions used by true convolution, centred at element
``(kh // 2, kw // 2)`` (see :mod:`edgerestore.runtime.blur`); every loader returns a
float64 2-D array normalised to sum 1, so a kernel saved as an 8-bit picture, with
any brightness, blurs without changing the image's overall brightness.

File specifications accepted by :func:`load_kernel`:

* ``K.png`` (or any greyscale image Pillow reads, 8 or 16 bit). An RGB picture whose
  three channels are identical counts as grey; real colour or alpha is refused.
* ``K.npy``: one 2-D array.
* ``FILE.npz:NAME``: the array ``NAME`` (``NAME`` may be left out when there is one).
* ``FILE.mat:INDEX``: entry ``INDEX`` of the cell array ``kernels`` (the layout of
  Levin et al. 2009 and of the DMSP / DPIR releases), counted from 1 like MATLAB;
  ``FILE.mat:NAME`` picks a plain variable instead. Only MATLAB v5/v7 files are read,
  through SciPy, which is imported on demand (an optional dependency of the runtime).
"""

from __future__ import annotations

import math
import os
import zipfile
from pathlib import Path

import numpy as np

from edgerestore.errors import InputError, require
from edgerestore.runtime.image_io import read_image

#: Negative entries down to this value (after normalising to sum 1) are rounding
#: noise from resampled or exported kernels; they are clipped instead of refused.
NEGATIVE_TOLERANCE = 1e-6

_CONTAINERS = (".npz", ".mat")
#: Most bytes one kernel may take to load (a 2048x2048 float64 kernel is 32 MiB).
MAX_KERNEL_BYTES = 64 << 20


def validate_kernel(
    kernel: np.ndarray, image_shape: tuple[int, ...] | None = None, *, name: str = "kernel"
) -> np.ndarray:
    """Check a blur kernel and return it as float64, non-negative, summing to 1.

    Even sizes are allowed; their centre is element ``(kh // 2, kw // 2)``. With
    ``image_shape`` the kernel must also fit inside the image (``kh <= H``, ``kw <= W``).
    """
    k = np.asarray(kernel)
    if k.ndim != 2:
        raise InputError(f"{name} must be a 2-D array, got shape {k.shape}")
    if k.size == 0:
        raise InputError(f"{name} is empty (shape {k.shape})")
    if not (np.issubdtype(k.dtype, np.integer) or np.issubdtype(k.dtype, np.floating)):
        raise InputError(f"{name} must hold real numbers, got dtype {k.dtype}")
    k = k.astype(np.float64)
    if not np.all(np.isfinite(k)):
        raise InputError(f"{name} contains NaN or infinite values")
    # Divide by the peak first: entries near the float64 limit (1e308) would make the
    # sum overflow to inf although the kernel's shape is perfectly usable.
    peak = float(np.abs(k).max())
    if peak > 0.0:
        k = k / peak
    total = float(k.sum())
    if total <= 0.0:
        raise InputError(
            f"{name} sums to {total:g}; a blur kernel needs a positive sum (is it all zero?)"
        )
    k = k / total
    if k.min() < -NEGATIVE_TOLERANCE:
        raise InputError(
            f"{name} has negative entries (minimum {k.min():.3g} after normalising to sum 1); "
            "a blur kernel is a non-negative point-spread function"
        )
    k = np.clip(k, 0.0, None)
    k /= k.sum()
    if image_shape is not None:
        h, w = image_shape[:2]
        if k.shape[0] > h or k.shape[1] > w:
            raise InputError(
                f"{name} is {k.shape[0]}x{k.shape[1]}, larger than the image {h}x{w}"
            )
    return k


def load_kernel(spec: str | os.PathLike[str]) -> np.ndarray:
    """Load a kernel from a file specification (see the module docstring)."""
    spec = str(spec)
    path_text, selector = _split_spec(spec)
    path = Path(path_text)
    if not path.is_file():
        raise InputError(f"{path}: kernel file not found")
    suffix = path.suffix.lower()
    if selector is not None and suffix not in _CONTAINERS:
        raise InputError(f"{spec}: only .npz and .mat kernel files take a ':NAME' selector")
    if suffix == ".npy":
        array = _load_npy(path)
    elif suffix == ".npz":
        array = _load_npz(path, selector)
    elif suffix == ".mat":
        array = _load_mat(path, selector)
    else:
        array = _load_picture(path)
    return validate_kernel(array, name=f"kernel {spec}")


def kernel_file(spec: str | os.PathLike[str]) -> Path:
    """The file a kernel specification reads (``'a.npz:k1'`` -> ``a.npz``)."""
    return Path(_split_spec(str(spec))[0])


def _split_spec(spec: str) -> tuple[str, str | None]:
    """``'a.npz:k1'`` -> ``('a.npz', 'k1')``; a Windows drive colon is left alone."""
    if ":" in spec and not Path(spec).is_file():
        head, tail = spec.rsplit(":", 1)
        if Path(head).suffix and tail and "/" not in tail and "\\" not in tail:
            return head, tail
    return spec, None


def _check_size(path: Path, size: int) -> None:
    """Refuse a kernel that would take more than :data:`MAX_KERNEL_BYTES` to load."""
    if size > MAX_KERNEL_BYTES:
        raise InputError(f"{path}: {size:,} bytes of kernel data; a blur kernel is far smaller "
                         f"(limit {MAX_KERNEL_BYTES:,} bytes)")


def _load_npy(path: Path) -> np.ndarray:
    try:
        # Memory-mapped first: the header's shape is checked against the file's size
        # and against the limit before anything is allocated.
        mapped = np.load(path, allow_pickle=False, mmap_mode="r")
        _check_size(path, mapped.nbytes)
        return np.array(mapped)
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(f"{path}: not a readable .npy array ({exc})") from exc


def _load_npz(path: Path, name: str | None) -> np.ndarray:
    try:
        with zipfile.ZipFile(path) as archive:
            sizes = {info.filename.removesuffix(".npy"): info.file_size
                     for info in archive.infolist()}
        with np.load(path, allow_pickle=False) as data:
            names = list(data.files)
            if name is None and len(names) == 1:
                name = names[0]
            if name not in names:
                hint = "name one with FILE.npz:NAME" if name is None else f"no array {name!r}"
                raise InputError(f"{path}: {hint}; it holds {', '.join(names) or 'nothing'}")
            _check_size(path, sizes.get(name, 0))
            return data[name]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: not a readable .npz archive ({exc})") from exc


def _load_mat(path: Path, selector: str | None) -> np.ndarray:
    sio = require("scipy.io", package="scipy", extra="eval", purpose=f"reading {path}")
    _check_size(path, path.stat().st_size)
    try:
        variables = {k: v for k, v in sio.loadmat(path).items() if not k.startswith("__")}
    except Exception as exc:  # SciPy's reader raises a dozen types for damaged files
        raise InputError(
            f"{path}: cannot read it as a MATLAB v5/v7 .mat file ({exc}); v7.3 files are "
            "HDF5: re-save with save(..., '-v7') or convert the kernel to .npy"
        ) from exc
    cell = variables.get("kernels")
    if selector is None:
        if len(variables) == 1:
            selector = next(iter(variables))
        elif cell is not None and cell.dtype == object and cell.size == 1:
            selector = "1"
        else:
            raise InputError(
                f"{path}: say which kernel with FILE.mat:INDEX (1-based, into the 'kernels' "
                f"cell array) or FILE.mat:NAME; variables: {', '.join(sorted(variables))}"
            )
    if selector.isdigit():
        if cell is None or cell.dtype != object:
            raise InputError(f"{path}: no 'kernels' cell array to index; use FILE.mat:NAME")
        entries = cell.ravel(order="F")  # MATLAB's linear (column-major) order
        index = int(selector)
        if not 1 <= index <= entries.size:
            raise InputError(
                f"{path}: kernel index {index} is out of range 1..{entries.size} "
                "(indices count from 1, as in MATLAB)"
            )
        return np.asarray(entries[index - 1])
    if selector not in variables:
        raise InputError(f"{path}: no variable {selector!r}; it holds {', '.join(variables)}")
    return np.asarray(variables[selector])


def _load_picture(path: Path) -> np.ndarray:
    pixels, info = read_image(path)
    if info.has_alpha:
        raise InputError(f"{path}: kernel image has an alpha channel; save it as plain greyscale")
    if pixels.shape[2] == 3 and not (
        np.array_equal(pixels[..., 0], pixels[..., 1])
        and np.array_equal(pixels[..., 0], pixels[..., 2])
    ):
        raise InputError(f"{path}: kernel image is in colour; a kernel must be greyscale")
    return pixels[..., 0]


def gaussian_kernel(std: float, size: int | None = None) -> np.ndarray:
    """Isotropic Gaussian kernel, ``size`` defaulting to ``2 * ceil(3 * std) + 1``."""
    if not std > 0:
        raise InputError(f"Gaussian kernel std must be positive, got {std}")
    size = size if size is not None else 2 * math.ceil(3 * std) + 1
    if size < 1:
        raise InputError(f"kernel size must be at least 1, got {size}")
    offsets = np.arange(size) - size // 2
    profile = np.exp(-0.5 * (offsets / std) ** 2)
    k = np.outer(profile, profile)
    return k / k.sum()


def motion_kernel(size: int = 17, seed: int = 0) -> np.ndarray:
    """A synthetic camera-shake kernel: a smooth random trajectory, rasterised.

    The camera's heading turns with an angular velocity that itself follows a
    damped random walk (momentum), and its speed drifts the same way; samples are
    taken at equal time steps, so slow parts of the path collect more exposure, as in
    real shake. The path is centred on its centroid (so the blur does not shift the
    picture), scaled to a random 50-100 % of the kernel, splatted bilinearly, softened
    with a 3x3 binomial filter and normalised. Same ``seed``, same kernel.
    """
    if size < 7:
        raise InputError(f"motion kernel size must be at least 7, got {size}")
    rng = np.random.default_rng(seed)
    steps = 4 * size
    heading = rng.uniform(0.0, 2.0 * np.pi)
    turn = log_speed = 0.0
    path = np.zeros((steps + 1, 2))
    for t in range(steps):
        turn = 0.9 * turn + rng.normal(0.0, 0.02)
        log_speed = 0.9 * log_speed + rng.normal(0.0, 0.2)
        heading += turn
        path[t + 1] = path[t] + np.exp(log_speed) * np.array([np.sin(heading), np.cos(heading)])
    path -= path.mean(axis=0)
    centre = size // 2
    # Bilinear splatting and the 3x3 softening each reach one pixel further.
    room = min(centre - 2, size - 3 - centre)
    path *= room * rng.uniform(0.5, 1.0) / max(float(np.abs(path).max()), 1e-12)
    path += centre

    k = np.zeros((size, size))
    base = np.floor(path).astype(int)
    frac = path - base
    for dy in (0, 1):
        for dx in (0, 1):
            weight = (frac[:, 0] if dy else 1 - frac[:, 0]) * (frac[:, 1] if dx else 1 - frac[:, 1])
            np.add.at(k, (base[:, 0] + dy, base[:, 1] + dx), weight)
    padded = np.pad(k, 1)
    k = 0.25 * padded[:-2, 1:-1] + 0.5 * padded[1:-1, 1:-1] + 0.25 * padded[2:, 1:-1]
    padded = np.pad(k, 1)
    k = 0.25 * padded[1:-1, :-2] + 0.5 * padded[1:-1, 1:-1] + 0.25 * padded[1:-1, 2:]
    return k / k.sum()
