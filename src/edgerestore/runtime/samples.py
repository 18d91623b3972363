"""Public-domain sample images that ship inside scikit-image (no network needed).

The demo and the tests use these instead of the research datasets in
``../shared/data``, which must never be bundled. Only images whose files are part
of the scikit-image wheel are listed; the ones it would download are excluded.
"""

from __future__ import annotations

import numpy as np

from edgerestore.errors import InputError, require

COLOR_SAMPLES = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry")
GRAY_SAMPLES = ("camera", "coins", "moon", "grass", "gravel", "brick")


def sample_names() -> tuple[str, ...]:
    """All available sample names, colour first."""
    return COLOR_SAMPLES + GRAY_SAMPLES


def load_sample(name: str) -> np.ndarray:
    """A sample image as float32 HxWxC in [0, 1] (C = 3 colour, 1 grey)."""
    if name not in sample_names():
        raise InputError(f"unknown sample {name!r}; choose from {', '.join(sample_names())}")
    data = require("skimage.data", package="scikit-image", extra="eval",
                   purpose="the bundled sample images")
    pixels = np.asarray(getattr(data, name)())
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return (pixels.astype(np.float32) / 255.0).astype(np.float32)
