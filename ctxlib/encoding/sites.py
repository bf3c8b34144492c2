"""Every lattice site of both sublattices, from a lattice model fitted to the visible columns.

In: a normalised micrograph of a 1H MX2 monolayer, its lattice constant ``a`` (pixels,
:mod:`ctxlib.encoding.lattice`) and the intensity peaks that are visible
(:func:`ctxlib.encoding.columns.find_columns`), however few: in a sulfide HAADF image only
the metal columns may make a peak. Out: :class:`Sites`, every site of the honeycomb inside
the crystal, with its sublattice from the model, its domain, and whether a peak was there.

The model, step by step (all lengths in pixels, vectors as (row, col)):

1. **Lattice vectors.** The vectors between visible peaks at about ``a`` (a lattice
   translation, whichever sublattice made the peaks) give each peak an orientation
   (mean of ``6 phi``) and, per orientation, two primitive vectors ``a1``, ``a2`` at 60
   degrees by least squares over the three translation directions. Their lengths and
   angles carry any non-square pixel and linear drift of the scan.
2. **Hand.** The three positions ``p``, ``p + t``, ``p + 2t`` (``t = (a1 + a2) / 3``, the bond)
   of a honeycomb cell hold the bright site, the dim site and the hollow in one of two
   cyclic orders. The smoothed image sampled there (each averaged over the three
   equivalent positions) shows, for every peak, where the hollow is (the lowest of the
   three): at ``p + 2t`` for the bright sites and at ``p + t`` for the dim sites of a domain
   of hand +1, the other way round for hand -1. Each peak votes with that side times its
   height above the hollow; the sign of the votes summed over ``domain_radius`` lattice
   constants is the *hand* there (where the sum is under 5 % of the votes' magnitudes, the
   sublattices are equally bright and the image's hand is taken), and a peak on the side
   of its hand is bright. Bright
   peaks outvote dim ones, and a dim sublattice that makes no peak leaves the bright
   peaks' votes alone, so the hand holds whichever sublattices are visible. Across a
   mirror-twin boundary the sublattices swap and the hand flips.
3. **Domains.** Peaks are labelled by (orientation, hand), and each label is smoothed by the
   majority of the peaks within ``domain_radius`` lattice constants. Labels with fewer than
   ``min_domain_peaks`` peaks are dropped.
4. **Local fit.** Per domain, the image is cut into square tiles of ``tile_cells`` lattice
   constants. In each tile, starting from the centre of the domain outwards and from the fit
   of the nearest tile already done, an affine lattice (origin and ``a1``, ``a2``) is fitted by
   least squares to the domain's peaks within 1.5 tiles that lie within ``match_radius``
   nearest-neighbour distances of a predicted site. Slow distortion (drift, shear, scan
   wobble over many rows, strain of a few per cent) is followed tile by tile.
5. **Sites.** Each tile predicts the sites of both sublattices in its own square (a small
   margin, duplicates merged). A site is kept where the domain owns the neighbourhood
   (at least half of the visible peaks within 1.5 ``a`` carry its label) and inside the
   crystal mask (:mod:`ctxlib.encoding.mask`); it is flagged ``boundary`` where the
   neighbourhood is mixed (fewer than ``boundary_purity`` of the peaks are its domain's) or
   another domain's site lies within half a bond.
6. **Refinement.** A site with a visible peak within ``match_radius`` bonds moves to the
   peak's sub-pixel position (a bounded shift); a site with none (a double vacancy, a dim
   column that makes no peak) keeps the model's prediction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import ndimage
from scipy.spatial import cKDTree

from ctxlib.base.settings import check_number
from ctxlib.encoding.columns import nearest_neighbour_distance, translation_pairs
from ctxlib.encoding.mask import coarse_cells, mask_at

#: Fractional coordinates (in a1, a2) of the bond vector t from a bright site to the dim site of hand +1.
BOND_FRACTION = np.array([1.0, 1.0]) / 3.0
#: The hand is decided locally only where the votes' sum exceeds this share of their magnitudes; where the
#: sublattices are about equally bright it is that of the whole image (no domain boundary from noise).
HAND_MARGIN = 0.05


@dataclass(frozen=True)
class SiteSettings:
    """How sites are found from the lattice model.

    Attributes
    ----------
    match_radius : float
        A peak belongs to a predicted site within this many nearest-neighbour distances.
    tile_cells : float
        Side of a local-fit tile, lattice constants.
    domain_radius : float
        Radius over which peak labels are smoothed, lattice constants.
    min_domain_peaks : int
        Fewest peaks that make a domain.
    boundary_purity : float
        Share of a site's neighbouring peaks that must be its own domain's for the site not to
        be flagged ``boundary``.
    orientation_tolerance : float
        Orientations closer than this, degrees, are one domain orientation.
    """

    match_radius: float = 0.35
    tile_cells: float = 6.0
    domain_radius: float = 2.0
    min_domain_peaks: int = 20
    boundary_purity: float = 0.8
    orientation_tolerance: float = 8.0

    def __post_init__(self) -> None:
        check_number("match_radius", self.match_radius, 0.05, 0.5)
        check_number("tile_cells", self.tile_cells, 2.0, 100.0)
        check_number("domain_radius", self.domain_radius, 0.5, 20.0)
        check_number("min_domain_peaks", self.min_domain_peaks, 3, 10**6, integer=True)
        check_number("boundary_purity", self.boundary_purity, 0.5, 1.0)
        check_number("orientation_tolerance", self.orientation_tolerance, 0.5, 29.0)


@dataclass(frozen=True)
class DomainLattice:
    """One domain's lattice: primitive vectors (row, col) in pixels, hand and orientation.

    ``hand`` is +1 when the dim sublattice sits at ``bright + t`` with ``t = (a1 + a2) / 3``,
    -1 when at ``bright - t``; ``orientation`` is the direction of ``a1``, degrees mod 60.
    """

    a1: np.ndarray
    a2: np.ndarray
    hand: int
    orientation: float

    @property
    def matrix(self) -> np.ndarray:
        """The 2 x 2 matrix whose columns are ``a1`` and ``a2``."""
        return np.column_stack([self.a1, self.a2])

    def metric_aspect(self) -> tuple[float, float]:
        """Pixel aspect (row pixel size / column pixel size) and shear that make the lattice equilateral.

        Solves ``v^T G v = 1`` for the metric ``G`` over the three translations ``a1``, ``a2`` and
        ``a2 - a1``; the aspect is ``sqrt(G_rr / G_cc)``, the shear ``G_rc / sqrt(G_rr G_cc)``.
        """
        vectors = np.array([self.a1, self.a2, self.a2 - self.a1])
        design = np.column_stack([vectors[:, 0] ** 2, 2 * vectors[:, 0] * vectors[:, 1], vectors[:, 1] ** 2])
        g_rr, g_rc, g_cc = np.linalg.solve(design, np.ones(3))
        return float(np.sqrt(g_rr / g_cc)), float(g_rc / np.sqrt(g_rr * g_cc))


@dataclass(frozen=True)
class Sites:
    """Every site the lattice model placed, with what it is and how it was found.

    Attributes
    ----------
    positions : numpy.ndarray, shape (N, 2)
        Refined (row, col) positions, pixels.
    sublattice : numpy.ndarray of int, shape (N,)
        0 for the domain's bright sublattice, 1 for its dim one (from the model).
    domain : numpy.ndarray of int, shape (N,)
        Index into ``lattices``.
    has_peak : numpy.ndarray of bool
        A visible peak was found within the match radius (else the position is the prediction).
    shift : numpy.ndarray, shape (N, 2)
        Refined minus predicted position, pixels.
    boundary : numpy.ndarray of bool
        The site lies where domains meet.
    lattices : tuple of DomainLattice
    peaks : numpy.ndarray, shape (P, 2)
        The visible peaks the model was fitted to.
    """

    positions: np.ndarray
    sublattice: np.ndarray
    domain: np.ndarray
    has_peak: np.ndarray
    shift: np.ndarray
    boundary: np.ndarray
    lattices: tuple[DomainLattice, ...]
    peaks: np.ndarray

    def table(self) -> pd.DataFrame:
        """One row per site: ``row``, ``col``, ``sublattice``, ``domain``, ``has_peak``, ``shift_row``, ``shift_col``, ``boundary``."""
        return pd.DataFrame({"row": self.positions[:, 0], "col": self.positions[:, 1], "sublattice": self.sublattice,
                             "domain": self.domain, "has_peak": self.has_peak, "shift_row": self.shift[:, 0],
                             "shift_col": self.shift[:, 1], "boundary": self.boundary})


def _orientations(peaks: np.ndarray, pairs: np.ndarray, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each peak's lattice orientation, radians mod 60 degrees, and its number of translation neighbours."""
    term = np.exp(6j * np.arctan2(delta[:, 0], delta[:, 1]))  # +v and -v give the same term
    total = np.bincount(pairs[:, 0], term.real, len(peaks)) + 1j * np.bincount(pairs[:, 0], term.imag, len(peaks))
    total += np.bincount(pairs[:, 1], term.real, len(peaks)) + 1j * np.bincount(pairs[:, 1], term.imag, len(peaks))
    count = np.bincount(pairs.ravel(), minlength=len(peaks))
    return np.angle(total) / 6, count


def _orientation_clusters(angle: np.ndarray, weight: np.ndarray, tolerance: float) -> np.ndarray:
    """Centres (radians mod 60 degrees) of the orientation histogram's peaks at least a tenth as high as the highest."""
    bins = np.bincount(np.floor(np.degrees(angle * 6) % 360).astype(int) % 360, weight, 360)
    smooth = ndimage.gaussian_filter1d(bins, tolerance * 3, mode="wrap")  # 6 x orientation in degrees
    centres = []
    for k in np.argsort(smooth)[::-1]:
        if smooth[k] < 0.1 * smooth.max():
            break
        if all(abs((k - c + 180) % 360 - 180) > 6 * tolerance for c in centres):
            centres.append(k)
    return np.radians(np.array(centres, dtype=float) + 0.5) / 6


def _primitive_vectors(delta: np.ndarray, orientation: float) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares ``a1`` (along ``orientation``) and ``a2`` (60 degrees on) from translation vectors."""
    k = np.rint((np.arctan2(delta[:, 0], delta[:, 1]) - orientation) / (np.pi / 3)).astype(int) % 6
    folded = np.where((k >= 3)[:, None], -delta, delta)
    means = [folded[k % 3 == j].mean(axis=0) if np.any(k % 3 == j) else None for j in range(3)]
    if any(m is None for m in means):
        raise ValueError("the visible columns do not span a 2-D lattice (a translation direction has no pair)")
    m0, m1, m2 = means
    return (2 * m0 + m1 - m2) / 3, (m0 + 2 * m1 + m2) / 3


def _sample(smooth: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Bilinear samples of an image at (row, col) points (mirror outside)."""
    return ndimage.map_coordinates(smooth, points.reshape(-1, 2).T, order=1, mode="mirror").reshape(points.shape[:-1])


def _peak_roles(smooth: np.ndarray, peaks: np.ndarray, a1: np.ndarray, a2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per peak: on which side its hollow lies (+1: at ``p + 2t``, -1: at ``p + t``, 0: the peak is a hollow),
    and its vote for the hand, that side times the peak's height above the hollow."""
    t = BOND_FRACTION[0] * a1 + BOND_FRACTION[1] * a2
    equivalent = np.array([[0.0, 0.0], a1, a2])  # t, t - a1, t - a2 are the three bonds
    values = [_sample(smooth, peaks[:, None, :] + step * (t - equivalent[None])).mean(axis=1)
              for step in (0, 1, -1)]  # p, p + t, p + 2t (= p - t), each over its three nearest equivalents
    values = np.column_stack(values)
    hollow = values.argmin(axis=1)
    side = np.select([hollow == 2, hollow == 1], [1, -1], 0)
    return side, side * (values[:, 0] - values.min(axis=1))


def _smoothed_sum(points: np.ndarray, weights: np.ndarray, shape: tuple[int, int], radius: float, a_px: float):
    """Gaussian-weighted sum (sigma = ``radius`` / 2 pixels) of point weights, sampled back at the points."""
    factor, grid_shape, cells = coarse_cells(points, shape, a_px)
    grid = np.zeros(grid_shape)
    np.add.at(grid, (cells[:, 0], cells[:, 1]), weights)
    grid = ndimage.gaussian_filter(grid, radius / factor / 2, mode="constant")
    return grid[cells[:, 0], cells[:, 1]]


def _neighbour_pairs(points: np.ndarray, others: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i into ``points``, j into ``others``) closer than ``radius``."""
    if len(points) == 0 or len(others) == 0:
        return np.zeros(0, int), np.zeros(0, int)
    pairs = cKDTree(points).sparse_distance_matrix(cKDTree(others), radius, output_type="ndarray")
    return pairs["i"].astype(int), pairs["j"].astype(int)


def _majority(points: np.ndarray, labels: np.ndarray, radius: float, n_labels: int) -> np.ndarray:
    """Majority label among the labelled points within ``radius`` of each point (-1 where none is near)."""
    labelled = np.flatnonzero(labels >= 0)
    i, j = _neighbour_pairs(points, points[labelled], radius)
    votes = np.zeros((len(points), n_labels))
    np.add.at(votes, (i, labels[labelled][j]), 1.0)
    return np.where(votes.sum(axis=1) > 0, votes.argmax(axis=1), -1)


def _fit_affine(points: np.ndarray, fractional: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Origin and 2 x 2 lattice matrix with ``points = origin + matrix @ fractional`` by least squares."""
    design = np.column_stack([np.ones(len(points)), fractional])
    solution = np.linalg.lstsq(design, points, rcond=None)[0]
    return solution[0], solution[1:].T


def _match(points: np.ndarray, origin: np.ndarray, matrix: np.ndarray, offsets: np.ndarray, radius: float):
    """Integer cells and residuals of points against a lattice whose sites sit at ``offsets`` (fractional)."""
    inverse = np.linalg.inv(matrix)
    fractional = (points - origin) @ inverse.T - offsets
    cells = np.rint(fractional)
    residual = points - origin - (cells + offsets) @ matrix.T
    return cells + offsets, np.hypot(*residual.T) <= radius


def _tile_fits(points, offsets, weights_centre, shape, matrix, origin, tile_px, radius):
    """Affine fits per tile, grown from the tile nearest ``weights_centre``; returns {(i, j): (origin, matrix)}."""
    n_tiles = np.maximum(1, np.ceil(np.array(shape) / tile_px)).astype(int)
    index = [(i, j) for i in range(n_tiles[0]) for j in range(n_tiles[1])]
    centres = {ij: (np.array(ij) + 0.5) * np.array(shape) / n_tiles for ij in index}
    order = sorted(index, key=lambda ij: np.hypot(*(centres[ij] - weights_centre)))
    tree = cKDTree(points)
    fits: dict = {}
    for ij in order:
        start = fits[min(fits, key=lambda k: np.hypot(*(centres[k] - centres[ij])))] if fits else (origin, matrix)
        near = tree.query_ball_point(centres[ij], tile_px)
        fit = start
        if len(near) >= 6:
            for _ in range(2):
                fractional, ok = _match(points[near], fit[0], fit[1], offsets[near], radius)
                if ok.sum() < 6:
                    break
                fit = _fit_affine(points[near][ok], fractional[ok])
        fits[ij] = fit
    return fits, n_tiles


def _tile_sites(fits, n_tiles, shape, hand: int, margin: float):
    """Sites of both sublattices predicted by each tile's fit over its square plus ``margin`` pixels."""
    size = np.array(shape) / n_tiles
    out = []
    for (i, j), (origin, matrix) in fits.items():
        low = np.array([i, j]) * size - margin
        high = low + size + 2 * margin
        corners = np.array([[low[0], low[1]], [low[0], high[1]], [high[0], low[1]], [high[0], high[1]]])
        fractional = (corners - origin) @ np.linalg.inv(matrix).T
        lo, hi = np.floor(fractional.min(axis=0)) - 1, np.ceil(fractional.max(axis=0)) + 1
        n1, n2 = np.meshgrid(np.arange(lo[0], hi[0] + 1), np.arange(lo[1], hi[1] + 1), indexing="ij")
        cells = np.column_stack([n1.ravel(), n2.ravel()])
        for sub, offset in ((0, np.zeros(2)), (1, hand * BOND_FRACTION)):
            pos = origin + (cells + offset) @ matrix.T
            inside = np.all((pos >= low) & (pos < high), axis=1)
            centre_distance = np.abs((pos[inside] - low - margin) / size - 0.5).max(axis=1)  # 0.5 at the tile edge
            out.append((pos[inside], np.full(inside.sum(), sub), centre_distance))
    positions = np.concatenate([o[0] for o in out])
    return positions, np.concatenate([o[1] for o in out]), np.concatenate([o[2] for o in out])


def _merge_duplicates(positions: np.ndarray, rank: np.ndarray, radius: float,
                      group: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mask keeping one of each pair of points closer than ``radius`` (the lower rank), and those pairs.

    With ``group``, only pairs of points from different groups count.
    """
    keep = np.ones(len(positions), dtype=bool)
    pairs = cKDTree(positions).query_pairs(radius, output_type="ndarray")
    if group is not None:
        pairs = pairs[group[pairs[:, 0]] != group[pairs[:, 1]]]
    if len(pairs):
        worse = np.where(rank[pairs[:, 0]] > rank[pairs[:, 1]], pairs[:, 0], pairs[:, 1])
        keep[worse] = False
    return keep, pairs


def find_sites(
    image: np.ndarray, lattice_constant_px: float, peaks: np.ndarray, *, mask: np.ndarray | None = None,
    settings: SiteSettings = SiteSettings(),
) -> Sites:
    """Fit the honeycomb to the visible peaks and place every site of both sublattices.

    Parameters
    ----------
    image : numpy.ndarray, 2-D
        Normalised micrograph (:class:`ctxlib.base.intensity.IntensityNormaliser`).
    lattice_constant_px : float
        Lattice constant ``a``, pixels.
    peaks : numpy.ndarray, shape (P, 2)
        Visible intensity peaks, (row, col) pixels, from :func:`ctxlib.encoding.columns.find_columns`.
    mask : numpy.ndarray of bool, optional
        Where the crystal is (:func:`ctxlib.encoding.mask.crystal_mask`); no site is placed outside it.
    settings : SiteSettings

    Returns
    -------
    Sites

    Raises
    ------
    ValueError
        When the peaks do not form a lattice of spacing ``a`` (fewer than ``min_domain_peaks``
        peaks with lattice neighbours).
    """
    a_px = float(lattice_constant_px)
    peaks = np.asarray(peaks, dtype=np.float64).reshape(-1, 2)
    if mask is not None:
        peaks = peaks[mask_at(mask, peaks)]
    orientation, centres, pairs, delta = _orient(peaks, a_px, settings)
    vectors, hand, side = _hands(image, peaks, orientation, centres, pairs, delta, a_px=a_px, settings=settings)
    label, domains = _domains(peaks, orientation, hand, side, n_orientations=len(centres), vectors=vectors, a_px=a_px,
                              settings=settings)
    lattices, positions, sublattice, domain = _place(image.shape, peaks, label, side, domains=domains, vectors=vectors,
                                                     centres=centres, a_px=a_px, settings=settings)
    positions, sublattice, domain, boundary = _own(positions, sublattice, domain, peaks=peaks, label=label,
                                                   domains=domains, mask=mask, shape=image.shape,
                                                   n_lattices=len(lattices), a_px=a_px, settings=settings)
    refined, has_peak = _refine(positions, peaks, settings.match_radius * nearest_neighbour_distance(a_px))
    return Sites(refined, sublattice.astype(int), domain.astype(int), has_peak, refined - positions, boundary,
                 tuple(lattices), peaks)


def _orient(peaks: np.ndarray, a_px: float, settings: SiteSettings):
    """Step 1: the lattice orientation of each peak (index into the clustered orientations, -1 where a peak has
    fewer than two lattice neighbours), from the pairs of peaks one lattice constant apart."""
    pairs, delta = translation_pairs(peaks, a_px) if len(peaks) > 1 else (np.zeros((0, 2), int), np.zeros((0, 2)))
    if len(pairs) < settings.min_domain_peaks:
        raise ValueError(
            f"no lattice found: {len(peaks)} intensity peaks, of which {len(pairs)} pairs lie one lattice constant "
            f"({a_px:.1f} px) apart; at least {settings.min_domain_peaks} are needed"
        )
    angle, count = _orientations(peaks, pairs, delta)
    # orientations are clustered over well-surrounded peaks: a peak with few neighbours (at an edge) has a noisy one
    centres = _orientation_clusters(angle, (count >= 4).astype(float) + 1e-3 * (count >= 2), settings.orientation_tolerance)
    orientation = np.argmin(np.abs(np.angle(np.exp(6j * (angle[:, None] - centres[None])))), axis=1)
    orientation[count < 2] = -1
    return orientation, centres, pairs, delta


def _hands(image, peaks, orientation, centres, pairs, delta, *, a_px: float, settings: SiteSettings):
    """Step 2: per orientation, its primitive vectors, and per peak the side of the hollow it lies on and the hand
    of its neighbourhood (the image's where the two sublattices are about equally bright)."""
    smooth = ndimage.gaussian_filter(image, 0.2 * nearest_neighbour_distance(a_px))
    vectors, hand, side = {}, np.zeros(len(peaks), int), np.zeros(len(peaks), int)
    for o, centre in enumerate(centres):
        chosen = orientation[pairs[:, 0]] == o
        if chosen.sum() < 3:
            continue
        try:
            vectors[o] = _primitive_vectors(delta[chosen], centre)
        except ValueError:  # a stray orientation of a few edge peaks: they join a domain below
            continue
        members = orientation == o
        side[members], vote = _peak_roles(smooth, peaks[members], *vectors[o])
        radius = settings.domain_radius * a_px
        total = _smoothed_sum(peaks[members], vote, image.shape, radius, a_px)
        weight = _smoothed_sum(peaks[members], np.abs(vote), image.shape, radius, a_px)
        decided = np.abs(total) > HAND_MARGIN * weight  # else the two sublattices are equally bright here
        hand[members] = np.where(decided, np.sign(total), np.sign(vote.sum()) or 1)
    return vectors, hand, side


def _domains(peaks, orientation, hand, side, *, n_orientations: int, vectors: dict, a_px: float,
             settings: SiteSettings):
    """Step 3: each peak's domain label (orientation x hand, smoothed by the neighbourhood majority) and the labels
    large enough to be domains, largest first; the peaks of smaller labels join the nearest domain within two a."""
    raw = np.where((orientation >= 0) & (hand != 0) & (side != 0), 2 * orientation + (hand > 0), -1)
    if not vectors or not np.any(raw >= 0):
        raise ValueError("no lattice found: no visible column has lattice neighbours in the expected directions")
    n_labels = 2 * n_orientations
    label = _majority(peaks, raw, settings.domain_radius * a_px, n_labels)
    counts = np.bincount(label[label >= 0], minlength=n_labels)
    domains = [k for k in np.argsort(counts)[::-1] if counts[k] >= settings.min_domain_peaks and k // 2 in vectors]
    if not domains:
        raise ValueError(
            f"no lattice found: the largest domain holds {counts.max()} columns, fewer than the "
            f"{settings.min_domain_peaks} needed"
        )
    kept = np.isin(label, domains)
    if (~kept).any():
        distance, nearest = cKDTree(peaks[kept]).query(peaks[~kept], distance_upper_bound=2 * a_px)
        label[~kept] = np.where(np.isfinite(distance), label[kept][np.minimum(nearest, kept.sum() - 1)], -1)
    return label, domains


def _place(shape, peaks, label, side, *, domains, vectors, centres, a_px: float, settings: SiteSettings):
    """Steps 4 and 5: per domain, its lattice fitted tile by tile to its peaks, and every site of both sublattices placed
    from the fits (duplicates of overlapping tiles merged)."""
    bond = nearest_neighbour_distance(a_px)
    lattices, candidates = [], []
    for d, k in enumerate(domains):
        a1, a2 = vectors[k // 2]
        lattice = DomainLattice(a1, a2, 1 if k % 2 else -1, float(np.degrees(centres[k // 2]) % 60))
        lattices.append(lattice)
        mine = (label == k) & (side != 0)
        # a peak on the side of the hollow where its domain's bright sites are is bright (the domain's hand,
        # not the peak's own, noisy one)
        bright = side[mine] == lattice.hand
        offsets = np.where(bright[:, None], 0.0, lattice.hand * BOND_FRACTION[None])
        centre = peaks[mine].mean(axis=0)
        origin = peaks[mine][np.argmin(np.hypot(*(peaks[mine] - centre).T) + 1e9 * ~bright)]  # bright, central
        fits, n_tiles = _tile_fits(peaks[mine], offsets, centre, shape, lattice.matrix, origin,
                                   settings.tile_cells * a_px, settings.match_radius * bond)
        positions, sub, rank = _tile_sites(fits, n_tiles, shape, lattice.hand, 0.5 * bond)
        keep, _ = _merge_duplicates(positions, rank, 0.5 * bond)
        candidates.append((positions[keep], sub[keep], np.full(keep.sum(), d)))
    positions, sublattice, domain = (np.concatenate([c[i] for c in candidates]) for i in range(3))
    return lattices, positions, sublattice, domain


def _own(positions, sublattice, domain, *, peaks, label, domains, mask, shape, n_lattices: int, a_px: float,
         settings: SiteSettings):
    """Step 5, continued: keep the sites on a pixel, inside the crystal and owned by their domain (at least half of the peaks
    around them are its), flag the boundary sites, and of two domains' sites on one spot keep the better owned."""
    bond = nearest_neighbour_distance(a_px)
    inside = np.all((positions >= -0.5) & (positions < np.array(shape) - 0.5), axis=1)  # on a pixel
    if mask is not None:
        inside &= mask_at(mask, positions)
    positions, sublattice, domain = positions[inside], sublattice[inside], domain[inside]
    domain_of_label = {k: d for d, k in enumerate(domains)}
    peak_domain = np.array([domain_of_label.get(k, -1) for k in label])
    labelled = peak_domain >= 0
    i, j = _neighbour_pairs(positions, peaks[labelled], 1.5 * a_px)
    near = np.bincount(i, minlength=len(positions))
    mine = np.bincount(i, weights=peak_domain[labelled][j] == domain[i], minlength=len(positions))
    purity = mine / np.maximum(near, 1)
    owned = (near > 0) & (purity >= 0.5)
    positions, sublattice, domain, purity = positions[owned], sublattice[owned], domain[owned], purity[owned]
    boundary = purity < settings.boundary_purity
    if n_lattices > 1:  # sites of two domains on top of each other: keep the better owned one, flag both
        keep, close = _merge_duplicates(positions, -purity, 0.5 * bond, group=domain)
        boundary[close.ravel()] = True
        positions, sublattice, domain, boundary = positions[keep], sublattice[keep], domain[keep], boundary[keep]
    return positions, sublattice, domain, boundary


def _refine(positions: np.ndarray, peaks: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Step 6: move each site to a visible peak within ``radius`` (pixels), else keep the prediction."""
    distance, nearest = cKDTree(peaks).query(positions, distance_upper_bound=radius)
    has_peak = np.isfinite(distance)
    refined = positions.copy()
    refined[has_peak] = peaks[nearest[has_peak]]
    return refined, has_peak
