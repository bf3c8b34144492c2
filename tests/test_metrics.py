"""Metrics against scikit-learn and SciPy, and against hand-computed cases."""

import numpy as np
import pytest
import sklearn.metrics as sk
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import entropy

from ctxlib.learning import metrics

labels = st.lists(st.integers(0, 4), min_size=2, max_size=200)


@given(labels, st.integers(0, 2**32 - 1))
def test_accuracy_confusion_kappa_f1_match_sklearn(y_true, seed):
    y_true = np.array(y_true)
    rng = np.random.default_rng(seed)
    y_pred = np.where(rng.random(len(y_true)) < 0.7, y_true, rng.integers(0, 5, len(y_true)))
    assert metrics.accuracy(y_true, y_pred) == pytest.approx(sk.accuracy_score(y_true, y_pred))
    assert np.array_equal(metrics.confusion_matrix(y_true, y_pred), sk.confusion_matrix(y_true, y_pred, labels=range(5)))
    if len(set(y_true) | set(y_pred)) > 1:
        assert metrics.cohen_kappa(y_true, y_pred) == pytest.approx(sk.cohen_kappa_score(y_true, y_pred), abs=1e-12)
    for k in (1, 2, 4):
        expected = sk.f1_score(y_true == k, y_pred == k, zero_division=0)
        assert metrics.class_f1(y_true, y_pred, k) == pytest.approx(expected)
    binary = sk.f1_score(np.isin(y_true, (1, 2, 4)), np.isin(y_pred, (1, 2, 4)), zero_division=0)
    assert metrics.defect_f1(y_true, y_pred) == pytest.approx(binary)


def test_entropy_matches_scipy_and_its_bounds():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(50, 5))
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert metrics.mean_entropy(proba) == pytest.approx(entropy(proba, axis=1).mean())
    assert metrics.mean_entropy(np.full((3, 5), 0.2)) == pytest.approx(np.log(5))  # 1.609 nats, the paper's maximum
    assert metrics.mean_entropy(np.eye(5)) == 0.0
    delta, fraction = metrics.entropy_reduction(0.628, 0.0375)  # the paper's numbers: 94 %
    assert delta == pytest.approx(0.5905) and fraction == pytest.approx(0.940, abs=1e-3)


def test_ece_hand_computed():
    # two bins used: 4 samples at confidence 0.9 (3 right), 2 at 0.6 (both wrong)
    proba = np.array([[0.9, 0.1]] * 4 + [[0.6, 0.4]] * 2)
    y = np.array([0, 0, 0, 1, 1, 1])
    expected = 4 / 6 * abs(0.75 - 0.9) + 2 / 6 * abs(0.0 - 0.6)
    assert metrics.expected_calibration_error(proba, y, n_bins=10) == pytest.approx(expected)
    table = metrics.reliability_table(proba, y, n_bins=10)
    assert table["count"].sum() == 6 and table.loc[8, "accuracy"] == 0.75  # 0.9 falls in (0.8, 0.9]
    perfect = np.eye(3)
    assert metrics.expected_calibration_error(perfect, np.arange(3)) == 0.0


def test_bic_hand_computed():
    assert metrics.bic(0.1, 1000, 50) == pytest.approx(2 * 1000 * 0.1 + 50 * np.log(1000))
    with pytest.raises(ValueError, match="n_samples > 0"):
        metrics.bic(0.1, 0, 5)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="y_true must be a 1-D array of non-negative integer labels"):
        metrics.accuracy(np.array([0.5, 1.0]), np.array([0, 1]))
    with pytest.raises(ValueError, match="rows must sum to 1"):
        metrics.mean_entropy(np.ones((2, 5)))
    with pytest.raises(ValueError, match="finite"):
        metrics.mean_entropy(np.full((2, 5), np.nan))


@given(st.integers(1, 100), st.integers(0, 2**32 - 1))
def test_mean_cross_entropy_matches_sklearn_log_loss(n, seed):
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.ones(5), n)
    y = rng.integers(0, 5, n)
    assert metrics.mean_cross_entropy(proba, y) == pytest.approx(sk.log_loss(y, proba, labels=range(5)), rel=1e-9)


@given(st.lists(st.booleans(), min_size=1, max_size=60), st.integers(0, 1000))
def test_selective_accuracy_keeps_the_most_confident_rows(correct, seed):
    """Against a direct count: the accuracy of the k most confident rows; with distinct confidences the curve is the
    accuracy of every prefix of the sorted rows, and it ends at the overall accuracy."""
    correct = np.array(correct)
    confidence = np.random.default_rng(seed).permutation(len(correct)).astype(float)
    curve = metrics.selective_accuracy(correct, confidence, coverages=np.arange(1, len(correct) + 1) / len(correct))
    order = np.argsort(-confidence)
    direct = [correct[order[:k]].mean() for k in range(1, len(correct) + 1)]
    assert np.allclose(curve["accuracy"], direct) and curve["kept"].tolist() == list(range(1, len(correct) + 1))
    assert curve["accuracy"].iloc[-1] == pytest.approx(correct.mean())


def test_selective_accuracy_rises_when_confidence_ranks_the_errors_last_and_bad_input_is_named():
    correct = np.r_[np.ones(90, bool), np.zeros(10, bool)]
    curve = metrics.selective_accuracy(correct, np.linspace(1, 0, 100))
    assert np.all(np.diff(curve["accuracy"]) >= 0) and curve["accuracy"].iloc[-1] == 1.0  # coverage falls
    assert curve["accuracy"].iloc[0] == 0.9
    with pytest.raises(ValueError, match="coverages must lie in"):
        metrics.selective_accuracy(correct, np.ones(100), coverages=[0.0])
    with pytest.raises(ValueError, match="one length"):
        metrics.selective_accuracy(correct, np.ones(3))


def test_bootstrap_interval_of_a_mean_matches_the_normal_interval():
    """For the share of successes in 2,000 Bernoulli(0.8) draws the percentile bootstrap and the normal interval
    p +- 1.96 sqrt(p (1 - p) / n) agree to a few thousandths."""
    x = np.random.default_rng(3).random(2000) < 0.8
    low, high = metrics.bootstrap_interval(np.mean, x, resamples=2000)
    p, half = x.mean(), 1.96 * np.sqrt(x.mean() * (1 - x.mean()) / len(x))
    assert low == pytest.approx(p - half, abs=0.004) and high == pytest.approx(p + half, abs=0.004)
    assert np.isnan(metrics.bootstrap_interval(lambda a: np.nan, x)[0])
