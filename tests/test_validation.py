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
    # the encoding settings reach the scoring: another patch size gives other patches of the same columns
    from ctxlib.encoding.features import EncodingSettings

    other = list(score_standins(micrographs, checkpoints, modes=("frozen",), settings=EncodingSettings(patch_size=24)))
    assert other[0][2].encoding.patches.shape[1:] == (24, 24) != runs[0][2].encoding.patches.shape[1:]


def _micrograph(labels, regions=None, *, shape=(2, 6, 8), pixel=(0.2, 0.3), dopant="Ti"):
    """A tiny TestMicrograph whose truth columns sit 20 pixels apart along a row."""
    from ctxlib.materials.motifs import CLASS_NAMES
    from ctxlib.simulation.standins import TestMicrograph

    labels = np.asarray(labels)
    truth = pd.DataFrame({"col": 20.0 * np.arange(len(labels)), "row": 5.0, "label": labels,
                          "region": np.zeros(len(labels), int) if regions is None else regions})
    truth["class"] = np.array(CLASS_NAMES)[labels]
    return TestMicrograph(dopant, np.zeros(shape, np.float32), np.zeros(shape), pixel, truth)


def test_the_test_micrographs_are_described_by_size_and_class_counts():
    from ctxlib.micrographs.validation import describe_test_micrographs

    table = describe_test_micrographs({"Ti": _micrograph([0, 0, 3, 4, 1]), "V": _micrograph([2, 3], shape=(2, 5, 9))})
    assert table.index.tolist() == ["WSe2 + Ti", "WSe2 + V"] and table.index.name == "micrograph"
    assert table["pixels"].tolist() == ["6x8", "5x9"] and table["pixel (A)"].tolist() == [0.25, 0.25]
    assert table.loc["WSe2 + Ti", ["X2", "VacX", "VacX2", "M", "D"]].tolist() == [2, 1, 0, 1, 1]
    assert table.loc["WSe2 + V", ["X2", "VacX", "VacX2", "M", "D"]].tolist() == [0, 0, 1, 1, 0]
    assert describe_test_micrographs({"Ti": _micrograph([0])}, host="MoS2").index.tolist() == ["MoS2 + Ti"]


def test_the_hard_cases_are_described_with_their_settings_and_regions():
    from ctxlib.micrographs.validation import describe_hard_cases
    from ctxlib.simulation.standins import HARD_CASES

    regions = {name: np.arange(k + 3) % 3 for k, name in enumerate(HARD_CASES)}
    table = describe_hard_cases({name: _micrograph(np.zeros(len(r), int), r) for name, r in regions.items()})
    assert table.index.tolist() == list(HARD_CASES)
    for name, r in regions.items():
        case = HARD_CASES[name]
        assert table.loc[name, ["host", "energy (keV)", "dopant"]].tolist() == [case.field.host, case.field.energy_kev,
                                                                               case.dopant]
        assert table.loc[name, "dose (e/A^2)"] == case.degradation.dose and table.loc[name, "columns"] == len(r)
        counts = np.bincount(r, minlength=3).tolist()
        assert table.loc[name, ["bulk", "domain boundary", "hole edge"]].tolist() == counts


def _scores(kappas: dict, sites: dict):
    """ModelScores with only a table of kappas per (model, mode) and the site scores."""
    from ctxlib.micrographs.validation import ModelScores

    table = pd.DataFrame({"model": [m for m, _ in kappas], "mode": [mode for _, mode in kappas],
                          "kappa": list(kappas.values())})
    return ModelScores(table, {}, None, sites)


def test_runs_are_collected_into_one_table_named_by_image_and_detector():
    from ctxlib.micrographs.validation import collect_scores

    a = _scores({("m1", "-"): 0.5, ("m2", "frozen"): 0.7}, {"found (all)": 1.0, "spurious": 2})
    b = _scores({("m1", "-"): 0.9, ("m2", "frozen"): 0.1}, {"found (all)": 0.5, "spurious": 0})
    collected = collect_scores([("twin", "HAADF", a), ("hole", "MAADF", b)], key="case")
    expected = pd.DataFrame({"case": ["twin", "twin", "hole", "hole"], "detector": ["HAADF"] * 2 + ["MAADF"] * 2,
                             "model": ["m1", "m2", "m1", "m2"], "mode": ["-", "frozen", "-", "frozen"],
                             "kappa": [0.5, 0.7, 0.9, 0.1]})
    pd.testing.assert_frame_equal(collected.table, expected)
    assert collected.scores == {("twin", "HAADF"): a, ("hole", "MAADF"): b}
    assert collected.sites.index.tolist() == [("twin", "HAADF"), ("hole", "MAADF")]
    assert collected.sites["found (all)"].tolist() == [1.0, 0.5] and collected.sites["spurious"].tolist() == [2, 0]


def test_detector_means_average_each_score_per_model_and_detector():
    from ctxlib.micrographs.validation import detector_means

    runs = pd.DataFrame({"model": ["b", "b", "b", "b", "a", "a"], "detector": ["HAADF", "HAADF", "MAADF", "MAADF",
                                                                              "HAADF", "MAADF"],
                         "kappa": [0.2, 0.4, 1.0, 0.0, 0.9, 0.8], "F1 dopant": [1.0, 0.0, 0.5, 0.5, 0.25, np.nan]})
    means = detector_means(runs, metrics=("kappa", "F1 dopant"), models=["b", "a"])
    assert means.columns.tolist() == ["kappa HAADF", "kappa MAADF", "F1 dopant HAADF", "F1 dopant MAADF"]
    assert means.index.tolist() == ["b", "a"]
    np.testing.assert_allclose(means.loc["b"].to_numpy(), [0.3, 0.5, 0.5, 0.5])
    np.testing.assert_allclose(means.loc["a"].to_numpy(), [0.9, 0.8, 0.25, np.nan])
    assert detector_means(runs, metrics=("kappa",)).index.tolist() == ["a", "b"]


def test_patches_are_grouped_by_the_true_class_of_their_column():
    from ctxlib.micrographs.validation import Matched, patches_by_class

    patches = np.arange(6)[:, None, None] * np.ones((6, 2, 2))
    matched = Matched(np.array([0, 3, 0, 1]), np.array([0, 3, 1, 1]), np.array([5, 2, 0, 4]), np.arange(4), 0, 0)
    groups = patches_by_class(patches, matched)
    assert list(groups) == ["X2", "VacX", "VacX2", "M", "D"]
    assert [groups[name][:, 0, 0].tolist() for name in groups] == [[5, 0], [4], [], [2], []]
    assert list(patches_by_class(patches, matched, exclude=("D", "VacX2"))) == ["X2", "VacX", "M"]


def test_sublattice_brightness_averages_the_matched_metal_and_x2_columns():
    from types import SimpleNamespace

    from ctxlib.micrographs.validation import ModelScores, sublattice_brightness

    micrograph = _micrograph([0, 3, 4, 1, 3])  # columns at x = 0, 20, ..., 80 pixels; within reach of 2 pixels
    predicted = pd.DataFrame({"x": [0.5, 20.0, 40.0, 61.0, 80.0, 100.0], "y": 5.0, "label": [0, 3, 4, 0, 3, 0]})
    intensity = np.array([1.0, 3.0, 5.0, 2.0, 4.0, 9.0])  # the last column matches no true one
    table = pd.DataFrame({"model": ["MLP-Simple", "MLP-Deep"], "mode": ["-", "-"], "kappa": [0.6, 0.1]})
    scores = ModelScores(table, {("MLP-Simple", "-"): predicted},
                         SimpleNamespace(table=pd.DataFrame({"centre_intensity": intensity})), {})
    result = sublattice_brightness({("hole", "HAADF"): scores}, {"hole": micrograph})
    assert result.index.tolist() == [("hole", "HAADF")]
    assert result.loc[("hole", "HAADF")].tolist() == [np.mean([3.0, 5.0, 4.0]), np.mean([1.0, 2.0]), 0.6]
    assert result.columns.tolist() == ["metal", "X2", "kappa (MLP-Simple)"]


def test_an_encoded_image_is_scored_by_each_model_over_every_matched_column():
    from ctxlib.encoding.columns import nearest_neighbour_distance
    from ctxlib.encoding.features import encode_image
    from ctxlib.learning.evaluation import predict_proba
    from ctxlib.learning.pretrained import load_models
    from ctxlib.materials.catalog import HOSTS
    from ctxlib.materials.imaging import ImagingContext
    from ctxlib.micrographs.validation import score_encoding
    from ctxlib.simulation.standins import load_test_micrograph

    micrograph = load_test_micrograph("Ti")
    pixel = float(np.mean(micrograph.pixel_size))
    encoding = encode_image(micrograph.image("HAADF"), ImagingContext("WSe2", "Ti"), pixel_size=pixel)
    checkpoints = load_models(names=("MLP-Simple",))
    scores, classified = score_encoding(encoding, micrograph.truth, checkpoints,
                                        0.4 * nearest_neighbour_distance(HOSTS["WSe2"].a) / pixel)
    table, matched = classified["MLP-Simple"]
    labels = predict_proba(checkpoints["MLP-Simple"].model, "MLP-Simple", encoding.features).argmax(axis=1)
    assert np.array_equal(table["label"], labels) and len(matched.y_true) > 300
    assert np.array_equal(matched.y_true, micrograph.truth["label"].to_numpy()[matched.ref_index])
    row = scores.loc["MLP-Simple"]
    assert row["kappa"] == pytest.approx(sk.cohen_kappa_score(matched.y_true, labels[matched.pred_index]))
    assert row["columns called dopant"] == (labels == 4).sum() and scores.dtypes.eq(float).all()


def test_hard_cases_are_scored_in_their_own_context():
    from ctxlib.learning.pretrained import load_models
    from ctxlib.micrographs.validation import collect_scores, score_hard_cases, score_standins
    from ctxlib.simulation.standins import load_hard_case

    micrographs = {"dim-sulfide": load_hard_case("dim-sulfide")}  # MoS2 + V at 60 keV
    checkpoints = load_models(names=("MLP-Simple",))
    collected = collect_scores(score_hard_cases(micrographs, checkpoints, modes=("frozen",)), key="case")
    direct = list(score_standins({"V": micrographs["dim-sulfide"]}, checkpoints, host="MoS2", energy_kev=60))
    assert list(collected.scores) == [("dim-sulfide", "HAADF"), ("dim-sulfide", "MAADF")]
    for (_, detector, scores), run in zip(direct, collected.scores.values()):
        pd.testing.assert_frame_equal(run.table, scores.table)
        assert run.sites == scores.sites
    assert collected.table["case"].eq("dim-sulfide").all() and collected.table.columns[:2].tolist() == ["case",
                                                                                                       "detector"]


def test_columns_of_several_hosts_and_of_the_hard_cases_are_classified_in_their_context(monkeypatch):
    import ctxlib.micrographs.validation as validation
    from ctxlib.simulation.standins import HARD_CASES

    calls = []

    def fake(micrographs, *, host="WSe2", energy_kev=80, weights_dir=None, trust=None):
        calls.append((tuple(micrographs), host, energy_kev, weights_dir))
        return pd.DataFrame({"image": [next(iter(micrographs))] * 2, "true": [0, 1]})

    monkeypatch.setattr(validation, "trusted_columns", fake)
    by_host = validation.trusted_columns_by_host({"WSe2": {"Ti": None, "V": None}, "WS2": {"Co": None}},
                                                 weights_dir="w")
    assert calls == [(("Ti", "V"), "WSe2", 80, "w"), (("Co",), "WS2", 80, "w")]
    assert by_host.index.names == ["host", "row"] and by_host.index.tolist()[:3] == [("WSe2", 0), ("WSe2", 1),
                                                                                     ("WS2", 0)]
    calls.clear()
    hard = validation.hard_case_columns(dict.fromkeys(HARD_CASES))
    assert calls == [((name,), case.field.host, case.field.energy_kev, None) for name, case in HARD_CASES.items()]
    assert hard.index.names == ["case", "row"] and hard.loc["twin", "image"].tolist() == ["twin", "twin"]


def test_defect_f1_intervals_by_host_are_those_of_each_hosts_rows():
    from ctxlib.micrographs.validation import defect_f1_intervals, defect_f1_intervals_by

    rng = np.random.default_rng(3)
    true = rng.choice(5, 300, p=[0.5, 0.1, 0.1, 0.2, 0.1])
    vote = np.where(rng.random(300) < 0.85, true, rng.integers(0, 5, 300))
    index = pd.MultiIndex.from_arrays([np.repeat(["WSe2", "MoSe2"], 150), np.arange(300)], names=["host", "row"])
    columns = pd.DataFrame({"true": true, "vote": vote}, index=index)
    table = defect_f1_intervals_by(columns, "host", resamples=50, seed=1)
    assert table.index.get_level_values(0).unique().tolist() == ["MoSe2", "WSe2"]  # sorted, as groupby gives them
    for host, rows in (("WSe2", slice(0, 150)), ("MoSe2", slice(150, 300))):
        t, v = true[rows], vote[rows]
        assert table.loc[(host, "dopant"), "F1"] == pytest.approx(sk.f1_score(t == 4, v == 4))
        assert table.loc[(host, "single vacancy"), "true columns"] == (t == 1).sum()
        pd.testing.assert_frame_equal(table.loc[host], defect_f1_intervals(columns.loc[host], resamples=50, seed=1))


def test_effect_scores_score_the_stand_ins_with_each_effect_and_miss_nothing():
    from ctxlib.micrographs.validation import effect_scores
    from ctxlib.simulation.standins import load_test_micrograph

    scores = effect_scores({"WSe2": {"Ti": load_test_micrograph("Ti")}}, effects=("none", "8-bit export"),
                           resamples=50)
    assert list(scores.index) == ["none", "8-bit export"]
    assert (scores["found"] > 0.95).all() and (scores["accuracy"] > 0.95).all()
    assert (scores["dopant 95 % low"] <= scores["dopant F1"]).all()
    assert (scores["dopant F1"] <= scores["dopant 95 % high"]).all()


def test_defect_f1_scores_the_vote_or_the_baseline_and_names_a_bad_choice():
    from ctxlib.micrographs.validation import defect_f1_intervals, trusted_columns
    from ctxlib.simulation.standins import load_test_micrograph

    columns = trusted_columns({"Ti": load_test_micrograph("Ti")})
    assert set(columns["baseline"]) <= {0, 1, 2, 3, 4}
    baseline = defect_f1_intervals(columns, predicted="baseline", resamples=50)
    assert (baseline["F1"] > 0.9).all()
    with pytest.raises(ValueError, match="predicted must be 'vote' or 'baseline', got 'truth'"):
        defect_f1_intervals(columns, predicted="truth")
