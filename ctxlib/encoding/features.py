"""The 31-number feature vector: 23 context + 6 Zernike + 2 site flags (paper §3, Fig. 3).

:func:`encode_image` runs the whole §3 pipeline on a micrograph: lattice constant from
the autocorrelation, columns, sublattices and site flags, normalised intensities,
patches of side ``sqrt(3) a``, Zernike moments, and the context vector of the stated
imaging conditions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ctxlib.base.intensity import IntensityNormaliser
from ctxlib.base.settings import check_number
from ctxlib.encoding.columns import find_columns, partition_sublattices, site_flags
from ctxlib.encoding.context import CONTEXT_FEATURE_NAMES, encode_context
from ctxlib.encoding.lattice import LatticeEstimate, estimate_lattice_constant
from ctxlib.encoding.patches import PATCH_SIZE, PATCH_SIZE_BOUNDS, centre_intensity, extract_patches
from ctxlib.encoding.sites import fill_missing_sites
from ctxlib.encoding.zernike import ZERNIKE_FEATURE_NAMES, zernike_moments
from ctxlib.materials.catalog import HOSTS

SITE_FEATURE_NAMES: tuple[str, ...] = ("site:bright", "site:dim")
CONTRAST_FEATURE_NAMES: tuple[str, ...] = ZERNIKE_FEATURE_NAMES + SITE_FEATURE_NAMES
FEATURE_NAMES: tuple[str, ...] = CONTEXT_FEATURE_NAMES + CONTRAST_FEATURE_NAMES



@dataclass(frozen=True)
class EncodingSettings:
    """How an image becomes features (paper §3).

    Attributes
    ----------
    patch_size : int
        Patch grid, pixels per side (the patch covers ``sqrt(3) a`` whatever the grid).
    lattice_tolerance : float
        Largest relative mismatch between the measured and the catalog lattice constant
        when the pixel size is known.
    """

    patch_size: int = PATCH_SIZE
    lattice_tolerance: float = 0.2

    def __post_init__(self) -> None:
        check_number("patch_size", self.patch_size, *PATCH_SIZE_BOUNDS, integer=True)
        check_number("lattice_tolerance", self.lattice_tolerance, 0.0, 0.5)


def assemble_features(context: np.ndarray, zernike: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """Concatenate context (23), Zernike (6) and site flags (2) into (N, 31) float32 rows.

    ``context`` may be one vector shared by every row or one row per sample.
    """
    zernike = np.atleast_2d(zernike)
    context = np.broadcast_to(np.asarray(context, dtype=np.float64), (len(zernike), len(CONTEXT_FEATURE_NAMES)))
    return np.hstack([context, zernike, np.atleast_2d(flags)]).astype(np.float32)


@dataclass(frozen=True)
class ImageEncoding:
    """Result of :func:`encode_image`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per column with a full patch: ``row``, ``col`` (pixels), ``sublattice``,
        ``filled`` (a site put back, see ``fill_missing``), ``centre_intensity`` (normalised, mean over the centre column's disc; see
        :func:`ctxlib.encoding.patches.centre_intensity`) and the 31 named features.
    patches : numpy.ndarray, shape (N, size, size)
        The normalised patches, in table order.
    border : numpy.ndarray, shape (B, 2)
        Columns too close to the image edge for a full patch (no features).
    lattice : LatticeEstimate
    normalised : numpy.ndarray
        The normalised image.
    """

    table: pd.DataFrame
    patches: np.ndarray
    border: np.ndarray
    lattice: LatticeEstimate
    normalised: np.ndarray

    @property
    def features(self) -> np.ndarray:
        """The (N, 31) float32 feature matrix."""
        return self.table[list(FEATURE_NAMES)].to_numpy(np.float32)


def encode_image(
    image: np.ndarray,
    host: str,
    dopant: str | None,
    detector: str,
    energy_kev: int,
    pixel_size: float | None = None,
    fill_missing: bool = False,
    settings: EncodingSettings = EncodingSettings(),
) -> ImageEncoding:
    """Encode every atomic column of a micrograph as a 31-number feature vector.

    Parameters
    ----------
    image : numpy.ndarray, 2-D
        HAADF or MAADF micrograph of a 1H MX2 monolayer.
    host, dopant, detector, energy_kev
        Imaging context, as for :func:`ctxlib.encoding.context.encode_context`.
    pixel_size : float, optional
        Angstrom per pixel. When given and the host is in the catalog, the measured
        lattice constant must agree with the catalog value to within
        ``settings.lattice_tolerance``.
    fill_missing : bool
        Put back lattice sites with no intensity peak (double vacancies) from their
        neighbours' positions (:func:`ctxlib.encoding.sites.fill_missing_sites`); the table then
        marks them ``filled``.
    settings : EncodingSettings
        Patch grid and lattice tolerance.

    Returns
    -------
    ImageEncoding
    """
    context = encode_context(host, dopant, detector, energy_kev)
    lattice = estimate_lattice_constant(image)
    if pixel_size is not None and host in HOSTS:
        measured, expected = lattice.a_px * pixel_size, HOSTS[host].a
        if abs(measured / expected - 1) > settings.lattice_tolerance:
            raise ValueError(
                f"measured lattice constant {measured:.3f} A (= {lattice.a_px:.2f} px x {pixel_size} A/px) "
                f"does not match {host}'s {expected:.3f} A; check the pixel size or the host"
            )
    normalised = IntensityNormaliser().fit_transform(image)
    positions = find_columns(normalised, lattice.a_px)
    filled = np.zeros(len(positions), dtype=bool)
    if fill_missing:
        positions, filled = fill_missing_sites(positions, lattice.a_px, normalised.shape)
    sublattice = partition_sublattices(positions, lattice.a_px)
    patch_set = extract_patches(normalised, positions, lattice.patch_side_px, settings.patch_size)
    keep = patch_set.index
    intensity = centre_intensity(patch_set.patches)
    flags = site_flags(sublattice[keep], intensity)
    features = assemble_features(context, zernike_moments(patch_set.patches), flags)
    table = pd.DataFrame(features, columns=list(FEATURE_NAMES))
    table.insert(0, "centre_intensity", intensity)
    table.insert(0, "filled", filled[keep])
    table.insert(0, "sublattice", sublattice[keep])
    table.insert(0, "col", positions[keep, 1])
    table.insert(0, "row", positions[keep, 0])
    return ImageEncoding(table, patch_set.patches, positions[patch_set.border], lattice, normalised)
