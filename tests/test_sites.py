"""The lattice model finds every site against known truth: dim sublattices, strain, grains, holes, non-square pixels."""

import numpy as np
import pytest
from conftest import honeycomb_sites, render
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage
from scipy.spatial import cKDTree

from ctxlib.base.intensity import IntensityNormaliser
from ctxlib.encoding.columns import BRIGHT, DIM, find_columns
from ctxlib.encoding.features import encode_image, locate_sites, resample_rows
from ctxlib.encoding.mask import crystal_mask
from ctxlib.encoding.sites import SiteSettings, find_sites
from ctxlib.materials.imaging import ImagingContext

PIXEL, A, SHAPE = 0.15, 3.16, 260


def _image(metal, chalcogen, weights=(1.0, 0.7), sigma=0.35, dose=50.0, seed=0):
    image = render([metal, chalcogen], list(weights), SHAPE, PIXEL, sigma)
    return np.random.default_rng(seed).poisson(image * dose + 2).astype(float)


def _score(sites, metal, chalcogen):
    """Share of the true sites inside the image that were found, and sublattice agreement (either naming)."""
    inside = [s[np.all((s / PIXEL >= 0) & (s / PIXEL <= SHAPE - 1), axis=1)][:, ::-1] / PIXEL for s in (metal, chalcogen)]
    truth = np.vstack(inside)
    kind = np.r_[np.zeros(len(inside[0])), np.ones(len(inside[1]))]
    distance, nearest = cKDTree(sites.positions).query(truth)
    found = distance < 0.4 * A / np.sqrt(3) / PIXEL
    same = np.mean(sites.sublattice[nearest[found]] == kind[found])
    every = np.vstack([metal, chalcogen])[:, ::-1] / PIXEL  # a site just outside the image may be found just inside
    spurious = np.sum(cKDTree(every).query(sites.positions)[0] >= 0.4 * A / np.sqrt(3) / PIXEL)
    return found.mean(), max(same, 1 - same), spurious


def test_a_dim_sublattice_that_makes_no_peak_is_placed_by_the_model():
    """S2 at 0.45 of Mo and blurred: peak picking sees the metal only; the model places every S2 site."""
    metal, chalcogen = honeycomb_sites(A, SHAPE * PIXEL)
    image = _image(metal, chalcogen, (1.0, 0.45), sigma=0.55)
    a_px = A / PIXEL
    peaks = find_columns(IntensityNormaliser().fit_transform(image), a_px)
    s_sites = chalcogen[:, ::-1] / PIXEL
    assert np.mean(cKDTree(peaks).query(s_sites)[0] < 1.0) < 0.05  # no S2 peaks to speak of
    _, sites, _, _ = locate_sites(image)
    found, same, spurious = _score(sites, metal, chalcogen)
    assert found == 1.0 and same == 1.0 and spurious == 0
    assert sites.has_peak[sites.sublattice == 1].mean() < 0.1  # the S2 sites were placed, not found
    assert sites.has_peak[sites.sublattice == 0].mean() > 0.9  # edge columns make no full peak


@settings(max_examples=6, deadline=None)
@given(st.floats(0, np.pi / 3), st.sampled_from([(1.0, 0.7), (0.6, 1.0), (1.0, 0.4)]))
def test_every_site_is_found_at_any_orientation_and_contrast(angle, weights):
    metal, chalcogen = honeycomb_sites(A, SHAPE * PIXEL, angle)
    _, sites, _, _ = locate_sites(_image(metal, chalcogen, weights, sigma=0.45))
    found, same, spurious = _score(sites, metal, chalcogen)
    assert found == 1.0 and same == 1.0 and spurious == 0
    # sublattice 0 is the bright one, whichever species that is
    bright = 0 if weights[0] > weights[1] else 1
    true_bright = (metal, chalcogen)[bright][:, ::-1] / PIXEL
    _, nearest = cKDTree(sites.positions).query(true_bright[np.all((true_bright > 5) & (true_bright < SHAPE - 5), axis=1)])
    assert np.all(sites.sublattice[nearest] == 0)


def test_a_strain_gradient_is_followed_by_the_local_fit():
    """Strain rising from 0 to 4 % across the field: one global lattice would drift by a third of a cell."""
    metal, chalcogen = honeycomb_sites(A, SHAPE * PIXEL)
    extent = SHAPE * PIXEL

    def strain(xy):  # x -> x (1 + 0.02 x / extent): local strain 0 at the left, 4 % at the right
        return np.column_stack([xy[:, 0] * (1 + 0.02 * xy[:, 0] / extent), xy[:, 1]])

    metal, chalcogen = strain(metal), strain(chalcogen)
    _, sites, _, _ = locate_sites(_image(metal, chalcogen))
    found, same, spurious = _score(sites, metal, chalcogen)
    assert found == 1.0 and same == 1.0 and spurious == 0
    assert np.abs(sites.shift[sites.has_peak]).max() < 0.35 * A / np.sqrt(3) / PIXEL


def test_two_grains_across_a_mirror_twin_boundary_get_one_lattice_each():
    """Right half with metal and X2 exchanged: two domains of opposite hand, the boundary flagged."""
    metal, chalcogen = honeycomb_sites(A, SHAPE * PIXEL)
    centre = SHAPE * PIXEL / 2
    left_m, right_m = metal[metal[:, 0] < centre], metal[metal[:, 0] >= centre]
    left_x, right_x = chalcogen[chalcogen[:, 0] < centre], chalcogen[chalcogen[:, 0] >= centre]
    new_metal, new_chalcogen = np.vstack([left_m, right_x]), np.vstack([left_x, right_m])
    _, sites, _, _ = locate_sites(_image(new_metal, new_chalcogen, (1.0, 0.45), sigma=0.5))
    assert len(sites.lattices) == 2 and {lat.hand for lat in sites.lattices} == {-1, 1}
    found, _, _ = _score(sites, new_metal, new_chalcogen)
    assert found == 1.0
    away = np.abs(sites.positions[:, 1] - centre / PIXEL) > A / PIXEL
    _, same_away, _ = _score(type(sites)(sites.positions[away], sites.sublattice[away], sites.domain[away],
                                         sites.has_peak[away], sites.shift[away], sites.boundary[away], sites.lattices,
                                         sites.peaks), new_metal, new_chalcogen)
    assert same_away == 1.0  # one naming for both grains: sublattice 0 is the metal in each
    assert sites.boundary.any() and np.all(np.abs(sites.positions[sites.boundary, 1] - centre / PIXEL) < 2.5 * A / PIXEL)


def test_a_hole_gets_no_sites_and_the_crystal_around_it_keeps_all():
    metal, chalcogen = honeycomb_sites(A, SHAPE * PIXEL)
    centre, radius = np.array([SHAPE * PIXEL / 2] * 2), 8.0
    metal = metal[np.hypot(*(metal - centre).T) > radius]
    chalcogen = chalcogen[np.hypot(*(chalcogen - centre).T) > radius]
    _, sites, mask, _ = locate_sites(_image(metal, chalcogen))
    found, same, spurious = _score(sites, metal, chalcogen)
    assert found == 1.0 and same == 1.0
    in_hole = np.hypot(*(sites.positions * PIXEL - centre[::-1]).T) < radius - 1.5
    assert not in_hole.any() and spurious <= 20  # a few sites on the rim, where the hole edge cuts a column
    assert not mask[tuple((centre[::-1] / PIXEL).astype(int))]


_VACUUM_SHAPES = {  # (x, y) Angstrom -> True in vacuum, on the 39 A square of SHAPE x PIXEL
    "half": lambda x, y: x > 19.5,
    "hole": lambda x, y: np.hypot(x - 19.5, y - 19.5) < 9.0,
    "strip": lambda x, y: np.abs(y - 19.5) < 5.0,
}


@pytest.mark.parametrize("shape", list(_VACUUM_SHAPES))
@pytest.mark.parametrize("dose, background", [(5.0, 2.0), (5.0, 3.0), (8.0, 3.0)])
def test_low_dose_vacuum_with_a_few_counts_of_noise_gets_no_sites(shape, dose, background):
    """Columns of ``dose`` counts at their peak on ``background`` counts of shot noise a pixel, beside vacuum of the
    same noise: at these doses the noise maxima in vacuum form translation pairs, so periodicity alone called 50-100 %
    of a half-vacuum image's vacuum crystal; the lattice contrast keeps the mask to the crystal (all but < 1 % of the
    vacuum farther than one lattice constant from the crystal, the reach of its edge columns), no site lies there, and
    every crystal site is found."""
    vacuum = _VACUUM_SHAPES[shape]
    metal, chalcogen = (s[~vacuum(*s.T)] for s in honeycomb_sites(A, SHAPE * PIXEL))
    image = render([metal, chalcogen], [1.0, 0.7], SHAPE, PIXEL, 0.35)
    _, sites, mask, _ = locate_sites(np.random.default_rng(0).poisson(image * dose + background).astype(float))
    y, x = (np.mgrid[:SHAPE, :SHAPE] + 0.0) * PIXEL
    deep = vacuum(x, y) & ~ndimage.binary_dilation(~vacuum(x, y), iterations=int(A / PIXEL))
    assert mask[deep].mean() < 0.01  # without the lattice contrast: 0.5-1 for the half image
    assert not deep[tuple(np.clip(np.rint(sites.positions).astype(int), 0, SHAPE - 1).T)].any()
    found, same, _ = _score(sites, metal, chalcogen)
    assert found > 0.97 and same == 1.0


def test_vacuum_and_lattice_free_images_are_refused_with_the_share_found():
    metal, chalcogen = honeycomb_sites(A, SHAPE * PIXEL)
    keep = [s[(s[:, 0] < 2.5 * A) & (s[:, 1] < 2.5 * A)] for s in (metal, chalcogen)]  # a corner of crystal
    image = _image(*keep)
    peaks = find_columns(IntensityNormaliser().fit_transform(image), A / PIXEL)
    with pytest.raises(ValueError, match=r"mostly not crystal: \d+\.\d% of it"):
        crystal_mask(image.shape, peaks, A / PIXEL)
    with pytest.raises(ValueError, match="no lattice found"):
        find_sites(image, A / PIXEL, np.array([[10.0, 10.0], [100.0, 120.0]]))
    with pytest.raises(ValueError, match="match_radius"):
        SiteSettings(match_radius=2.0)


def test_a_non_square_pixel_is_measured_and_corrected():
    """Rows 5 % longer than columns (slow-scan drift): measured from the lattice, resampled, sites in the original pixels."""
    metal, chalcogen = honeycomb_sites(A, SHAPE * PIXEL)
    square = render([metal, chalcogen], [1.0, 0.7], SHAPE, PIXEL)
    stretched = resample_rows(square, 1 / 1.05)  # each row now spans 1.05 pixel sizes
    encoding = encode_image(stretched, ImagingContext("MoS2", "V", detector="HAADF", energy_kev=80))
    assert encoding.calibration.resampled and encoding.calibration.aspect == pytest.approx(1.05, abs=0.005)
    assert encoding.calibration.source == "host lattice"
    assert encoding.calibration.pixel_size == pytest.approx(PIXEL, rel=0.01)
    truth = np.vstack([metal, chalcogen])[:, ::-1] / PIXEL / [1.05, 1.0]
    truth = truth[np.all((truth >= 8) & (truth <= np.array(stretched.shape) - 9), axis=1)]  # peaks cut by the edge shift
    distance = cKDTree(encoding.table[["row", "col"]].to_numpy()).query(truth)[0]
    assert np.quantile(distance, 0.99) < 0.3  # pixels of the stretched image


def test_edge_columns_get_reflected_patches_and_the_flags_follow_brightness(wse2_like):
    flags = []
    for weights in ([1.0, 0.6], [0.6, 1.0]):
        image = render([wse2_like["metal"], wse2_like["chalcogen"]], weights, 200, wse2_like["pixel"])
        encoding = encode_image(image, ImagingContext("WSe2", "Ti", detector="HAADF", energy_kev=80),
                                pixel_size=wse2_like["pixel"])
        table = encoding.table
        assert table["edge"].any() and not table["edge"].all()
        probe = np.argmin(np.hypot(table["row"] - wse2_like["metal"][40, 1] / wse2_like["pixel"],
                                   table["col"] - wse2_like["metal"][40, 0] / wse2_like["pixel"]))
        flags.append(table.loc[probe, ["site:bright", "site:dim"]].tolist())
    assert flags == [list(BRIGHT), list(DIM)]


def test_no_pixel_size_and_a_host_outside_the_catalog_is_an_error(wse2_like):
    context = ImagingContext("NbTe2", "Ti", detector="HAADF", energy_kev=80)  # a valid context, not a catalog host
    with pytest.raises(ValueError, match="no pixel size for this image and host 'NbTe2' is not in the catalog"):
        encode_image(wse2_like["image"], context)
    assert encode_image(wse2_like["image"], context, pixel_size=0.15).calibration.source == "stated"


def test_equally_bright_sublattices_on_a_sheared_scan():
    """Sublattices within 3 % of each other and a 3 % drift shear: the sites are placed, whichever is called bright.

    (Equal brightness once split one lattice into several orientation 'domains' and put a sublattice on the hollows.)
    """
    metal, chalcogen = honeycomb_sites(A, SHAPE * PIXEL)

    def shear(xy):
        return np.column_stack([xy[:, 0] + 0.03 * xy[:, 1], xy[:, 1]])

    metal, chalcogen = shear(metal), shear(chalcogen)
    _, sites, _, _ = locate_sites(_image(metal, chalcogen, (1.0, 0.97), sigma=0.5, dose=20.0))
    found, same, spurious = _score(sites, metal, chalcogen)
    assert len(sites.lattices) == 1 and found == 1.0 and same == 1.0 and spurious == 0
