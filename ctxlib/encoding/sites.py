"""Lattice sites that left no intensity peak, put back from their neighbours (double vacancies).

In: the (row, col) positions of the columns found in an image and its lattice constant,
pixels. Out: the same positions with the missing sites of both sublattices added, and a
mask of the added ones, so that a double vacancy is classified like any other column.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ctxlib.encoding.columns import nearest_neighbour_distance, partition_sublattices


def bond_vectors(positions: np.ndarray, sublattice: np.ndarray, lattice_constant_px: float) -> dict[int, np.ndarray]:
    """The three nearest-neighbour vectors (row, col) from a column of each sublattice, pixels.

    The bond angle ``theta0`` (mod 60 degrees) is the circular mean of ``6 theta`` over all
    measured bonds; a column of one sublattice has its neighbours at ``theta0 + k 120``
    degrees, of the other at ``theta0 + 60 + k 120``, and the bond length is the median
    measured one, so moderate uniform strain is followed.
    """
    positions = np.asarray(positions, dtype=np.float64)
    pairs = cKDTree(positions).query_pairs(1.25 * nearest_neighbour_distance(lattice_constant_px), output_type="ndarray")
    if len(pairs) == 0:
        raise ValueError("no two columns lie within a nearest-neighbour distance of each other: no lattice")
    delta = positions[pairs[:, 1]] - positions[pairs[:, 0]]
    angle = np.arctan2(delta[:, 0], delta[:, 1])
    theta0 = np.angle(np.exp(6j * angle).sum()) / 6
    length = float(np.median(np.hypot(*delta.T)))
    # which sublattice owns the bonds at theta0 + k 120: cos(3 (theta - theta0)) > 0 seen from its columns
    owner = np.where(np.cos(3 * (angle - theta0)) > 0, sublattice[pairs[:, 0]], sublattice[pairs[:, 1]])
    forward = int(np.bincount(owner[owner >= 0], minlength=2).argmax())
    k = np.arange(3) * 2 * np.pi / 3 + theta0
    bonds = length * np.column_stack([np.sin(k), np.cos(k)])
    return {forward: bonds, 1 - forward: -bonds}


def fill_missing_sites(
    positions: np.ndarray, lattice_constant_px: float, shape: tuple[int, int], tolerance: float = 0.3,
    min_votes: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """Add the lattice sites that no column was found at (e.g. double vacancies).

    Every found column predicts its three neighbours; a predicted site with no found
    column within ``tolerance`` x the nearest-neighbour distance, inside the image, and
    predicted by at least ``min_votes`` columns is added at the mean of its predictions
    (local, so a site follows the displacements of its own neighbours).

    Returns
    -------
    positions, filled
        All positions (found first), and a boolean mask of the added ones.
    """
    positions = np.asarray(positions, dtype=np.float64)
    sublattice = partition_sublattices(positions, lattice_constant_px)
    bonds = bond_vectors(positions, sublattice, lattice_constant_px)
    radius = tolerance * nearest_neighbour_distance(lattice_constant_px)
    candidates = np.concatenate([(positions[sublattice == s][:, None, :] + bonds[s][None]).reshape(-1, 2) for s in (0, 1)])
    inside = np.all((candidates >= 0) & (candidates <= np.array(shape) - 1), axis=1)
    free = cKDTree(positions).query(candidates)[0] > radius
    candidates = candidates[inside & free]
    added = []
    if len(candidates):
        tree = cKDTree(candidates)
        unassigned = np.ones(len(candidates), dtype=bool)
        for i in range(len(candidates)):
            if not unassigned[i]:
                continue
            group = [j for j in tree.query_ball_point(candidates[i], radius) if unassigned[j]]
            unassigned[group] = False
            if len(group) >= min_votes:
                added.append(candidates[group].mean(axis=0))
    added = np.array(added).reshape(-1, 2)
    return np.vstack([positions, added]), np.r_[np.zeros(len(positions), bool), np.ones(len(added), bool)]
