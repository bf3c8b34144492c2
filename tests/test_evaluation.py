"""Predictions, scores and the batch dependence of the paper's attention."""

import numpy as np
import pytest
import scipy.special
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ctxlib.learning.evaluation import batch_dependence, predict_logits, predict_proba, score_table, softmax
from ctxlib.learning.metrics import accuracy, mean_entropy
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
