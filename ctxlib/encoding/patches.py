"""Square patches centred on atomic columns, resampled onto a fixed grid.

Each patch covers a square of side ``sqrt(3) a`` (the centre column and its three
nearest neighbours; paper §8.3) centred *exactly* on the refined column position, and
is resampled by bilinear interpolation onto a fixed ``size x size`` grid. The fixed grid
makes the Zernike basis one cached matrix for every image and pixel size, and the
scale-aware side removes the need for scale augmentation. When the image is sampled
more finely than the patch grid it is first smoothed (Gaussian, sigma = 0.4 x the
down-sampling factor) so that resampling does not alias noise.

Windows that share one grid and one centre (the 34 motif windows of the simulated
library) are resampled all at once: the smoothing and the bilinear interpolation along
each axis are one matrix (:func:`axis_resampling`), so a stack of windows becomes its
patches by one matrix product per axis (:func:`window_patches`), with the pixel size of
each axis on its own.
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
EDGE_RULES = ("skip", "reflect", "rotate")


def extract_patches(image: np.ndarray, positions: np.ndarray, side_px: float, *, size: int = PATCH_SIZE,
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
    edge : {"skip", "reflect", "rotate"}
        A patch that crosses the image edge is not made (``"skip"``: the column is listed in
        ``border``), or is completed, and every column inside the image gets a patch (``border``
        lists those completed): by reflecting the image about its edge (``"reflect"``), or
        (``"rotate"``) by reading each point outside the image a third of a turn about the column
        (:func:`rotate_into_image`), so that the missing part is the column's own neighbourhood
        rather than its mirror image (a mirror line across a honeycomb puts columns where none can be).

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
    if edge == "rotate":  # only the patches that cross the edge: a few per cent of a large image's
        rows, cols, cut = rows.copy(), cols.copy(), ~inside[index]
        rows[cut], cols[cut] = rotate_into_image(rows[cut], cols[cut], positions[index[cut]], image.shape)
    values = ndimage.map_coordinates(image, [rows.ravel(), cols.ravel()], order=1, mode="mirror")
    patches = values.reshape(len(index), size, size).astype(np.float32)
    return PatchSet(patches=patches, index=index, border=np.flatnonzero(~inside))


def rotate_into_image(rows: np.ndarray, cols: np.ndarray, centres: np.ndarray,
                      shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Move every sample point outside an image by a third of a turn about its patch's centre, into the image.

    Every column of a 1H MX2 lattice, seen along the beam, sits on a three-fold rotation axis: its
    neighbourhood turned by 120 degrees about it is the same. A point of a patch that falls outside
    the image is therefore read where the turn by +120 degrees (else -120) brings it inside: the
    column's own neighbourhood on the side the image holds.

    Parameters
    ----------
    rows, cols : numpy.ndarray, shape (M, ...)
        Sample positions, pixels (square pixels); the leading axis is the patch.
    centres : numpy.ndarray, shape (M, 2)
        Each patch's centre (row, col), pixels.
    shape : (int, int)
        The image's rows and columns.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The positions, those inside ``[0, n - 1]`` unchanged; a point neither turn brings inside (a
        patch at a corner) is left where it is (then read by reflection).

    Examples
    --------
    >>> r, c = rotate_into_image(np.array([[-2.0, 5.0]]), np.array([[10.0, 4.0]]), np.array([[2.0, 10.0]]), (40, 40))
    >>> np.round(r, 2).tolist(), np.round(c, 2).tolist()
    ([[4.0, 5.0]], [[6.54, 4.0]])
    """
    rows, cols = np.array(rows, dtype=np.float64), np.array(cols, dtype=np.float64)
    limits = np.array(shape, dtype=np.float64) - 1
    centres = np.asarray(centres, dtype=np.float64).reshape((-1, 2) + (1,) * (rows.ndim - 1))
    for angle in (2 * np.pi / 3, -2 * np.pi / 3):
        outside = (rows < 0) | (rows > limits[0]) | (cols < 0) | (cols > limits[1])
        if not outside.any():
            break
        dr, dc = rows - centres[:, 0], cols - centres[:, 1]
        turned_r = centres[:, 0] + np.cos(angle) * dr - np.sin(angle) * dc
        turned_c = centres[:, 1] + np.sin(angle) * dr + np.cos(angle) * dc
        fits = outside & (turned_r >= 0) & (turned_r <= limits[0]) & (turned_c >= 0) & (turned_c <= limits[1])
        rows, cols = np.where(fits, turned_r, rows), np.where(fits, turned_c, cols)
    return rows, cols


def axis_resampling(n: int, centre: float, side_px: float, *, size: int = PATCH_SIZE) -> np.ndarray:
    """The linear map from ``n`` samples along one axis to the ``size`` samples of a patch of side ``side_px``.

    The same operation as :func:`extract_patches` along one axis: a Gaussian smoothing of
    sigma ``0.4 x side_px / size`` pixels where the patch grid is coarser than the image
    (``ndimage.gaussian_filter``'s "reflect" edge), then linear interpolation at the patch
    grid's centres (``ndimage.map_coordinates``, order 1, "mirror" edge).

    Parameters
    ----------
    n : int
        Samples along the axis (pixels).
    centre : float
        Patch centre, pixels (0 is the first pixel's centre).
    side_px : float
        Patch side along this axis, pixels.
    size : int
        Patch grid, pixels per side.

    Returns
    -------
    numpy.ndarray, float64, (size, n)
        ``W`` with ``patch_axis = W @ samples``.
    """
    if not side_px > 1:
        raise ValueError(f"patch side must exceed 1 pixel, got {side_px}")
    coordinates = centre + patch_offsets(side_px, size)
    left = np.floor(coordinates).astype(int)
    weight = coordinates - left
    period = 2 * (n - 1) if n > 1 else 1
    matrix = np.zeros((size, n))
    for index, share in ((left, 1 - weight), (left + 1, weight)):
        folded = np.mod(index, period)
        folded = np.where(folded > n - 1, period - folded, folded)  # "mirror": d c b | a b c d | c b a
        np.add.at(matrix, (np.arange(size), folded), share)
    step = side_px / size
    if step > 1:
        smoothing = ndimage.gaussian_filter1d(np.eye(n), 0.4 * step, axis=0, mode="reflect")  # column j: e_j smoothed
        matrix = matrix @ smoothing
    return matrix


def window_resampling(shape: tuple[int, int], side_px: tuple[float, float],
                      *, size: int = PATCH_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """The :func:`axis_resampling` matrices, float32, of a patch centred on a window of ``shape`` (ny, nx).

    ``side_px`` is the patch side along y and along x, pixels (``sqrt(3) a`` over each
    axis's pixel size); the centre is ``((ny - 1) / 2, (nx - 1) / 2)``. A window stack
    becomes its patches as ``rows @ windows @ cols.T``.
    """
    ny, nx = shape
    rows = axis_resampling(ny, (ny - 1) / 2, side_px[0], size=size)
    cols = axis_resampling(nx, (nx - 1) / 2, side_px[1], size=size)
    return rows.astype(np.float32), cols.astype(np.float32)


def window_patches(windows: np.ndarray, side_px: tuple[float, float], *, size: int = PATCH_SIZE) -> np.ndarray:
    """Patches centred on the centre of every window of a stack (..., ny, nx), float32 (..., size, size).

    One matrix product per axis (:func:`window_resampling`); equal to :func:`extract_patches`
    at the window centre where the two sides are equal.
    """
    windows = np.asarray(windows, dtype=np.float32)
    rows, cols = window_resampling(windows.shape[-2:], side_px, size=size)
    return rows @ windows @ cols.T


def footprint(matrix: np.ndarray) -> slice:
    """The samples an :func:`axis_resampling` matrix reads (its non-zero columns), as a slice."""
    used = np.flatnonzero(np.abs(matrix).max(axis=0) > 0)
    return slice(int(used[0]), int(used[-1]) + 1)


def centre_intensity(patches: np.ndarray, radius: float = 0.2) -> np.ndarray:
    """Mean intensity of each patch within ``radius`` of its centre (in units of the inscribed disk).

    The default, 0.2 of the half-side, is about 0.3 of the column spacing: the centre
    column only. Averaging over this disc is insensitive to where the column fell
    between image pixels, unlike a single interpolated value at its peak.
    """
    patches = np.asarray(patches)
    inside = disk_coordinates(patches.shape[-1]) <= radius
    return patches[:, inside].mean(axis=1)
