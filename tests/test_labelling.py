"""The labelling tool's logic, without a display: clicks, saving, majority vote, agreement."""

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as sk

from ctxlib.micrographs.labelling import LabellingSession, labelling_widget, majority_vote, pairwise_kappa

POSITIONS = np.array([[10.0, 10.0], [20.0, 10.0], [30.0, 12.0], [40.0, 40.0]])


def test_clicks_label_the_nearest_column_and_sessions_resume(tmp_path):
    session = LabellingSession(POSITIONS, "ada")
    assert session.label_at(19, 11, "VacX", max_distance=3) == 1
    session.label(3, 4)
    assert session.next_unlabelled() == 0 and session.next_unlabelled(3) == 0
    with pytest.raises(ValueError, match="no column within 3 px"):
        session.label_at(70, 70, 0, max_distance=3)
    with pytest.raises(ValueError, match="class 'Vacancy' is unknown; allowed: X2, VacX, VacX2, M, D"):
        session.label(0, "Vacancy")
    with pytest.raises(ValueError, match="label 7 is not one of 0-4"):
        session.label(0, 7)
    resumed = LabellingSession.load(session.save(tmp_path / "ada.csv"))
    assert resumed.annotator == "ada" and list(resumed.labels) == [-1, 1, -1, 4]


def _table(name, labels):
    session = LabellingSession(POSITIONS, name)
    for i, label in enumerate(labels):
        if label >= 0:
            session.label(i, label)
    return session.table()


def test_majority_vote_and_pairwise_kappa():
    a, b, c = _table("a", [0, 1, 2, 3]), _table("b", [0, 1, 4, 3]), _table("c", [0, 2, 3, -1])
    consensus = majority_vote([a, b, c])
    assert list(consensus["label"]) == [0, 1, -1, 3]  # column 2: three different labels, no majority
    assert list(consensus["agreed"]) == [True, True, False, True]
    kappa = pairwise_kappa([a, b, c]).set_index(["annotator A", "annotator B"])
    assert kappa.loc[("a", "b"), "kappa"] == pytest.approx(sk.cohen_kappa_score([0, 1, 2, 3], [0, 1, 4, 3]))
    assert kappa.loc[("a", "c"), "columns"] == 3
    with pytest.raises(ValueError, match="at least two annotators"):
        majority_vote([a])


def test_widget_saves_on_every_click(tmp_path):
    session = LabellingSession(POSITIONS, "ada")
    box = labelling_widget(np.random.default_rng(0).random((60, 60)), session, tmp_path / "ada.csv")
    buttons = box.children[1].children
    buttons[3].click()  # "M" for the first column
    assert list(pd.read_csv(tmp_path / "ada.csv")["label"]) == [3, -1, -1, -1]
    buttons[0].click()
    assert list(session.labels) == [3, 0, -1, -1] and "2 labelled" in box.children[2].value
