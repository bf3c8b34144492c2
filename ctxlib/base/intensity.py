"""One intensity normalisation for simulated and experimental images alike.

Classes differ by how much intensity a column carries (an X2 column, a single and a
double vacancy), so a per-patch normalisation would erase the signal. We normalise per
*image* instead, in the spirit of scikit-learn's ``fit``/``transform``::

    normalised = (image - background) / (mean - background)

``background`` is a low percentile of the lightly smoothed reference (the hollow sites
between columns), ``mean`` the reference's mean intensity. A normalised lattice
therefore has hollow sites near 0 and a mean of 1, whatever the dose, gain or detector
offset. The reference is the image itself for a full field of view (defects are rare),
and the pristine motif of the same context for simulated motifs, so that every motif
of a context is scaled by the same numbers.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ctxlib.base.images import check_image


class IntensityNormaliser:
    """Map intensities to "background = 0, pristine mean = 1".

    Parameters
    ----------
    background_percentile : float
        Percentile of the smoothed reference taken as background, in (0, 50).
    smoothing_px : float
        Gaussian sigma, pixels, applied before taking the percentile (noise would
        otherwise pull it down).
    """

    def __init__(self, background_percentile: float = 1.0, smoothing_px: float = 1.0):
        if not 0 < background_percentile < 50:
            raise ValueError(f"background_percentile must lie in (0, 50), got {background_percentile}")
        if smoothing_px < 0:
            raise ValueError(f"smoothing_px must be >= 0, got {smoothing_px}")
        self.background_percentile = background_percentile
        self.smoothing_px = smoothing_px

    def fit(self, reference: np.ndarray, mask: np.ndarray | None = None) -> "IntensityNormaliser":
        """Learn ``background_`` and ``mean_`` from a reference image.

        Parameters
        ----------
        reference : numpy.ndarray, 2-D
        mask : numpy.ndarray of bool, optional
            Where the reference shows the crystal (vacuum and holes would pull the mean
            down); both numbers are taken over these pixels only.
        """
        reference = check_image(reference, min_size=4)
        smooth = self._smooth(reference)
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != reference.shape or not mask.any():
                raise ValueError(f"mask of shape {mask.shape} with {int(mask.sum())} pixels set does not select "
                                 f"any of the reference's {reference.shape}")
            smooth, reference = smooth[mask], reference[mask]
        self.background_ = float(np.percentile(smooth, self.background_percentile))
        self.mean_ = float(reference.mean())
        if not self.mean_ > self.background_:
            raise ValueError(
                f"reference has no contrast: mean {self.mean_:.4g} is not above its background {self.background_:.4g}"
            )
        return self

    def _smooth(self, images: np.ndarray) -> np.ndarray:
        """The references smoothed over their last two axes (the percentile is taken of these)."""
        if not self.smoothing_px:
            return images
        return ndimage.gaussian_filter(images, (0,) * (images.ndim - 2) + (self.smoothing_px,) * 2)

    def levels(self, references: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(background, mean)`` of every reference of a stack (..., ny, nx), each as :meth:`fit` finds them.

        For many simulated realisations at once; a reference without contrast raises the
        error :meth:`fit` raises.
        """
        references = np.asarray(references)
        smooth = self._smooth(references)
        background = np.percentile(smooth.reshape(*smooth.shape[:-2], -1), self.background_percentile, axis=-1)
        mean = references.mean(axis=(-2, -1), dtype=np.float64)
        if not np.all(mean > background):
            raise ValueError(f"a reference has no contrast: means {mean[~(mean > background)]} are not above "
                             f"their backgrounds {background[~(mean > background)]}")
        return background, mean

    def transform(self, image: np.ndarray) -> np.ndarray:
        """Apply the fitted normalisation to any image (or patch stack)."""
        if not hasattr(self, "mean_"):
            raise RuntimeError("IntensityNormaliser is not fitted; call fit(reference) first")
        return (np.asarray(image, dtype=np.float64) - self.background_) / (self.mean_ - self.background_)

    def fit_transform(self, image: np.ndarray) -> np.ndarray:
        """Fit on ``image`` and return it normalised."""
        return self.fit(image).transform(image)


#: :func:`local_background`'s opening window (it holds a hollow site wherever it stands) and final
#: smoothing, in lattice constants.
WINDOW, SMOOTHING = 1.2, 0.5


def local_background(image: np.ndarray, lattice_constant_px: float, *, smoothing_px: float = 1.0) -> np.ndarray:
    """A smooth map of the intensity between the atomic columns (amorphous carbon, contamination, thickness).

    The lightly smoothed image is opened (a minimum, then a maximum filter) over a square of
    :data:`WINDOW` lattice constants, which holds a hollow site wherever it stands, so the opening
    follows the level between the columns and not the columns; a Gaussian of :data:`SMOOTHING`
    lattice constants then smooths it. On a lattice of uniform background the map is flat, so subtracting it changes
    nothing that :class:`IntensityNormaliser` does not remove anyway.

    Parameters
    ----------
    image : numpy.ndarray, 2-D
    lattice_constant_px : float
        Lattice constant, pixels.
    smoothing_px : float
        Gaussian sigma applied first, pixels (noise would pull the minimum down).

    Returns
    -------
    numpy.ndarray, float64
        The background, same shape as ``image``.

    Examples
    --------
    >>> y, x = np.mgrid[:64, :64]
    >>> lattice = np.cos(2 * np.pi * x / 8) ** 2 * np.cos(2 * np.pi * y / 8) ** 2
    >>> ramp = 0.01 * x
    >>> background = local_background(lattice + ramp, 8.0)
    >>> residual = (background - ramp)[16:-16, 16:-16]  # the ramp, less a constant the normaliser removes
    >>> bool(np.ptp(residual) < 0.01)
    True
    """
    image = check_image(image, min_size=4)
    if not lattice_constant_px > 1:
        raise ValueError(f"lattice constant must exceed 1 pixel, got {lattice_constant_px}")
    size = max(3, int(np.ceil(WINDOW * lattice_constant_px)))
    opened = ndimage.grey_opening(ndimage.gaussian_filter(image, smoothing_px), size=(size, size), mode="reflect")
    return ndimage.gaussian_filter(opened, SMOOTHING * lattice_constant_px, mode="reflect")
