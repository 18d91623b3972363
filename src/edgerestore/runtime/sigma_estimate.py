"""Noise-level estimation without a model: the robust MAD estimator of Donoho & Johnstone.

The finest diagonal Haar wavelet band of a natural image is almost pure noise, so
``median(|HH|) / 0.6745`` estimates the Gaussian sigma. It is used when a model has
no noise estimator of its own and the user gives no sigma; it overestimates a little
on heavily textured images, which the tests document.

Camera noise is not white: demosaicing and JPEG spread each pixel's noise over its
neighbours (autocorrelation ~0.5 at lag 1, ~0.1 at lag 2, ~0.02 at lag 3 for the
simulated camera), and the HH band, a difference of adjacent pixels, cancels most of
it: the plain estimate reads about half the true std. With ``stride`` s the band is
taken on the s x s sub-images ``image[a::s, b::s]`` instead, whose adjacent pixels are
s apart and whose noise is nearly independent again; the HH coefficients of all s^2
sub-images are pooled, so even a 64x64 training patch gives ~900 per channel. The
price is more image detail in the band (the sub-image is coarser), a slight
overestimate on texture. :data:`CORRELATED_NOISE_STRIDE` is the stride the
camera-noise denoiser is trained and run with: on 192x192 crops of 4 CBSD68 images
through the simulated camera (ISO 800-3200, with and without JPEG 90), stride 2 read
the true std to within 8% (the remaining lag-2 correlation and the texture cancel
roughly), stride 3 read it 11-18% high (texture).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from edgerestore.errors import InputError

_MAD_TO_SIGMA = 0.6744897501960817  # Phi^-1(3/4)

#: Sub-image stride for spatially correlated (camera) noise; see the module docstring.
CORRELATED_NOISE_STRIDE = 2


def level_stride(sigma_mode: str | None) -> int:
    """The stride a blind-spot model's noise level is measured with: a ``measured``-level
    (camera-noise) model was trained with :data:`CORRELATED_NOISE_STRIDE`, every other
    model expects the plain estimate. One place, so training, export cards and the
    runtime cannot disagree."""
    return CORRELATED_NOISE_STRIDE if sigma_mode == "measured" else 1


def diagonal_bands(image: np.ndarray, stride: int) -> Iterator[np.ndarray]:
    """The finest diagonal Haar band (a difference of 2x2 neighbours, halved) of each of
    the ``stride`` x ``stride`` pixel-shuffle sub-images of an HxWxC image (odd edges
    dropped): white noise of sigma s reads sigma s there, image structure little."""
    for a in range(stride):
        for b in range(stride):
            x = image[a::stride, b::stride]
            x = x[:x.shape[0] - x.shape[0] % 2, :x.shape[1] - x.shape[1] % 2]
            yield (x[0::2, 0::2] - x[0::2, 1::2] - x[1::2, 0::2] + x[1::2, 1::2]) / 2.0


def estimate_sigma(image: np.ndarray, stride: int = 1) -> float:
    """Gaussian noise sigma of a float [0, 1] HxWxC image, in [0, 1] units (channel median).

    ``stride`` > 1 measures on the stride-s sub-images, for spatially correlated noise.
    """
    if not isinstance(stride, int | np.integer) or stride < 1:
        raise InputError(f"stride must be a positive integer, got {stride!r}")
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 2:
        image = image[:, :, None]
    h, w = image.shape[:2]
    if h < 4 * stride or w < 4 * stride:
        raise InputError(f"image too small to estimate noise ({h}x{w})")
    bands = [hh.reshape(-1, image.shape[2]) for hh in diagonal_bands(image, stride)]
    per_channel = np.median(np.abs(np.concatenate(bands)), axis=0) / _MAD_TO_SIGMA
    return float(np.median(per_channel))


#: The old whole-image rule's factor, kept for images without three colour channels:
#: noise is called spatially correlated when the stride-2 level exceeds the plain one by
#: this factor. On colour images it failed on low-level white noise over texture
#: (CBSD68 at sigma 5: 33/68 called "real"), hence the chroma rule below.
REAL_NOISE_RATIO = 1.3

#: Side of the square blocks the chroma rule measures in (pixels). 16 holds the
#: finest-band coefficients of strides 1, 2 and 4 whole (64 per channel each).
KIND_BLOCK = 16
#: Fraction of the usable blocks, those with the least stride-4 chroma energy (the
#: flattest colour), whose stride-2 / stride-1 energies are compared.
KIND_FLAT_FRACTION = 0.3
#: Blocks with more than this fraction of pixels at exactly 0 or 1 are skipped
#: (clipping flattens the noise there).
KIND_CLIPPED_FRACTION = 0.05
#: Stride-2 / stride-1 chroma energy ratio (a variance ratio) above which the noise is
#: spatially correlated. White noise reads 1 (measured at most 1.13 on CBSD68 and the
#: scikit-image samples, sigma 5-50, clipped or not); SIDD phone noise at least 1.7.
KIND_ENERGY_RATIO = 1.4
#: Chroma noise level (0-255 units) below which the image carries no measurable white
#: noise: clean 8-bit images read 0.2-0.7 (their rounding noise), PolyU DSLR JPEGs at
#: most 0.4, white noise of sigma 5 about 5, SIDD phone photos at least 2.
KIND_CHROMA_FLOOR = 1.0
#: Images above this many blocks (~2 megapixels) are measured on evenly spaced strips
#: of block rows, which keeps a 12-megapixel photo well under 0.5 s.
KIND_MAX_BLOCKS = 8192

# Orthonormal opponent-colour basis: luma, red-green, yellow-blue. An orthonormal map
# turns white i.i.d. RGB noise into white i.i.d. noise of the same sigma per channel.
_OPPONENT = np.array([[1, 1, 1], [1, -1, 0], [1, 1, -2]], dtype=np.float32)
_OPPONENT /= np.linalg.norm(_OPPONENT, axis=1, keepdims=True)


def _block_energy(x: np.ndarray, stride: int, block: int) -> np.ndarray:
    """Mean square of the finest diagonal Haar band of the stride-s sub-images, per
    ``block`` x ``block`` block and channel (the band of each block lies inside it)."""
    h, w, c = x.shape
    n = block // (2 * stride)
    total = np.zeros((h // block, w // block, c))
    for hh in diagonal_bands(x, stride):  # H and W are multiples of block: nothing dropped
        hh = hh.reshape(h // block, n, w // block, n, c)
        total += np.einsum("injmc,injmc->ijc", hh, hh, dtype=np.float64)
    return total / (stride * stride * n * n)


def chroma_noise(image: np.ndarray) -> tuple[float, float] | None:
    """``(ratio, level)`` of the chroma finest band in the flattest blocks of an RGB
    image: ``ratio`` the stride-2 / stride-1 energy ratio (1 for white noise),
    ``level`` the stride-1 noise sigma (0-255 units). ``None`` when the image is not
    RGB (or grey stored as RGB) or smaller than one block. See :func:`noise_kind`."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        return None
    bs = KIND_BLOCK
    by, bx = image.shape[0] // bs, image.shape[1] // bs
    if by == 0 or bx == 0:
        return None
    rows = np.arange(by)
    if by * bx > KIND_MAX_BLOCKS:  # evenly spaced strips of block rows
        rows = rows[:: -(-by * bx // KIND_MAX_BLOCKS)]
    x = image[: by * bs, : bx * bs].reshape(by, bs, bx * bs, 3)[rows]
    x = x.reshape(len(rows) * bs, bx * bs, 3).astype(np.float32)
    clipped = ((x <= 0) | (x >= 1)).reshape(len(rows), bs, bx, bs, 3).mean(axis=(1, 3, 4))
    chroma = x @ _OPPONENT[1:].T
    if float(np.abs(chroma).max()) < 0.5 / 255:  # a grey image stored as RGB
        return None
    e1, e2, e4 = (_block_energy(chroma, s, bs).sum(axis=2) for s in (1, 2, 4))
    usable = clipped.ravel() <= KIND_CLIPPED_FRACTION
    if usable.sum() < 8:
        usable[:] = True
    e1, e2, e4 = e1.ravel()[usable], e2.ravel()[usable], e4.ravel()[usable]
    flat = np.argsort(e4)[: max(8, int(KIND_FLAT_FRACTION * e1.size))]
    energy1 = float(e1[flat].sum())
    level = float(np.sqrt(energy1 / (2 * flat.size))) * 255.0
    return (float(e2[flat].sum()) / energy1 if energy1 > 0 else float("inf")), level


def noise_kind(image: np.ndarray) -> str:
    """``"real"`` (spatially correlated camera noise) or ``"gaussian"`` (white noise).

    Why this works: demosaicing, denoising and sharpening in a camera spread each
    pixel's noise over its neighbours, and the finest diagonal wavelet band (a
    difference of adjacent pixels) cancels most of it, so the stride-1 band reads far
    less noise than the stride-2 sub-images do; for white noise both read the same.
    Image texture also fills the stride-2 band more than the stride-1 band, so on a
    textured image with little noise a luminance comparison mistakes texture for
    correlation. The rule therefore compares the two strides on the chroma channels of
    an orthonormal opponent-colour transform (red-green, yellow-blue), where natural
    images carry little texture but white RGB noise keeps its full sigma, and only in
    the 30% of 16x16 blocks with the least stride-4 chroma energy (the flattest colour)
    and few clipped pixels:

    - chroma noise level below :data:`KIND_CHROMA_FLOOR` (1/255): no measurable white
      noise (a camera's noise reduction or JPEG emptied the chroma band, or the image
      is clean), so ``"real"``, the camera-photo model;
    - else ``"real"`` when the stride-2 / stride-1 chroma energy ratio exceeds
      :data:`KIND_ENERGY_RATIO` (1.4), otherwise ``"gaussian"``.

    Measured (``python benchmarks/noise_kind_rule.py``, result file
    ``benchmarks/results/noise_kind_rule.json``): white noise on CBSD68 and the
    scikit-image samples at sigma 5-50, clipped to 8 bits or not, reads a ratio of at
    most 1.13 and is always ``"gaussian"``; SIDD phone blocks read at least 1.7 and
    PolyU DSLR JPEGs have chroma noise under 0.4/255, so all of them are ``"real"``.
    Images without three channels, grey images stored as RGB and images under 16x16
    keep the older whole-image rule (:data:`REAL_NOISE_RATIO` on the plain and stride-2
    levels), which misreads low-level white noise on texture as camera noise.
    """
    measured = chroma_noise(image)
    if measured is None:
        plain = estimate_sigma(image, 1)
        if plain <= 0.0:
            return "real"
        return "real" if estimate_sigma(image, CORRELATED_NOISE_STRIDE) \
            > REAL_NOISE_RATIO * plain else "gaussian"
    ratio, level = measured
    if level < KIND_CHROMA_FLOOR:
        return "real"
    return "real" if ratio > KIND_ENERGY_RATIO else "gaussian"
