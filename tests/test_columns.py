import numpy as np
import pytest
from conftest import honeycomb_sites, render
from hypothesis import given, settings
from hypothesis import strategies as st

from ctxlib.encoding.columns import BRIGHT, DIM, find_columns, partition_sublattices, site_flags


def match(found: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Distance from each true site to the nearest found column."""
    return np.min(np.linalg.norm(truth[:, None] - found[None], axis=2), axis=1)


def test_subpixel_positions(wse2_like):
    pixel = wse2_like["pixel"]
    found = find_columns(wse2_like["image"], wse2_like["a"] / pixel)
    for sites in (wse2_like["metal"], wse2_like["chalcogen"]):
        rc = sites[:, ::-1] / pixel  # (x, y) Angstrom -> (row, col) pixels
        interior = np.all((rc > 10) & (rc < 190), axis=1)  # the smoothing's reach from the edge
        assert match(found, rc[interior]).max() < 0.02  # pixels


@settings(max_examples=10, deadline=None)
@given(st.floats(0, 2 * np.pi), st.floats(0.3, 3.0))
def test_partition_follows_geometry_not_brightness(angle, ratio):
    pixel, a = 0.15, 3.3
    metal, chalcogen = honeycomb_sites(a, 120 * pixel, angle)
    positions = np.vstack([metal, chalcogen])[:, ::-1] / pixel
    truth = np.r_[np.zeros(len(metal)), np.ones(len(chalcogen))]
    labels = partition_sublattices(positions, a / pixel)
    assigned = labels >= 0  # a corner site whose neighbours were cut off is left unassigned
    assert assigned.mean() > 0.95 and set(labels[assigned]) == {0, 1}
    agreement = np.mean(labels[assigned] == truth[assigned])
    assert agreement in (0.0, 1.0)


def test_isolated_column_is_unassigned():
    positions = np.array([[0.0, 0.0], [0.0, 10.0], [100.0, 100.0]])
    labels = partition_sublattices(positions, 10 * np.sqrt(3))
    assert labels[2] == -1 and labels[0] != labels[1]
    assert site_flags(labels, np.array([1.0, 2.0, 3.0]))[2].tolist() == [0.0, 0.0]


def test_no_lattice_in_columns():
    with pytest.raises(ValueError, match="no lattice"):
        partition_sublattices(np.array([[0.0, 0.0], [50.0, 50.0]]), 10.0)


def test_brighter_group_gets_1_0():
    labels = np.array([0, 0, 1, 1])
    flags = site_flags(labels, np.array([1.0, 1.2, 3.0, 2.8]))
    assert flags.tolist() == [list(DIM), list(DIM), list(BRIGHT), list(BRIGHT)]
    flags = site_flags(labels, np.array([3.0, 3.2, 1.0, 0.8]))
    assert flags.tolist() == [list(BRIGHT), list(BRIGHT), list(DIM), list(DIM)]


def test_reversed_contrast_reverses_flags(wse2_like):
    """Fig. S2's point: the flag follows brightness, so swapping which sublattice is bright swaps the flags."""
    pixel, a = wse2_like["pixel"], wse2_like["a"]
    metal, chalcogen = wse2_like["metal"], wse2_like["chalcogen"]
    flags = []
    for weights in ([1.0, 0.6], [0.6, 1.0]):
        image = render([metal, chalcogen], weights, 200, pixel)
        positions = find_columns(image, a / pixel)
        labels = partition_sublattices(positions, a / pixel)
        intensity = image[tuple(np.rint(positions).astype(int).T)]
        probe = np.argmin(np.linalg.norm(positions - metal[0, ::-1] / pixel, axis=1))
        flags.append(site_flags(labels, intensity)[probe].tolist())
    assert flags == [list(BRIGHT), list(DIM)]


def test_tiny_lattice_is_rejected(wse2_like):
    with pytest.raises(ValueError, match="too small"):
        find_columns(wse2_like["image"], 1.5)
