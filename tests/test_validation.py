"""Matching predictions to reference columns, and the agreement scores."""

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as sk

from ctxlib.micrographs.validation import agreement, match_columns


def test_matching_pairs_nearest_columns_once_and_counts_leftovers():
    reference = pd.DataFrame({"col": [10.0, 20.0, 30.0, 90.0], "row": [10.0, 10.0, 10.0, 90.0], "label": [0, 1, 4, 3]})
    predicted = pd.DataFrame({"x": [10.4, 19.6, 20.5, 30.2, 50.0], "y": [10.0, 10.3, 10.0, 9.9, 50.0],
                              "label": [0, 1, 2, 3, 0]})
    matched = match_columns(predicted, reference, max_distance_px=2)
    assert sorted(zip(matched.y_true, matched.y_pred)) == [(0, 0), (1, 1), (4, 3)]
    assert matched.missed == 1 and matched.spurious == 2  # (90, 90) unseen; the far one and the second claimant
    with pytest.raises(ValueError, match="max_distance_px must be positive"):
        match_columns(predicted, reference, 0)


def test_agreement_matches_sklearn():
    rng = np.random.default_rng(0)
    y_true = rng.choice(5, 400, p=[0.6, 0.05, 0.05, 0.25, 0.05])
    y_pred = np.where(rng.random(400) < 0.9, y_true, rng.integers(0, 5, 400))
    ref = pd.DataFrame({"col": np.arange(400.0) * 10, "row": 0.0, "label": y_true})
    pred = pd.DataFrame({"x": np.arange(400.0) * 10, "y": 0.0, "label": y_pred})
    scores = agreement(match_columns(pred, ref, 1))
    assert scores["kappa"] == pytest.approx(sk.cohen_kappa_score(y_true, y_pred))
    assert scores["F1 dopant"] == pytest.approx(sk.f1_score(y_true == 4, y_pred == 4))
    assert scores["defect F1"] == pytest.approx(sk.f1_score(np.isin(y_true, (1, 2, 4)), np.isin(y_pred, (1, 2, 4))))
    no_dopants = agreement(match_columns(pred[y_true != 4][y_pred[y_true != 4] != 4], ref, 1))
    assert np.isnan(no_dopants["F1 dopant"])


def test_stand_ins_are_scored_in_each_detector_and_averaged():
    """Each stand-in is scored in both detectors, and the means are those of the runs."""
    from ctxlib.learning.pretrained import load_models
    from ctxlib.micrographs.validation import score_standins, standin_means
    from ctxlib.simulation.standins import load_test_micrograph

    micrographs = {"Ti": load_test_micrograph("Ti")}
    checkpoints = load_models(names=("MLP-Simple",))
    runs = list(score_standins(micrographs, checkpoints, modes=("frozen",)))
    assert [(dopant, detector) for dopant, detector, _ in runs] == [("Ti", "HAADF"), ("Ti", "MAADF")]
    kappas = [scores.table.set_index("model").loc["MLP-Simple", "kappa"] for _, _, scores in runs]
    assert standin_means(micrographs, checkpoints).loc[("MLP-Simple", "-"), "kappa"] == pytest.approx(np.mean(kappas))
    assert min(kappas) > 0.9
