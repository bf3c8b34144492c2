"""Where the crystal is: vacuum, holes and amorphous contamination get no sites.

In: the visible intensity peaks of a micrograph and its lattice constant ``a`` (pixels).
Out: a boolean mask of the image, True on the crystal.

The rule: a peak is *crystalline* when at least ``min_neighbours`` other peaks lie one
lattice translation from it (0.85-1.08 ``a``, :func:`ctxlib.encoding.columns.translation_pairs`).
Noise maxima in vacuum and the random maxima of amorphous carbon rarely have three such
neighbours; a crystal column has six (three where the dim sublattice makes no peak: its
bright neighbours still do). The crystal is every pixel within ``reach`` lattice constants
of a crystalline peak, closed over gaps of up to one lattice constant. A double vacancy,
a dim column or a missing bright column lies within that reach of its neighbours, so it
stays inside; a hole wider than about two lattice constants does not.
Columns at the image edge make no full peak, so the mask 1.5 lattice constants inside the
edge is carried out to the edge.
The mask is drawn on a grid about six pixels per lattice constant and enlarged to the
image, which keeps it cheap on large images.

Periodicity alone is not enough at low dose: the maxima of shot noise in vacuum, a few
counts a pixel, are as dense as columns and some fall one lattice translation apart. So
the crystal must also show *lattice contrast* (:func:`lattice_contrast`): the local
amplitude of the image's spatial frequencies between the lattice's first and second
orders (|g| = 2 / (sqrt(3) a) to 2 / a, every direction, so every grain counts), smoothed
over about a lattice constant. A pixel is crystal only where that amplitude reaches
``min_contrast`` of the image's 95th percentile and ``noise_factor`` times the amplitude
white noise of the image's own level would give there (estimated from frequencies beyond
the lattice's, where a column image has almost no power). Vacuum, a hole or a strip of
noise fails it; a weak grain or a dim sulfide sublattice does not, since the other
sublattice's columns still carry the lattice frequencies. Pieces of crystal smaller than
``min_island`` are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ctxlib.base.settings import check_number
from ctxlib.encoding.columns import translation_pairs


@dataclass(frozen=True)
class MaskSettings:
    """How the crystal mask is drawn.

    Attributes
    ----------
    min_neighbours : int
        Translation neighbours that make a peak crystalline.
    reach : float
        Distance from a crystalline peak still counted as crystal, lattice constants.
    min_fraction : float
        Smallest share of the image that must be crystal for the image to be encoded.
    min_contrast : float
        Smallest lattice contrast of crystal, as a share of the image's 95th percentile.
    noise_factor : float
        Smallest lattice contrast of crystal, in multiples of the contrast of the image's noise.
    min_island : float
        Smallest connected piece of crystal kept, in square lattice constants (3 a^2 holds
        about ten columns; smaller pieces are noise that passed both tests by chance).
    """

    min_neighbours: int = 3
    reach: float = 0.65
    min_fraction: float = 0.1
    min_contrast: float = 0.3
    noise_factor: float = 1.6
    min_island: float = 3.0

    def __post_init__(self) -> None:
        check_number("min_neighbours", self.min_neighbours, 1, 6, integer=True)
        check_number("reach", self.reach, 0.3, 3.0)
        check_number("min_fraction", self.min_fraction, 0.0, 1.0)
        check_number("min_contrast", self.min_contrast, 0.0, 1.0)
        check_number("noise_factor", self.noise_factor, 0.0, 100.0)
        check_number("min_island", self.min_island, 0.0, 1000.0)


def coarse_cells(points: np.ndarray, shape: tuple[int, int], lattice_constant_px: float):
    """The coarse grid (about six cells per lattice constant) that masks and neighbourhood sums are drawn on.

    Returns
    -------
    factor : int
        Image pixels per coarse cell along each axis.
    grid_shape : (int, int)
    cells : numpy.ndarray of int, shape (P, 2)
        The coarse cell of each (row, col) point, clipped to the grid.
    """
    factor = max(1, int(lattice_constant_px / 6))
    grid_shape = tuple(-(-int(n) // factor) for n in shape)
    cells = np.clip((np.asarray(points, dtype=np.float64).reshape(-1, 2) // factor).astype(int), 0,
                    np.array(grid_shape) - 1)
    return factor, grid_shape, cells


def mask_at(mask: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The mask's value at each (row, col) point (nearest pixel, clipped to the image)."""
    pixels = np.rint(np.clip(np.asarray(points, dtype=np.float64).reshape(-1, 2), 0, np.array(mask.shape) - 1))
    return mask[tuple(pixels.astype(int).T)]


def lattice_contrast(image: np.ndarray, lattice_constant_px: float) -> tuple[np.ndarray, float, int]:
    """The local amplitude of the lattice's spatial frequencies, on the coarse grid of :func:`coarse_cells`.

    Parameters
    ----------
    image : numpy.ndarray, 2-D
    lattice_constant_px : float
        Lattice constant ``a``, pixels.

    Returns
    -------
    contrast : numpy.ndarray, the coarse grid's shape
        Root of the local power (Gaussian window, sigma one lattice constant) of the image
        band-passed to ``|g|`` in [0.85 x 2 / (sqrt(3) a), 1.15 x 2 / a], image units.
    noise : float
        The same amplitude for white noise of the power the image has beyond 1.4 x 2 / a.
    factor : int
        Image pixels per coarse cell.
    """
    factor, grid, _ = coarse_cells(np.zeros((0, 2)), image.shape, lattice_constant_px)
    binned = np.asarray(image, dtype=np.float64)[: grid[0] * factor, : grid[1] * factor]
    if binned.shape != (grid[0] * factor, grid[1] * factor):  # a ragged edge: pad by reflection to whole cells
        binned = np.pad(binned, [(0, grid[0] * factor - binned.shape[0]), (0, grid[1] * factor - binned.shape[1])],
                        mode="reflect")
    binned = binned.reshape(grid[0], factor, grid[1], factor).mean(axis=(1, 3))
    spectrum = np.fft.rfft2(binned - binned.mean())
    a = lattice_constant_px / factor  # cells
    k = np.hypot(*np.meshgrid(np.fft.fftfreq(grid[0]), np.fft.rfftfreq(grid[1]), indexing="ij"))
    band = (k >= 0.85 * 2 / (np.sqrt(3) * a)) & (k <= 1.15 * 2 / a)
    beyond = (k >= 1.4 * 2 / a) & (k <= 0.5)
    filtered = np.fft.irfft2(np.where(band, spectrum, 0), s=binned.shape)
    contrast = np.sqrt(ndimage.gaussian_filter(filtered**2, 0.5 * a, mode="reflect"))
    weight = np.where(np.arange(k.shape[1]) == 0, 1.0, 2.0)[None, :]  # the rfft's half plane counts twice
    noise_power = (np.abs(spectrum) ** 2 * weight)[beyond].sum() / max(1.0, (weight * beyond).sum()) / binned.size
    noise = float(np.sqrt(noise_power * (weight * band).sum() / binned.size))
    return contrast, noise, factor


def crystalline_peaks(peaks: np.ndarray, lattice_constant_px: float, *, min_neighbours: int = 3) -> np.ndarray:
    """Boolean mask of the peaks with at least ``min_neighbours`` translation neighbours."""
    peaks = np.asarray(peaks, dtype=np.float64).reshape(-1, 2)
    pairs, _ = translation_pairs(peaks, lattice_constant_px)
    return np.bincount(pairs.ravel(), minlength=len(peaks)) >= min_neighbours


def crystal_mask(shape: tuple[int, int], peaks: np.ndarray, lattice_constant_px: float,
                 *, settings: MaskSettings = MaskSettings(), image: np.ndarray | None = None) -> np.ndarray:
    """True on the crystal: within ``settings.reach`` lattice constants of a crystalline peak, and, where the image
    is given, showing lattice contrast (:func:`lattice_contrast`).

    Parameters
    ----------
    shape : (int, int)
        Image shape, pixels.
    peaks : numpy.ndarray, shape (P, 2)
        Visible peaks, (row, col) pixels.
    lattice_constant_px : float
        Lattice constant ``a``, pixels.
    settings : MaskSettings
    image : numpy.ndarray, optional
        The image itself (``shape``), for the lattice-contrast test.

    Raises
    ------
    ValueError
        When less than ``settings.min_fraction`` of the image is crystal (an image of vacuum,
        or of something that is not a lattice of spacing ``a``).
    """
    shape = tuple(int(n) for n in shape)
    good = np.asarray(peaks, dtype=np.float64).reshape(-1, 2)[
        crystalline_peaks(peaks, lattice_constant_px, min_neighbours=settings.min_neighbours)]
    factor, coarse_shape, cells = coarse_cells(good, shape, lattice_constant_px)
    coarse = np.zeros(coarse_shape, dtype=bool)
    coarse[cells[:, 0], cells[:, 1]] = True
    radius = settings.reach * lattice_constant_px / factor
    r = int(np.ceil(radius))
    disc = np.hypot(*np.mgrid[-r:r + 1, -r:r + 1]) <= radius
    coarse = ndimage.binary_dilation(coarse, structure=disc)
    gap = 0.5 * lattice_constant_px / factor  # close gaps left by a missing column (a from its neighbours)
    g = int(np.ceil(gap))
    closing = np.hypot(*np.mgrid[-g:g + 1, -g:g + 1]) <= gap
    coarse = ndimage.binary_erosion(ndimage.binary_dilation(coarse, structure=closing), structure=closing,
                                    border_value=1)
    band = int(np.ceil(1.5 * lattice_constant_px / factor))  # edge columns make no full peak: carry the mask out
    if min(coarse.shape) > 2 * band + 1:
        coarse |= np.pad(coarse[band:-band, band:-band], band, mode="edge")
    if image is not None:
        contrast, noise, _ = lattice_contrast(image, lattice_constant_px)
        coarse &= contrast >= max(settings.min_contrast * np.percentile(contrast, 95), settings.noise_factor * noise)
    labels, count = ndimage.label(coarse)
    if count > 1:
        areas = ndimage.sum(coarse, labels, np.arange(1, count + 1)) * factor**2 / lattice_constant_px**2
        coarse &= np.r_[False, areas >= settings.min_island][labels]
    mask = np.repeat(np.repeat(coarse, factor, axis=0), factor, axis=1)[: shape[0], : shape[1]]
    fraction = float(mask.mean())
    if fraction < settings.min_fraction:
        raise ValueError(
            f"the image is mostly not crystal: {fraction:.1%} of it lies near columns with lattice neighbours "
            f"({len(good)} of {len(peaks)} peaks), and at least {settings.min_fraction:.0%} is needed; "
            "crop it to the crystal or check the lattice constant"
        )
    return mask
