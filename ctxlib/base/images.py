"""The one check every image passes before any stage reads it.

In: anything array-like. Out: a finite float64 2-D array, or a ValueError that says what
is wrong (shape, size, NaN or infinite pixels).
"""

from __future__ import annotations

import numpy as np


def check_image(image: np.ndarray, min_size: int = 16) -> np.ndarray:
    """Return ``image`` as a float64 2-D array, or raise a ValueError saying what is wrong."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"expected a 2-D image, got an array of shape {image.shape}")
    if min(image.shape) < min_size:
        raise ValueError(f"image of shape {image.shape} is too small; need at least {min_size} x {min_size} pixels")
    if not np.isfinite(image).all():
        raise ValueError(f"image contains {np.count_nonzero(~np.isfinite(image))} NaN or infinite pixels")
    return image
