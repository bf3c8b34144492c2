"""Atomic columns: finding them, sub-pixel refinement, sublattices and the site-symmetry flag.

In a projected 1H MX2 monolayer the columns form a honeycomb of two sublattices, metal
sites (D3h) and X2 sites (C3v), at nearest-neighbour distance ``d = a / sqrt(3)``. Peak
picking here finds the columns that make an intensity maximum; which sublattice each
belongs to, and the sites that make none, come from the lattice model of
:mod:`ctxlib.encoding.sites`.

Which sublattice is brighter depends on material, detector and energy (Fig. S2), so
the site flag is assigned afterwards from intensities: ``[1, 0]`` for the group with
the brighter mean centre intensity, ``[0, 1]`` for the other (paper §3, Fig. 3c).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from ctxlib.base.images import check_image

#: Site flag of the brighter sublattice, the dimmer one, and of a column with no neighbours.
BRIGHT, DIM, UNASSIGNED = (1.0, 0.0), (0.0, 1.0), (0.0, 0.0)


def nearest_neighbour_distance(lattice_constant: float) -> float:
    """Column-to-column distance ``a / sqrt(3)`` of the projected honeycomb (same unit as ``a``)."""
    return float(lattice_constant / np.sqrt(3.0))


def find_columns(image: np.ndarray, lattice_constant_px: float, *, threshold: float = 0.15) -> np.ndarray:
    """Positions of atomic columns, refined to sub-pixel precision.

    The image is smoothed with a Gaussian of ``d / 6`` (``d`` the column spacing), maxima
    of the square inscribed in a circle of radius ``0.6 d`` (separable, so fast; a wider
    window would reach the shoulders of a bright neighbour and hide a dim column) are kept when they rise above
    ``p5 + threshold * (p99.5 - p5)`` of the smoothed image, and each is refined by a
    separable parabola through the logarithm of its 3 x 3 neighbourhood (exact for a
    Gaussian column profile).

    Parameters
    ----------
    image : numpy.ndarray, 2-D
    lattice_constant_px : float
        Lattice constant ``a`` in pixels (see :func:`ctxlib.encoding.lattice.estimate_lattice_constant`).
    threshold : float
        Minimum peak height as a fraction of the smoothed image's 5-99.5 percentile range.

    Returns
    -------
    numpy.ndarray, shape (N, 2)
        (row, column) positions, pixels.
    """
    image = check_image(image)
    if not lattice_constant_px > 2:
        raise ValueError(f"lattice constant of {lattice_constant_px} pixels is too small to resolve columns (need > 2)")
    spacing = nearest_neighbour_distance(lattice_constant_px)
    smooth = ndimage.gaussian_filter(image, spacing / 6)
    half = max(1, int(0.6 * spacing / np.sqrt(2)))  # the square inside the circle of radius 0.6 d: corners at 0.6 d
    low, high = np.percentile(smooth, [5, 99.5])
    peaks = (smooth == ndimage.maximum_filter(smooth, size=2 * half + 1)) & (smooth > low + threshold * (high - low))
    peaks[[0, -1], :] = peaks[:, [0, -1]] = False
    rows, cols = np.nonzero(peaks)
    logs = np.log(smooth - smooth.min() + 1e-6 * (high - low) + np.finfo(float).tiny)

    def offset(minus: np.ndarray, centre: np.ndarray, plus: np.ndarray) -> np.ndarray:
        curvature = minus - 2 * centre + plus
        with np.errstate(divide="ignore", invalid="ignore"):
            shift = np.where(curvature < 0, 0.5 * (minus - plus) / curvature, 0.0)
        return np.clip(shift, -0.5, 0.5)

    dy = offset(logs[rows - 1, cols], logs[rows, cols], logs[rows + 1, cols])
    dx = offset(logs[rows, cols - 1], logs[rows, cols], logs[rows, cols + 1])
    return np.column_stack([rows + dy, cols + dx])


def translation_pairs(peaks: np.ndarray, lattice_constant_px: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of columns one lattice translation apart (0.85-1.08 ``a``), and their vectors.

    The window excludes the bond ``a / sqrt(3)`` and the second-neighbour distance
    ``2 a / sqrt(3)`` of the honeycomb, so the pairs join columns of the same sublattice.

    Returns
    -------
    pairs : numpy.ndarray of int, shape (K, 2)
    vectors : numpy.ndarray, shape (K, 2)
        ``peaks[j] - peaks[i]`` (row, col), pixels.
    """
    peaks = np.asarray(peaks, dtype=np.float64).reshape(-1, 2)
    pairs = cKDTree(peaks).query_pairs(1.08 * lattice_constant_px, output_type="ndarray")
    if len(pairs) == 0:
        return pairs.reshape(0, 2).astype(int), np.zeros((0, 2))
    delta = peaks[pairs[:, 1]] - peaks[pairs[:, 0]]
    keep = np.hypot(*delta.T) >= 0.85 * lattice_constant_px
    return pairs[keep], delta[keep]


def site_flags(sublattice: np.ndarray, centre_intensity: np.ndarray, *, reverse: bool = False) -> np.ndarray:
    """Two-number site-symmetry flag: ``[1, 0]`` for the brighter sublattice, ``[0, 1]`` for the dimmer.

    Parameters
    ----------
    sublattice : numpy.ndarray of int, shape (N,)
        Sublattice labels, 0 or 1 (-1 gets ``[0, 0]``).
    centre_intensity : numpy.ndarray, shape (N,)
        Intensity at each column centre.
    reverse : bool
        Give the brighter sublattice the dimmer one's flag and vice versa: for an image taken
        where the brightness order of the sublattices is the reverse of the context the flags
        are read in (:class:`ctxlib.micrographs.microscope.MicroscopeMapping`).

    Returns
    -------
    numpy.ndarray, shape (N, 2), float64

    Examples
    --------
    >>> site_flags(np.array([0, 1, -1]), np.array([0.9, 0.4, 0.7])).tolist()
    [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]
    >>> site_flags(np.array([0, 1]), np.array([0.9, 0.4]), reverse=True).tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    """
    sublattice = np.asarray(sublattice)
    centre_intensity = np.asarray(centre_intensity, dtype=np.float64)
    means = [centre_intensity[sublattice == k].mean() if np.any(sublattice == k) else -np.inf for k in (0, 1)]
    bright = int(np.argmax(means)) ^ int(reverse)
    flags = np.zeros((len(sublattice), 2))
    flags[sublattice == bright] = BRIGHT
    flags[sublattice == 1 - bright] = DIM
    return flags
