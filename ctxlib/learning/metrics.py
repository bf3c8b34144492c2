"""Classification metrics of paper §5-6 and Supplement S2-S3.

Labels are integers 0..K-1 (K = 5: X2, single vacancy, double vacancy, M, D);
probabilities are (N, K) rows that sum to 1. Functions are small and pure; the tests
check them against scikit-learn where it has the metric and against hand-computed
cases where it does not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Defect classes of §6 (single vacancy, double vacancy, dopant); 0 and 3 are regular sites.
DEFECT_CLASSES: tuple[int, ...] = (1, 2, 4)


def _labels(y, name: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer) or (y.size and y.min() < 0):
        raise ValueError(f"{name} must be a 1-D array of non-negative integer labels, got dtype {y.dtype}, shape {y.shape}")
    return y


def _probabilities(proba) -> np.ndarray:
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or not np.all(np.isfinite(proba)) or np.any(proba < 0):
        raise ValueError("probabilities must be a finite, non-negative (N, K) array")
    if not np.allclose(proba.sum(axis=1), 1, atol=1e-5):
        raise ValueError("probability rows must sum to 1 (apply softmax to logits first)")
    return proba


def accuracy(y_true, y_pred) -> float:
    """Fraction of correct predictions."""
    y_true, y_pred = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    return float(np.mean(y_true == y_pred))


def confusion_matrix(y_true, y_pred, *, n_classes: int = 5) -> np.ndarray:
    """Counts, rows = true class, columns = predicted class."""
    y_true, y_pred = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    return np.bincount(n_classes * y_true + y_pred, minlength=n_classes**2).reshape(n_classes, n_classes)


def row_entropy(proba) -> np.ndarray:
    """Posterior entropy of each row, nats (Supplement eq. 6): -sum_k p log p, with 0 log 0 = 0."""
    p = _probabilities(proba)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    return -terms.sum(axis=1)


def mean_entropy(proba) -> float:
    """Mean posterior entropy, nats (Supplement eqs. 6-7): the mean of :func:`row_entropy`."""
    return float(row_entropy(proba).mean())


def mean_cross_entropy(proba, y_true) -> float:
    """Mean negative log-likelihood of the true classes, nats (the L of the BIC; scikit-learn's log_loss)."""
    p = _probabilities(proba)
    y_true = _labels(y_true, "y_true")
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y_true)), y_true], np.finfo(float).tiny, None))))


def entropy_reduction(without_context: float, with_context: float) -> tuple[float, float]:
    """(Delta H in nats, fractional reduction) between two mean entropies (Supplement eq. 8)."""
    return without_context - with_context, (without_context - with_context) / without_context


def reliability_table(proba, y_true, *, n_bins: int = 15) -> pd.DataFrame:
    """Equal-width confidence bins: count, mean confidence and accuracy of the top-1 prediction per bin."""
    p = _probabilities(proba)
    y_true = _labels(y_true, "y_true")
    confidence, predicted = p.max(axis=1), p.argmax(axis=1)
    edges = np.linspace(0, 1, n_bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    count = np.bincount(index, minlength=n_bins)
    total_confidence = np.bincount(index, weights=confidence, minlength=n_bins)
    total_correct = np.bincount(index, weights=(predicted == y_true).astype(float), minlength=n_bins)
    with np.errstate(invalid="ignore"):
        return pd.DataFrame({"low": edges[:-1], "high": edges[1:], "count": count,
                             "confidence": total_confidence / count, "accuracy": total_correct / count})


def expected_calibration_error(proba, y_true, *, n_bins: int = 15) -> float:
    """ECE: sum over bins of (bin share) x |accuracy - mean confidence| (Guo et al. 2017)."""
    table = reliability_table(proba, y_true, n_bins=n_bins)
    used = table["count"] > 0
    weights = table.loc[used, "count"] / table["count"].sum()
    return float((weights * (table.loc[used, "accuracy"] - table.loc[used, "confidence"]).abs()).sum())


def bic(mean_cross_entropy: float, n_samples: int, n_parameters: int) -> float:
    """Bayesian information criterion from the mean cross-entropy (nats): 2 N L + k ln N (Supplement S3)."""
    if n_samples <= 0 or n_parameters < 0:
        raise ValueError(f"need n_samples > 0 and n_parameters >= 0, got {n_samples}, {n_parameters}")
    return 2 * n_samples * mean_cross_entropy + n_parameters * np.log(n_samples)


def cohen_kappa(a, b, *, n_classes: int = 5) -> float:
    """Unweighted Cohen's kappa between two labelings: (p_o - p_e) / (1 - p_e)."""
    table = confusion_matrix(a, b, n_classes=n_classes).astype(float)
    n = table.sum()
    observed = np.trace(table) / n
    expected = (table.sum(axis=0) * table.sum(axis=1)).sum() / n**2
    return 1.0 if expected == 1 else float((observed - expected) / (1 - expected))


def class_f1(y_true, y_pred, positive: int) -> float:
    """F1 of one class against all others (§6: per defect class); 0 when the class never occurs nor is predicted."""
    y_true, y_pred = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    tp = np.sum((y_true == positive) & (y_pred == positive))
    fp = np.sum((y_true != positive) & (y_pred == positive))
    fn = np.sum((y_true == positive) & (y_pred != positive))
    return 0.0 if tp == 0 else float(2 * tp / (2 * tp + fp + fn))


def defect_f1(y_true, y_pred, *, defects: tuple[int, ...] = DEFECT_CLASSES) -> float:
    """F1 of the binary recast of §6: defect (single, double vacancy, dopant) against regular site."""
    y_true, y_pred = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    return class_f1(np.isin(y_true, defects).astype(int), np.isin(y_pred, defects).astype(int), 1)


def selective_accuracy(correct, confidence, *, coverages=None) -> pd.DataFrame:
    """Accuracy on the rows kept when the least confident are set aside (the accuracy-coverage curve).

    Parameters
    ----------
    correct : array of bool, (N,)
        Whether each row's prediction is right.
    confidence : array, (N,)
        Higher for rows to keep first (ties keep their order).
    coverages : array, optional
        Shares of rows kept, in (0, 1]; default 1.0, 0.99, ..., 0.50.

    Returns
    -------
    pandas.DataFrame
        ``coverage``, ``kept`` (rows), ``accuracy`` (share right among the kept rows) and
        ``set aside`` (1 - coverage).

    Examples
    --------
    >>> selective_accuracy([True, False, True, True], [0.9, 0.1, 0.8, 0.7], coverages=[1.0, 0.75])["accuracy"].tolist()
    [0.75, 1.0]
    """
    correct = np.asarray(correct, dtype=bool)
    confidence = np.asarray(confidence, dtype=np.float64)
    if correct.shape != confidence.shape or correct.ndim != 1 or not len(correct):
        raise ValueError(f"correct and confidence must be 1-D of one length > 0, got {correct.shape} and "
                         f"{confidence.shape}")
    coverages = np.linspace(1.0, 0.5, 51) if coverages is None else np.asarray(coverages, dtype=np.float64)
    if np.any((coverages <= 0) | (coverages > 1)):
        raise ValueError(f"coverages must lie in (0, 1], got {coverages.min()}-{coverages.max()}")
    ranked = correct[np.argsort(-confidence, kind="stable")]
    right = np.cumsum(ranked)
    kept = np.maximum(1, np.round(coverages * len(ranked)).astype(int))
    return pd.DataFrame({"coverage": kept / len(ranked), "kept": kept, "accuracy": right[kept - 1] / kept,
                         "set aside": 1 - kept / len(ranked)})


def bootstrap_interval(statistic, *arrays, resamples: int = 1000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic(*arrays)`` over rows resampled with replacement.

    Parameters
    ----------
    statistic : callable
        Of the resampled arrays (same row order in each), returning a number.
    *arrays : array-like, each (N, ...)
    resamples : int
    level : float
        Coverage of the interval, e.g. 0.95.
    seed : int

    Returns
    -------
    (float, float)
        The interval's ends (NaN where the statistic is NaN in most resamples).
    """
    arrays = [np.asarray(a) for a in arrays]
    n = len(arrays[0])
    if not n or any(len(a) != n for a in arrays):
        raise ValueError(f"arrays must have one length > 0, got {[len(a) for a in arrays]}")
    rng = np.random.default_rng(seed)
    values = np.array([statistic(*(a[rows] for a in arrays)) for rows in rng.integers(0, n, size=(resamples, n))])
    tail = (1 - level) / 2 * 100
    finite = values[np.isfinite(values)]
    if len(finite) < resamples / 2:
        return float("nan"), float("nan")
    return float(np.percentile(finite, tail)), float(np.percentile(finite, 100 - tail))
