"""Does the image's sublattice contrast fit the stated context? A check that a wrong host or detector can fail.

A column's ADF intensity grows with the atomic number of what it holds, so the ratio of the
brighter sublattice's intensity to the dimmer one's says much about the host and the detector:
about 1.2-1.4 for WSe2 at 80 keV, 1.6 (HAADF) to 2.5 (MAADF) for MoSe2, 2.2-5.7 for WS2. The
models and the outlier test read each column on its own, after a normalisation that removes
this ratio's scale, so they cannot notice that an image's contrast belongs to another host.
Here:

1. **Measured**: the median centre intensity of each sublattice over every site found
   (:func:`ctxlib.encoding.patches.centre_intensity` on the normalised image, as the site flags
   use; medians, so defects do not move it), the brighter over the dimmer.
2. **Expected**: the same ratio on the context's clean simulated motifs
   (:func:`ctxlib.micrographs.intensities.expected_levels`: the pristine metal and X2 columns).
3. **Consistent** when the two are within a factor ``tolerance`` (default 1.5) of each other.
   Blur lowers the measured ratio (it mixes the two sublattices); on the stand-ins, hard cases and
   the two real images in their stated contexts the factor is 0.74-1.07, so 1.5 leaves room.

Where the context's two sublattices are nearly equally bright (within :data:`NEAR_EQUAL_RATIO`: 8 of
the 78 trained host, detector and energy combinations, e.g. MoS2 in MAADF or WSe2 in HAADF at 60 keV),
which sublattice is metal is read from a small difference that defocus or noise can reverse, and the
models then agree on swapped classes (the dim-sulfide hard case in MAADF): :attr:`ContrastCheck.near_equal`,
a warning of its own.

It fails a host whose contrast differs by more than that factor from the stated one (a sulfide
stated as a selenide, MoSe2 in MAADF stated as WSe2), not a host of similar contrast (WSe2 and
MoSe2 in HAADF differ by 1.3x, less than the spread blur makes).

Examples
--------
>>> ContrastCheck(measured=1.3, expected=1.25, tolerance=1.5).consistent
True
>>> ContrastCheck(measured=5.4, expected=1.25, tolerance=1.5).consistent
False
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ctxlib.encoding.features import ImageEncoding
from ctxlib.materials.imaging import ImagingContext
from ctxlib.micrographs.intensities import expected_levels
from ctxlib.micrographs.microscope import NEAR_EQUAL_RATIO


class ContextMismatchWarning(UserWarning):
    """The image's sublattice contrast does not fit the stated host and detector."""


class NearEqualSublatticesWarning(UserWarning):
    """In the stated context the metal and X2 columns are nearly equally bright: the sublattices may be swapped."""


@dataclass(frozen=True)
class ContrastCheck:
    """The measured and expected brighter / dimmer sublattice intensity ratio of an image.

    Attributes
    ----------
    measured : float
        Median centre intensity of the brighter sublattice over the dimmer one's, in the image.
    expected : float
        The same on the stated context's clean simulated motifs.
    tolerance : float
        The largest factor between the two that counts as consistent (> 1).
    """

    measured: float
    expected: float
    tolerance: float

    @property
    def factor(self) -> float:
        """Measured over expected (1: as the context predicts)."""
        return self.measured / self.expected

    @property
    def consistent(self) -> bool:
        """Whether measured and expected are within a factor ``tolerance`` (True where nothing was measured)."""
        return bool(not np.isfinite(self.factor) or 1 / self.tolerance <= self.factor <= self.tolerance)

    @property
    def near_equal(self) -> bool:
        """Whether the context's two pristine columns are within :data:`NEAR_EQUAL_RATIO` of each other."""
        return bool(self.expected < NEAR_EQUAL_RATIO)

    def near_equal_message(self, context: ImagingContext) -> str:
        """One line for the user where :attr:`near_equal`."""
        return (f"metal and X2 columns of {context.host} in {context.detector} at {context.energy_kev:g} keV are nearly "
                f"equally bright ({self.expected:.2f} x), so which sublattice is metal is read from a small difference "
                "that defocus or noise can reverse: check a few columns by eye, or classify an image from a detector "
                "where they differ more")

    def message(self, context: ImagingContext) -> str:
        """One line for the user when the check fails."""
        return (f"the brighter sublattice is {self.measured:.2f} x the dimmer in this image, but "
                f"{self.expected:.2f} x for {context.host} in {context.detector} at {context.energy_kev:g} keV "
                f"(a factor {self.factor:.2f}, outside 1/{self.tolerance:g}-{self.tolerance:g}): check the stated host "
                "and detector")


def sublattice_contrast(encoding: ImageEncoding) -> float:
    """The brighter sublattice's median centre intensity over the dimmer one's (step 1 of the module docstring).

    Parameters
    ----------
    encoding : ImageEncoding
        The image's encoding (:func:`ctxlib.encoding.features.encode_image`), with sites on both sublattices.

    Returns
    -------
    float
        A ratio >= 1 (nan when a sublattice has no site or the dimmer one's median is not above 0).
    """
    table = encoding.table
    medians = [np.median(table.loc[table["sublattice"] == s, "centre_intensity"]) if (table["sublattice"] == s).any()
               else np.nan for s in (0, 1)]
    bright, dim = max(medians), min(medians)
    return float(bright / dim) if np.isfinite(dim) and dim > 0 else float("nan")


def expected_contrast(context: ImagingContext) -> float:
    """The brighter over the dimmer pristine column on the context's clean simulated motifs (step 2).

    Raises
    ------
    ValueError
        For a host and dopant with no library file.
    """
    levels = expected_levels(context)["level"]
    ratio = float(levels["M"] / levels["X2"])
    return max(ratio, 1 / ratio)


def check_contrast(encoding: ImageEncoding, context: ImagingContext, *, tolerance: float = 1.5) -> ContrastCheck:
    """Compare an image's sublattice contrast with its stated context's (the module docstring's three steps).

    Parameters
    ----------
    encoding : ImageEncoding
        The image's encoding in ``context``.
    context : ImagingContext
        The stated host, dopant, detector and energy.
    tolerance : float
        The largest factor between measured and expected contrast that counts as consistent (> 1).

    Returns
    -------
    ContrastCheck
    """
    if not tolerance > 1:
        raise ValueError(f"tolerance must be a factor > 1, got {tolerance}")
    return ContrastCheck(sublattice_contrast(encoding), expected_contrast(context), tolerance)
