"""Classifying every atomic column of a micrograph (paper §6): image -> per-column class.

:func:`classify_image` chains the §3 encoder (:func:`ctxlib.features.encode_image`:
lattice constant from the autocorrelation, columns, sublattices and site flags,
normalised patches, Zernike moments, context) with a trained model. Columns that leave
no intensity peak, a double vacancy above all, are put back by
:func:`fill_missing_sites` from the positions their neighbours predict, so they are
classified too. Columns too close to the border for a full patch are listed, not
classified.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from .columns import nearest_neighbour_distance, partition_sublattices
from .metrics import row_entropy
from .motifs import CLASS_NAMES


class UntrainedContextWarning(UserWarning):
    """The stated imaging context is not one the models were trained on."""


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


@dataclass(frozen=True)
class Classification:
    """Result of :func:`classify_image`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per classified column: ``x``, ``y`` (pixels; x = column index, y = row
        index), ``sublattice``, ``filled`` (True for a site put back by
        :func:`fill_missing_sites`), ``class`` (name), ``label`` (0-4), one probability
        column per class (``p_X2`` ...), and ``entropy`` (nats).
    border : numpy.ndarray, (B, 2)
        (row, col) of columns too close to the edge for a full patch (not classified).
    model : str
    in_training_set : bool
        Whether the stated context is one of the 576 the models were trained on.
    """

    table: pd.DataFrame
    border: np.ndarray
    model: str
    in_training_set: bool


def classification_table(encoding_table: pd.DataFrame, probabilities: np.ndarray) -> pd.DataFrame:
    """The per-column output table from an encoding's table and the model's probabilities."""
    p = np.asarray(probabilities)
    table = pd.DataFrame({"x": encoding_table["col"].to_numpy(), "y": encoding_table["row"].to_numpy(),
                          "sublattice": encoding_table["sublattice"].to_numpy(),
                          "filled": encoding_table["filled"].to_numpy(),
                          "class": np.array(CLASS_NAMES)[p.argmax(axis=1)], "label": p.argmax(axis=1)})
    for k, name in enumerate(CLASS_NAMES):
        table[f"p_{name}"] = p[:, k]
    table["entropy"] = row_entropy(p)
    return table


def classify_image(
    image: np.ndarray, host: str, dopant: str | None, detector: str, energy_kev: int, model: str = "MLP-Simple",
    pixel_size: float | None = None, weights_dir=None,
) -> Classification:
    """Classify every atomic column of a micrograph with a trained model.

    Parameters
    ----------
    image : numpy.ndarray, 2-D
        HAADF or MAADF micrograph of a 1H MX2 monolayer (no NaN or infinity).
    host, dopant, detector, energy_kev
        The imaging context (``dopant=None`` for an undoped host: the dopant block of the
        context is then zero, a context the models never saw in training).
    model : str
        One of :data:`ctxlib.models.MODEL_NAMES` except MLP-NoContext.
    pixel_size : float, optional
        Angstrom per pixel; when given, the measured lattice constant must match the host's.
    weights_dir : path, optional
        Trained models: the shipped ``data/weights`` (default) or a training checkpoint
        folder (:func:`ctxlib.pretrained.load_models`); attention models run in the
        batch-independent ``"frozen"`` mode.
    """
    from .catalog import doped_hosts
    from .evaluation import predict_proba
    from .features import encode_image
    from .pretrained import WEIGHTS, load_models

    encoding = encode_image(image, host, dopant, detector, energy_kev, pixel_size, fill_missing=True)
    checkpoint = load_models(weights_dir or WEIGHTS, (model,), attention_mode="frozen")[model]
    probabilities = predict_proba(checkpoint.model, model, encoding.features)
    seen = (host, dopant) in doped_hosts()
    if not seen:
        warnings.warn(f"{host} with dopant {dopant} is not one of the 96 doped hosts the models were trained on; "
                      "treat the classes as a guess and check them against the image", UntrainedContextWarning,
                      stacklevel=2)
    return Classification(classification_table(encoding.table, probabilities), encoding.border, model, seen)
