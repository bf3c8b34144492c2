"""Predictions, scores and the batch dependence of the paper's attention."""

import numpy as np
import pandas as pd
import pytest
import scipy.special
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ctxlib.learning.evaluation import (accuracies, accuracy_by_part, batch_dependence, batch_dependence_table,
                                        bic_table, confident_shares, confusion_matrices, entropy_by_class, entropy_cut,
                                        models_logits, predict_logits, predict_proba, predictions_by_part,
                                        reliability_tables, score_table, softmax)
from ctxlib.learning.metrics import accuracy, mean_entropy, reliability_table
from ctxlib.learning.training import TrainingConfig, batches, train


@given(arrays(np.float64, st.tuples(st.integers(1, 20), st.just(5)), elements=st.floats(-300, 300)))
def test_softmax_matches_scipy(logits):
    assert np.allclose(softmax(logits), scipy.special.softmax(logits, axis=1), rtol=1e-12, atol=1e-300)


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 1500)
    X = rng.normal(0, 1.0, (1500, 31)).astype(np.float32)
    X[np.arange(1500), 23 + y] += 1.5
    models = {name: train(TrainingConfig(name, epochs=4, batch_size=100), lambda r: batches(X, y, 100, r),
                          progress=False)[0] for name in ("MLP-Simple", "attn-4k")}
    return models, X, y


def test_mlp_predictions_do_not_depend_on_batching(trained):
    models, X, _ = trained
    a = predict_logits(models["MLP-Simple"], "MLP-Simple", X, batch_size=7, seed=0)
    b = predict_logits(models["MLP-Simple"], "MLP-Simple", X, batch_size=1000, seed=3)
    assert np.allclose(a, b, atol=1e-5)


def test_attention_in_batch_mode_depends_on_batching_and_frozen_mode_does_not(trained):
    models, X, _ = trained
    model = models["attn-4k"]
    a = predict_logits(model, "attn-4k", X, batch_size=100, seed=0)
    b = predict_logits(model, "attn-4k", X, batch_size=100, seed=1)
    assert not np.allclose(a, b, atol=1e-3)
    model.set_attention_mode("frozen")
    try:
        a = predict_logits(model, "attn-4k", X, batch_size=100, seed=0)
        b = predict_logits(model, "attn-4k", X, batch_size=1, seed=1)
    finally:
        model.set_attention_mode("batch")
    assert np.allclose(a, b, atol=1e-4)


def test_batch_dependence_table(trained):
    models, X, y = trained
    groups = np.arange(len(y)) % 3
    table = batch_dependence(models["attn-4k"], "attn-4k", X, y, groups, batch_sizes=(10, 1500), reference_batch=100)
    assert list(table["batches"]) == ["random", "random, other seed", "random", "random", "one context each", "random"]
    assert list(table["mode"]) == ["batch"] * 5 + ["frozen"]
    reference = table.iloc[0]
    assert reference["changed"] == 0 and reference["mean_shift"] == 0
    assert table["changed"].between(0, 1).all() and (table["mean_shift"] >= 0).all()
    assert table.iloc[1]["mean_shift"] > 0  # other batch mates, other predictions
    assert models["attn-4k"].attention_mode == "batch"  # restored


def test_score_table_agrees_with_the_metrics(trained):
    models, X, y = trained
    p = predict_proba(models["MLP-Simple"], "MLP-Simple", X)
    table = score_table({"MLP-Simple": p}, y)
    assert table.loc["MLP-Simple", "accuracy"] == accuracy(y, p.argmax(axis=1))
    assert table.loc["MLP-Simple", "entropy_nats"] == pytest.approx(mean_entropy(p))
    with pytest.raises(ValueError, match="batch_size must be a positive number of rows, got 0"):
        predict_logits(models["MLP-Simple"], "MLP-Simple", X, batch_size=0)
    assert torch.is_grad_enabled()


def _probabilities(n=400, seed=0):
    """Two models' class probabilities (rows of a Dirichlet draw) and labels."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 5, n)
    return {"a": rng.dirichlet(np.ones(5), n), "b": rng.dirichlet(np.full(5, 0.2), n)}, y


def test_accuracies_and_accuracy_by_part_agree_with_scikit_learn():
    from sklearn.metrics import accuracy_score

    train, y_train = _probabilities(300, seed=1)
    test, y_test = _probabilities(120, seed=2)
    assert accuracies(test, y_test) == {n: accuracy_score(y_test, p.argmax(axis=1)) for n, p in test.items()}
    table = accuracy_by_part({"train": train, "test": test}, {"train": y_train, "test": y_test})
    assert list(table.columns) == ["train", "test"] and list(table.index) == ["a", "b"]
    for part, (probabilities, y) in {"train": (train, y_train), "test": (test, y_test)}.items():
        for name, p in probabilities.items():
            assert table.loc[name, part] == accuracy_score(y, p.argmax(axis=1))


def test_predictions_by_part_is_part_predictions_part_by_part(trained, monkeypatch):
    import ctxlib.learning.evaluation as evaluation

    models, X, y = trained
    parts = {"train": np.arange(0, 1000), "test": np.arange(1000, 1500)}
    meta = {part: pd.DataFrame({"row": rows}) for part, rows in parts.items()}
    monkeypatch.setattr(evaluation, "load_features",
                        lambda folder, *, split, part, seed: (X[parts[part]], y[parts[part]], meta[part]))
    probabilities, labels, metas = predictions_by_part(models, {"MLP-Simple": 50, "attn-4k": 100}, "features", seed=3)
    assert list(probabilities) == list(labels) == list(metas) == ["train", "test"]
    for part, rows in parts.items():
        assert np.array_equal(labels[part], y[rows]) and metas[part] is meta[part]
        for name, model in models.items():
            expected = predict_proba(model, name, X[rows], batch_size={"MLP-Simple": 50, "attn-4k": 100}[name], seed=3)
            assert np.array_equal(probabilities[part][name], expected)


def test_confusion_matrices_agree_with_scikit_learn_in_the_order_asked():
    from sklearn.metrics import confusion_matrix as sklearn_confusion

    probabilities, y = _probabilities()
    matrices = confusion_matrices(probabilities, y, models=("b", "a"))
    assert list(matrices) == ["b", "a"] and list(confusion_matrices(probabilities, y)) == ["a", "b"]
    for name, matrix in matrices.items():
        assert np.array_equal(matrix, sklearn_confusion(y, probabilities[name].argmax(axis=1), labels=range(5)))


def test_reliability_tables_and_confident_shares_per_model():
    probabilities, y = _probabilities()
    tables = reliability_tables(probabilities, y, n_bins=10)
    assert list(tables) == ["a", "b"]
    assert all(tables[n].equals(reliability_table(p, y, n_bins=10)) for n, p in probabilities.items())
    p = np.array([[0.995, 0.005, 0, 0, 0], [0.5, 0.5, 0, 0, 0], [0, 0.2, 0.8, 0, 0], [0, 0, 0, 0, 1.0]])
    assert confident_shares({"m": p}) == {"m": 0.5}  # rows 1 and 4 above 0.99
    assert confident_shares({"m": p}, threshold=0.7) == {"m": 0.75}


@pytest.mark.filterwarnings("ignore:Mean of empty slice", "ignore:invalid value encountered")
def test_entropy_by_class_agrees_with_scipy():
    import scipy.stats

    probabilities, y = _probabilities()
    y[y == 3] = 0  # class 3 has no rows
    table = entropy_by_class(probabilities, y, class_names=("c0", "c1", "c2", "c3", "c4"))
    assert list(table.index) == ["c0", "c1", "c2", "c3", "c4"] and list(table.columns) == ["a", "b"]
    for name, p in probabilities.items():
        for k in (0, 1, 2, 4):
            assert table.loc[f"c{k}", name] == pytest.approx(scipy.stats.entropy(p[y == k], axis=1).mean(), rel=1e-12)
        assert np.isnan(table.loc["c3", name])


def test_bic_table_agrees_with_a_hand_computation_from_scikit_learns_log_loss():
    from sklearn.metrics import log_loss

    rng = np.random.default_rng(4)  # no probability near 0, where log_loss and the BIC would clip differently
    y = rng.integers(0, 5, 400)
    probabilities = {"a": rng.dirichlet(np.full(5, 3.0), 400), "b": rng.dirichlet(np.full(5, 8.0), 400)}
    parameters = {"a": 10, "b": 1000}
    table = bic_table(probabilities, y, parameters)
    n = len(y)
    expected = {name: 2 * n * log_loss(y, p, labels=range(5)) + parameters[name] * np.log(n)
                for name, p in probabilities.items()}
    assert list(table.index) == ["a", "b"] and (table["N"] == n).all() and table["k"].tolist() == [10, 1000]
    for name, value in expected.items():
        assert table.loc[name, "BIC"] == pytest.approx(value, rel=1e-9)
        assert table.loc[name, "ΔBIC to best"] == pytest.approx(value - min(expected.values()), rel=1e-9, abs=1e-9)
        assert table.loc[name, "k ln N / BIC"] == pytest.approx(parameters[name] * np.log(n) / value, rel=1e-9)


def test_entropy_cut_averages_the_context_models_present():
    entropy = {"MLP-NoContext": 0.8, "MLP-Simple": 0.1, "MLP-Deep": 0.3, "attn-4k": 0.2, "attn-200k": 0.4,
               "attn-400k": 0.5, "something else": 9.0}
    cut = entropy_cut(entropy)
    assert cut.models == ("MLP-Simple", "MLP-Deep", "attn-4k", "attn-200k", "attn-400k")
    assert cut.with_context == pytest.approx(0.3) and (cut.lowest, cut.highest) == (0.1, 0.5)
    assert cut.without_context == 0.8 and cut.reduction == pytest.approx((0.8 - 0.3) / 0.8)
    partial = entropy_cut(pd.Series({"attn-4k": 0.2, "MLP-NoContext": 0.4, "MLP-Deep": 0.1}))
    assert partial.models == ("MLP-Deep", "attn-4k") and partial.with_context == pytest.approx(0.15)
    assert partial.reduction == pytest.approx(0.625)
    nothing = entropy_cut({})
    assert nothing.models == () and np.isnan(nothing.with_context) and np.isnan(nothing.reduction)
    assert np.isnan(entropy_cut({"MLP-Simple": 0.1}).reduction)


def test_models_logits_batch_all_rows_and_keep_the_asked_ones(trained):
    models, X, _ = trained
    rows = np.array([3, 17, 800, 1499])
    kept = models_logits(models, X, batch_sizes={"MLP-Simple": 64, "attn-4k": 100}, rows=rows, seed=2)
    everything = models_logits(models, X, batch_sizes={"MLP-Simple": 64, "attn-4k": 100}, seed=2)
    assert list(kept) == list(models)
    for name, model in models.items():
        full = predict_logits(model, name, X, batch_size={"MLP-Simple": 64, "attn-4k": 100}[name], seed=2)
        assert np.array_equal(everything[name], full) and np.array_equal(kept[name], full[rows])
    # in batch mode the kept rows keep the batch mates of the whole set, not those of the kept rows alone
    alone = predict_logits(models["attn-4k"], "attn-4k", X[rows], batch_size=100, seed=2)
    assert not np.allclose(kept["attn-4k"], alone, atol=1e-4)


def test_batch_dependence_table_stacks_each_models_batch_dependence(trained):
    models, X, y = trained
    groups = np.arange(len(y)) % 3
    table = batch_dependence_table(models, X, y, groups, batch_sizes=(10,), reference_batches={"attn-4k": 100},
                                   names=("attn-4k",), seed=1)
    alone = batch_dependence(models["attn-4k"], "attn-4k", X, y, groups, batch_sizes=(10,), reference_batch=100, seed=1)
    assert table.index.names == ["model", None] and list(table.index.get_level_values(0)) == ["attn-4k"] * len(alone)
    pd.testing.assert_frame_equal(table.loc["attn-4k"], alone)
