"""Lattice constant from the image autocorrelation, and the patch size it sets (paper §8.3, Fig. S9).

The paper takes the first peak of the radially averaged autocorrelation as the lattice
constant ``a`` and cuts patches of side ``sqrt(3) a``. In a projected 1H MX2 lattice
(a honeycomb of metal and X2 columns) the first radial peak is the metal-X2 distance
``a / sqrt(3)``, not ``a``. We therefore take the first radial peak that is a *lattice
translation*: at a translation the autocorrelation of a periodic image returns to the
height of the other translation peaks, whereas at a metal-X2 lag it reaches at most
half of it (``I_M I_X <= (I_M^2 + I_X^2) / 2``). This returns ``a`` for honeycomb and
simple hexagonal lattices alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, signal

from ctxlib.base.images import check_image

#: A radial peak counts as a lattice translation when its 2-D height is at least this
#: fraction of the highest off-origin peak.
TRANSLATION_FRACTION = 0.75
#: Below this height (relative to the zero-lag value) no lattice is reported.
MIN_PEAK_HEIGHT = 0.02


@dataclass(frozen=True)
class LatticeEstimate:
    """Result of :func:`estimate_lattice_constant`; lengths in pixels unless stated.

    Attributes
    ----------
    a_px : float
        Lattice constant.
    radii, profile : numpy.ndarray
        Radial average of the normalised autocorrelation (for plotting Fig. S9).
    peak_radii, peak_heights : numpy.ndarray
        Radii of the radial-profile peaks and the highest 2-D autocorrelation value on
        each of their rings.
    is_translation : numpy.ndarray of bool
        Which of those peaks are lattice translations.
    """

    a_px: float
    radii: np.ndarray
    profile: np.ndarray
    peak_radii: np.ndarray
    peak_heights: np.ndarray
    is_translation: np.ndarray

    @property
    def patch_side_px(self) -> float:
        """Patch side ``sqrt(3) a`` in pixels: the centre column and its three nearest neighbours."""
        return patch_side(self.a_px)


def patch_side(lattice_constant: float) -> float:
    """Patch side ``sqrt(3) * a`` (same unit as ``a``)."""
    return float(np.sqrt(3.0) * lattice_constant)


def autocorrelation(image: np.ndarray, max_lag: int | None = None) -> np.ndarray:
    """Normalised autocorrelation of the mean-subtracted image, zero lag at the centre.

    Computed by FFT with zero padding (no wrap-around) and divided by the number of
    overlapping pixels at each lag, then by the zero-lag value.

    Parameters
    ----------
    image : numpy.ndarray, 2-D
    max_lag : int, optional
        Largest lag kept in each direction, pixels (default: a third of the shorter side).

    Returns
    -------
    numpy.ndarray, shape (2 * max_lag + 1, 2 * max_lag + 1)
    """
    image = check_image(image)
    ny, nx = image.shape
    max_lag = min(ny, nx) // 3 if max_lag is None else int(max_lag)
    shape = (2 * ny, 2 * nx)
    spectrum = np.fft.rfft2(image - image.mean(), s=shape)
    acf = np.fft.fftshift(np.fft.irfft2(np.abs(spectrum) ** 2, s=shape))
    lags = np.arange(-max_lag, max_lag + 1)
    counts = np.outer(ny - np.abs(lags), nx - np.abs(lags))  # pixels that overlap at each lag
    window = (slice(ny - max_lag, ny + max_lag + 1), slice(nx - max_lag, nx + max_lag + 1))
    acf = acf[window] / np.maximum(counts, 1.0)
    return acf / acf[max_lag, max_lag]


def _radius_map(shape: tuple[int, int]) -> np.ndarray:
    """Distance of every pixel from the centre of a map of ``shape``, pixels."""
    centre = (np.asarray(shape) - 1) / 2
    i, j = np.indices(shape)
    return np.hypot(i - centre[0], j - centre[1])


def radial_profile(acf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of a centred 2-D map over rings one pixel wide; returns (radii, profile), radii in pixels."""
    bins = np.rint(_radius_map(acf.shape)).astype(int)
    n_bins = (min(acf.shape) - 1) // 2 + 1
    keep = bins < n_bins
    sums = np.bincount(bins[keep], weights=acf[keep], minlength=n_bins)
    counts = np.bincount(bins[keep], minlength=n_bins)
    return np.arange(n_bins, dtype=np.float64), sums / counts


def _ring_peaks(acf: np.ndarray, radius: float, half_width: float, radii: np.ndarray | None = None,
                local_max: np.ndarray | None = None) -> tuple[float, float]:
    """Highest value on a ring of the 2-D map, and the mean sub-pixel radius of the peaks there.

    ``radii`` (the radius map) and ``local_max`` (where the map is a 3 x 3 maximum) may be passed in
    when many rings of one map are measured.
    """
    centre = (np.asarray(acf.shape) - 1) / 2
    radii = _radius_map(acf.shape) if radii is None else radii
    local_max = acf == ndimage.maximum_filter(acf, size=3) if local_max is None else local_max
    ring = np.abs(radii - radius) <= half_width
    height = float(acf[ring].max())
    maxima = ring & local_max & (acf >= 0.5 * height)
    radii = []
    for y, x in zip(*np.nonzero(maxima)):
        if 0 < y < acf.shape[0] - 1 and 0 < x < acf.shape[1] - 1:
            window = acf[y - 1 : y + 2, x - 1 : x + 2]
            weights = window - window.min()
            dy = (weights.sum(axis=1) @ np.array([-1, 0, 1])) / weights.sum()
            dx = (weights.sum(axis=0) @ np.array([-1, 0, 1])) / weights.sum()
            radii.append(np.hypot(y + dy - centre[0], x + dx - centre[1]))
    return height, float(np.mean(radii)) if radii else radius


def estimate_lattice_constant(image: np.ndarray, max_lag: int | None = None, *,
                              max_side: int = 1024) -> LatticeEstimate:
    """Lattice constant ``a`` of an atomic-resolution image, pixels.

    Parameters
    ----------
    image : numpy.ndarray, 2-D
        Micrograph (any intensity scale).
    max_lag : int, optional
        Largest autocorrelation lag considered, pixels (default: a third of the shorter
        image side). At least two autocorrelation peaks (for a 1H monolayer: the
        metal-X2 distance and ``a``) must lie within it, so the image should span at
        least about six lattice constants.
    max_side : int
        Larger images are measured on their central ``max_side`` x ``max_side`` crop (a
        1024-pixel crop holds tens of lattice constants; the FFT of a 2048-pixel image would
        cost four times as much for no better estimate).

    Returns
    -------
    LatticeEstimate

    Raises
    ------
    ValueError
        If the image is not a finite 2-D array, or no periodic lattice is found.
    """
    image = check_image(image)
    top, left = (max(0, (n - max_side) // 2) for n in image.shape)
    acf = autocorrelation(image[top:top + max_side, left:left + max_side], max_lag)
    radii, profile = radial_profile(acf)
    peaks, _ = signal.find_peaks(profile, prominence=0.02)
    minima, _ = signal.find_peaks(-profile)
    if len(minima):
        peaks = peaks[peaks > minima[0]]  # beyond the central peak
    peaks = peaks[radii[peaks] <= acf.shape[0] // 2 - 2]  # whole 2-D peaks only
    if len(peaks) < 2:
        raise ValueError(
            f"no lattice found: the radial autocorrelation of this {np.shape(image)} image has "
            f"{len(peaks)} peak(s) within {acf.shape[0] // 2 - 2} pixels, and two are needed; the image must "
            "show a lattice and span at least about six lattice constants"
        )
    radius_map, local_max = _radius_map(acf.shape), acf == ndimage.maximum_filter(acf, size=3)
    rings = [_ring_peaks(acf, radii[p], 2.0, radius_map, local_max) for p in peaks]
    heights = np.array([h for h, _ in rings])
    if heights.max() < MIN_PEAK_HEIGHT:
        raise ValueError(
            f"no lattice found: the strongest off-origin autocorrelation peak is {heights.max():.3f} "
            f"of the zero-lag value (at least {MIN_PEAK_HEIGHT} is needed)"
        )
    is_translation = heights >= TRANSLATION_FRACTION * heights.max()
    first = int(np.argmax(is_translation))
    return LatticeEstimate(
        a_px=rings[first][1],
        radii=radii,
        profile=profile,
        peak_radii=radii[peaks],
        peak_heights=heights,
        is_translation=is_translation,
    )
