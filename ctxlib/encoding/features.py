"""The 31-number feature vector: 23 context + 6 Zernike + 2 site flags (paper §3, Fig. 3).

:func:`encode_image` runs the whole §3 pipeline on a micrograph: the lattice constant from
the autocorrelation, the visible peaks, the crystal mask, every site of both sublattices
from the lattice model (:mod:`ctxlib.encoding.sites`), the pixel geometry (a non-square
pixel is measured and resampled; a missing pixel size comes from the host's lattice
constant), normalised intensities over the crystal, patches of side ``sqrt(3) a`` (completed
at the image edge by a third of a turn about the column), Zernike moments, the site flags per domain, and the
context vector of the stated imaging conditions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import ndimage

from ctxlib.base.images import check_image
from ctxlib.base.intensity import IntensityNormaliser, local_background
from ctxlib.base.settings import check_number
from ctxlib.encoding.columns import find_columns, site_flags
from ctxlib.encoding.context import CONTEXT_FEATURE_NAMES, encode_context
from ctxlib.encoding.lattice import LatticeEstimate, estimate_lattice_constant
from ctxlib.encoding.mask import MaskSettings, crystal_mask
from ctxlib.encoding.patches import EDGE_RULES, PATCH_SIZE, PATCH_SIZE_BOUNDS, centre_intensity, extract_patches
from ctxlib.encoding.sites import Sites, SiteSettings, find_sites
from ctxlib.encoding.zernike import ZERNIKE_FEATURE_NAMES, zernike_moments
from ctxlib.materials.catalog import HOSTS
from ctxlib.materials.imaging import ImagingContext

SITE_FEATURE_NAMES: tuple[str, ...] = ("site:bright", "site:dim")
CONTRAST_FEATURE_NAMES: tuple[str, ...] = ZERNIKE_FEATURE_NAMES + SITE_FEATURE_NAMES
FEATURE_NAMES: tuple[str, ...] = CONTEXT_FEATURE_NAMES + CONTRAST_FEATURE_NAMES


def assemble_features(context: np.ndarray, zernike: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """Concatenate context (23), Zernike (6) and site flags (2) into (N, 31) float32 rows.

    ``context`` may be one vector shared by every row or one row per sample.
    """
    zernike = np.atleast_2d(zernike)
    context = np.broadcast_to(np.asarray(context, dtype=np.float64), (len(zernike), len(CONTEXT_FEATURE_NAMES)))
    return np.hstack([context, zernike, np.atleast_2d(flags)]).astype(np.float32)


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
    peak_threshold : float
        Peak height for the visible columns, fraction of the smoothed image's 5-99.5
        percentile range (:func:`ctxlib.encoding.columns.find_columns`).
    aspect_tolerance : float
        A measured pixel aspect (row over column pixel size) further than this from 1 is
        corrected by resampling the rows.
    edge : {"rotate", "reflect", "skip"}
        Columns whose patch crosses the image edge are completed (and flagged ``edge``) by turning
        the missing points a third of a turn about the column into the image (its own
        neighbourhood: each column sits on a three-fold axis), by reflection about the image edge,
        or left out (:func:`ctxlib.encoding.patches.extract_patches`). On the stand-ins "rotate"
        halves the uncertain share of edge columns and their errors against "reflect".
    local_background : bool
        Subtract the smooth background between the columns
        (:func:`ctxlib.base.intensity.local_background`: contamination, amorphous carbon)
        before the image is normalised, so that a column reads the same under a thicker
        patch of it; the training motifs have a uniform background, for which this is no change.
    sites, mask : SiteSettings, MaskSettings
        The lattice model and the crystal mask.
    """

    patch_size: int = PATCH_SIZE
    lattice_tolerance: float = 0.2
    peak_threshold: float = 0.15
    aspect_tolerance: float = 0.03
    edge: str = "rotate"
    local_background: bool = True
    sites: SiteSettings = field(default_factory=SiteSettings)
    mask: MaskSettings = field(default_factory=MaskSettings)

    def __post_init__(self) -> None:
        check_number("patch_size", self.patch_size, *PATCH_SIZE_BOUNDS, integer=True)
        check_number("lattice_tolerance", self.lattice_tolerance, 0.0, 0.5)
        check_number("peak_threshold", self.peak_threshold, 0.01, 0.9)
        check_number("aspect_tolerance", self.aspect_tolerance, 0.001, 0.5)
        if self.edge not in EDGE_RULES:
            raise ValueError(f"edge must be one of {EDGE_RULES}, got {self.edge!r}")


@dataclass(frozen=True)
class Calibration:
    """The pixel geometry an image was encoded with.

    Attributes
    ----------
    pixel_size : float or None
        Angstrom per pixel along x (columns) after any row resampling; None when neither the
        file nor the host gave one.
    source : str
        ``"stated"`` (given or read from the file), ``"host lattice"`` (the host's lattice
        constant over the measured one) or ``"none"``.
    aspect : float
        Measured row over column pixel size (1 for square pixels).
    shear : float
        Measured shear of the lattice metric (drift along the fast scan), dimensionless.
    resampled : bool
        Whether the rows were resampled by ``aspect`` to make the pixels square.
    """

    pixel_size: float | None
    source: str
    aspect: float
    shear: float
    resampled: bool


@dataclass(frozen=True)
class ImageEncoding:
    """Result of :func:`encode_image`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per site: ``row``, ``col`` (pixels of the image as given), ``sublattice``
        (0 bright, 1 dim, from the lattice model), ``domain``, ``has_peak`` (a visible peak was
        there), ``shift_row``, ``shift_col`` (refined minus predicted, pixels), ``boundary``
        (where domains meet), ``edge`` (patch completed at the image edge), ``centre_intensity``
        (normalised, mean over the centre column's disc; see
        :func:`ctxlib.encoding.patches.centre_intensity`) and the 31 named features.
    patches : numpy.ndarray, shape (N, size, size)
        The normalised patches, in table order.
    lattice : LatticeEstimate
        Of the image the sites were found in (resampled when ``calibration.resampled``).
    sites : Sites
        The lattice model's sites, in the same (possibly resampled) pixels.
    mask : numpy.ndarray of bool
        The crystal mask, same pixels as ``sites``.
    normalised : numpy.ndarray
        The normalised image, same pixels as ``sites``.
    calibration : Calibration
    """

    table: pd.DataFrame
    patches: np.ndarray
    lattice: LatticeEstimate
    sites: Sites
    mask: np.ndarray
    normalised: np.ndarray
    calibration: Calibration

    @property
    def features(self) -> np.ndarray:
        """The (N, 31) float32 feature matrix."""
        return self.table[list(FEATURE_NAMES)].to_numpy(np.float32)


def resample_rows(image: np.ndarray, aspect: float) -> np.ndarray:
    """Resample the rows of an image whose row pixel is ``aspect`` times its column pixel, to square pixels.

    Row ``r`` of the result samples row ``r / aspect`` of the input (bilinear).
    """
    rows = np.arange(round(image.shape[0] * aspect)) / aspect
    rows = rows[rows <= image.shape[0] - 1]
    coords = np.meshgrid(rows, np.arange(image.shape[1], dtype=np.float64), indexing="ij")
    return ndimage.map_coordinates(image, coords, order=1)


def locate_sites(image: np.ndarray, settings: EncodingSettings = EncodingSettings()):
    """Lattice constant, crystal mask and every site of an image (no context, no features).

    Returns
    -------
    lattice : LatticeEstimate
    sites : Sites
    mask : numpy.ndarray of bool
    normalised : numpy.ndarray
        The image, less its local background where ``settings.local_background``, normalised over the
        crystal (:class:`ctxlib.base.intensity.IntensityNormaliser`).
    """
    lattice = estimate_lattice_constant(image)
    peaks = find_columns(image, lattice.a_px, threshold=settings.peak_threshold)  # scale-free: no normalisation needed
    mask = crystal_mask(image.shape, peaks, lattice.a_px, settings=settings.mask, image=image)
    if settings.local_background:
        image = image - local_background(image, lattice.a_px)
    normalised = IntensityNormaliser().fit(image, mask).transform(image)
    return lattice, find_sites(normalised, lattice.a_px, peaks, mask=mask, settings=settings.sites), mask, normalised


def _calibrate(lattice: LatticeEstimate, host: str, pixel_size: float | None, tolerance: float) -> tuple[float | None, str]:
    """The pixel size to use and where it came from; a stated one is checked against the host."""
    if pixel_size is None:
        if host in HOSTS:
            return HOSTS[host].a / lattice.a_px, "host lattice"
        raise ValueError(f"no pixel size for this image and host {host!r} is not in the catalog, so it cannot be "
                         f"measured from the lattice; give the pixel size, or one of {', '.join(HOSTS)}")
    if host in HOSTS:
        measured, expected = lattice.a_px * pixel_size, HOSTS[host].a
        if abs(measured / expected - 1) > tolerance:
            raise ValueError(
                f"measured lattice constant {measured:.3f} A (= {lattice.a_px:.2f} px x {pixel_size} A/px) "
                f"does not match {host}'s {expected:.3f} A by more than {tolerance:.0%}; check the pixel size or the host"
            )
    return float(pixel_size), "stated"


def encode_image(
    image: np.ndarray,
    context: ImagingContext,
    *,
    pixel_size: float | None = None,
    settings: EncodingSettings = EncodingSettings(),
    reverse_sites: bool = False,
) -> ImageEncoding:
    """Encode every lattice site of a micrograph as a 31-number feature vector.

    Parameters
    ----------
    image : numpy.ndarray, 2-D
        HAADF or MAADF micrograph of a 1H MX2 monolayer.
    context : ImagingContext
        Host, dopant, detector and beam energy (:func:`ctxlib.encoding.context.encode_context`).
    pixel_size : float, optional
        Angstrom per pixel along x. When given and the host is in the catalog, the measured
        lattice constant must agree with the catalog value to within
        ``settings.lattice_tolerance``; when not given, it is the host's lattice constant over
        the measured one (``calibration.source == "host lattice"``).
    settings : EncodingSettings
    reverse_sites : bool
        The image's brighter sublattice takes the dimmer one's site flag (see
        :func:`ctxlib.encoding.columns.site_flags`): where the microscope that took the image
        reverses the order of the context the image is encoded as.

    Returns
    -------
    ImageEncoding

    Raises
    ------
    ValueError
        For an image with no lattice or mostly no crystal, a stated pixel size that disagrees
        with the host, or no pixel size with a host outside the catalog.
    """
    vector = encode_context(context)
    image = check_image(image)
    lattice, sites, mask, normalised = locate_sites(image, settings)
    aspect, shear = sites.lattices[0].metric_aspect()
    resampled = abs(aspect - 1) > settings.aspect_tolerance
    if resampled:
        lattice, sites, mask, normalised = locate_sites(resample_rows(image, aspect), settings)
    size, source = _calibrate(lattice, context.host, pixel_size, settings.lattice_tolerance)
    patch_set = extract_patches(normalised, sites.positions, lattice.patch_side_px, size=settings.patch_size,
                                edge=settings.edge)
    keep = patch_set.index
    intensity = centre_intensity(patch_set.patches)
    flags = np.zeros((len(keep), 2))
    for d in np.unique(sites.domain[keep]):  # bright and dim are decided per domain
        mine = sites.domain[keep] == d
        flags[mine] = site_flags(sites.sublattice[keep][mine], intensity[mine], reverse=reverse_sites)
    features = assemble_features(vector, zernike_moments(patch_set.patches), flags)
    table = pd.DataFrame(features, columns=list(FEATURE_NAMES))
    edge = np.isin(keep, patch_set.border)
    site_table = sites.table().iloc[keep].reset_index(drop=True)
    if resampled:  # back to the rows of the image as given
        site_table[["row", "shift_row"]] /= aspect
    site_table["edge"] = edge
    site_table["centre_intensity"] = intensity
    table = pd.concat([site_table, table], axis=1)
    calibration = Calibration(size, source, aspect, shear, resampled)
    return ImageEncoding(table, patch_set.patches, lattice, sites, mask, normalised, calibration)
