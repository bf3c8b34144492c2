"""Scoring column classifications against reference labels (paper §6, Table 1, Fig. 6).

The reference is a table of labelled columns (the simulated truth of a test micrograph,
or the consensus of human annotators, :mod:`ctxlib.micrographs.labelling`); predictions are matched
to it by position. Agreement is Cohen's kappa over the five classes (unweighted: the
classes are nominal) and, for the rare classes that matter, the F1 of each defect class
(single vacancy, double vacancy, dopant) against everything else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ctxlib.learning.metrics import class_f1, cohen_kappa, defect_f1

#: The defect classes of Table 1, by label.
DEFECT_NAMES: dict[int, str] = {1: "single vacancy", 2: "double vacancy", 4: "dopant"}


@dataclass(frozen=True)
class Matched:
    """Predicted and reference labels of the columns found in both, and what was left over.

    Attributes
    ----------
    y_true, y_pred : numpy.ndarray of int
    pred_index, ref_index : numpy.ndarray of int
        Row of each matched pair in the predicted and in the reference table.
    missed : int
        Reference columns with no prediction within reach (not scored).
    spurious : int
        Predicted columns with no reference column within reach (not scored).
    """

    y_true: np.ndarray
    y_pred: np.ndarray
    pred_index: np.ndarray
    ref_index: np.ndarray
    missed: int
    spurious: int


def match_columns(predicted: pd.DataFrame, reference: pd.DataFrame, max_distance_px: float) -> Matched:
    """Pair each predicted column (``x``, ``y``, ``label``) with the nearest reference column
    (``col``, ``row``, ``label``) within ``max_distance_px``; each reference column is used once.

    Reference columns outside the region the prediction covers (e.g. at the border, where
    no full patch fits) count as ``missed``.
    """
    if max_distance_px <= 0:
        raise ValueError(f"max_distance_px must be positive, got {max_distance_px}")
    ref_xy = reference[["col", "row"]].to_numpy(dtype=np.float64)
    pred_xy = predicted[["x", "y"]].to_numpy(dtype=np.float64)
    distance, nearest = cKDTree(ref_xy).query(pred_xy, distance_upper_bound=max_distance_px)
    found = np.isfinite(distance)
    order = np.argsort(distance[found])  # closest pairs claim their reference column first
    pred_index, ref_index = np.flatnonzero(found)[order], nearest[found][order]
    _, first = np.unique(ref_index, return_index=True)
    pred_index, ref_index = pred_index[first], ref_index[first]
    return Matched(reference["label"].to_numpy()[ref_index].astype(int), predicted["label"].to_numpy()[pred_index].astype(int),
                   pred_index, ref_index, missed=len(reference) - len(ref_index), spurious=len(predicted) - len(pred_index))


def agreement(matched: Matched) -> dict[str, float]:
    """Cohen's kappa, the binary defect F1 and the F1 of each defect class of one matched set."""
    scores = {"kappa": cohen_kappa(matched.y_true, matched.y_pred), "defect F1": defect_f1(matched.y_true, matched.y_pred)}
    for label, name in DEFECT_NAMES.items():
        present = np.any(matched.y_true == label) or np.any(matched.y_pred == label)
        scores[f"F1 {name}"] = class_f1(matched.y_true, matched.y_pred, label) if present else np.nan
    return scores
