import numpy as np
import pytest
from conftest import honeycomb_sites, render

from ctxlib.encoding.columns import BRIGHT, DIM, find_columns, site_flags, translation_pairs


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


def test_translation_pairs_join_one_sublattice_only(wse2_like):
    """The pair window takes the lattice translation a, not the bond a/sqrt(3) nor the second neighbour 2a/sqrt(3)."""
    a_px = wse2_like["a"] / wse2_like["pixel"]
    metal = wse2_like["metal"][:, ::-1] / wse2_like["pixel"]
    chalcogen = wse2_like["chalcogen"][:, ::-1] / wse2_like["pixel"]
    pairs, vectors = translation_pairs(np.vstack([metal, chalcogen]), a_px)
    side = np.r_[np.zeros(len(metal)), np.ones(len(chalcogen))]
    assert len(pairs) > 0 and np.all(side[pairs[:, 0]] == side[pairs[:, 1]])
    np.testing.assert_allclose(np.hypot(*vectors.T), a_px, rtol=1e-9)
    assert translation_pairs(np.array([[0.0, 0.0], [50.0, 50.0]]), 10.0)[0].shape == (0, 2)


def test_brighter_group_gets_1_0():
    labels = np.array([0, 0, 1, 1])
    flags = site_flags(labels, np.array([1.0, 1.2, 3.0, 2.8]))
    assert flags.tolist() == [list(DIM), list(DIM), list(BRIGHT), list(BRIGHT)]
    flags = site_flags(labels, np.array([3.0, 3.2, 1.0, 0.8]))
    assert flags.tolist() == [list(BRIGHT), list(BRIGHT), list(DIM), list(DIM)]


def test_tiny_lattice_is_rejected(wse2_like):
    with pytest.raises(ValueError, match="too small"):
        find_columns(wse2_like["image"], 1.5)
