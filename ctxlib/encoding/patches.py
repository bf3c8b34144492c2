"""Square patches centred on atomic columns, resampled onto a fixed grid.

Each patch covers a square of side ``sqrt(3) a`` (the centre column and its three
nearest neighbours; paper §8.3) centred *exactly* on the refined column position, and
is resampled by bilinear interpolation onto a fixed ``size x size`` grid. The fixed grid
makes the Zernike basis one cached matrix for every image and pixel size, and the
scale-aware side removes the need for scale augmentation. When the image is sampled
more finely than the patch grid it is first smoothed (Gaussian, sigma = 0.4 x the
down-sampling factor) so that resampling does not alias noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ctxlib.base.images import check_image
from ctxlib.encoding.zernike import disk_coordinates

#: Default patch grid, pixels per side.
PATCH_SIZE = 32
#: Smallest and largest patch grid a setting may choose, pixels per side.
PATCH_SIZE_BOUNDS = (8, 256)


@dataclass(frozen=True)
class PatchSet:
    """Patches of the columns that lie fully inside the image.

    Attributes
    ----------
    patches : numpy.ndarray, shape (M, size, size), float32
    index : numpy.ndarray of int, shape (M,)
        Which input column each patch belongs to.
    border : numpy.ndarray of int
        Input columns whose patch would reach outside the image (no patch made).
    """

    patches: np.ndarray
    index: np.ndarray
    border: np.ndarray


def patch_offsets(side_px: float, size: int = PATCH_SIZE) -> np.ndarray:
    """Offsets of the patch-grid pixel centres from the patch centre, pixels of the source image."""
    return (np.arange(size) - (size - 1) / 2) * (side_px / size)


#: What :func:`extract_patches` does with a patch that crosses the image edge.
EDGE_RULES = ("skip", "reflect")


def extract_patches(image: np.ndarray, positions: np.ndarray, side_px: float, size: int = PATCH_SIZE,
                    edge: str = "skip") -> PatchSet:
    """Cut a ``size x size`` patch of side ``side_px`` around each column.

    Parameters
    ----------
    image : numpy.ndarray, 2-D
    positions : numpy.ndarray, shape (N, 2)
        (row, column) column centres, pixels (sub-pixel allowed).
    side_px : float
        Patch side in image pixels, usually ``sqrt(3) a``.
    size : int
        Output grid, pixels per side.
    edge : {"skip", "reflect"}
        A patch that crosses the image edge is not made (``"skip"``: the column is listed in
        ``border``), or is completed by reflecting the image about its edge (``"reflect"``:
        every column inside the image gets a patch, and ``border`` lists those completed so).

    Returns
    -------
    PatchSet
    """
    if edge not in EDGE_RULES:
        raise ValueError(f"edge must be one of {EDGE_RULES}, got {edge!r}")
    image = check_image(image, min_size=2)
    positions = np.asarray(positions, dtype=np.float64).reshape(-1, 2)
    if not side_px > 1:
        raise ValueError(f"patch side must exceed 1 pixel, got {side_px}")
    step = side_px / size
    if step > 1:
        image = ndimage.gaussian_filter(image, 0.4 * step)
    offsets = patch_offsets(side_px, size)
    reach = np.abs(offsets).max()
    limits = np.array(image.shape) - 1
    inside = np.all((positions - reach >= 0) & (positions + reach <= limits), axis=1)
    within = np.all((positions >= -0.5) & (positions < limits + 0.5), axis=1)  # the centre lies on a pixel
    index = np.flatnonzero(inside if edge == "skip" else within)
    rows = positions[index, 0, None, None] + offsets[None, :, None]
    cols = positions[index, 1, None, None] + offsets[None, None, :]
    rows, cols = np.broadcast_arrays(rows, cols)
    values = ndimage.map_coordinates(image, [rows.ravel(), cols.ravel()], order=1, mode="mirror")
    patches = values.reshape(len(index), size, size).astype(np.float32)
    return PatchSet(patches=patches, index=index, border=np.flatnonzero(~inside))


def centre_intensity(patches: np.ndarray, radius: float = 0.2) -> np.ndarray:
    """Mean intensity of each patch within ``radius`` of its centre (in units of the inscribed disk).

    The default, 0.2 of the half-side, is about 0.3 of the column spacing: the centre
    column only. Averaging over this disc is insensitive to where the column fell
    between image pixels, unlike a single interpolated value at its peak.
    """
    patches = np.asarray(patches)
    inside = disk_coordinates(patches.shape[-1]) <= radius
    return patches[:, inside].mean(axis=1)
