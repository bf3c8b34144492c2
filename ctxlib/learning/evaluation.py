"""Predictions of trained models and their scores (paper §5: Table 1, Figs. 5d-e, S15-S16).

The paper's feature-feature attention computes its d x d attention matrix over the
samples of a batch, so in its own mode (``"batch"``) a prediction depends on the other
rows it is batched with and on the batch size. :func:`predict_logits` therefore batches
rows in a seeded random order, as a shuffled test loader would, at a batch size the
caller chooses (the training batch size reproduces the paper's evaluation);
:func:`batch_dependence` measures how far predictions move with the batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ctxlib.learning.reading import load_features
from ctxlib.learning.metrics import (accuracy, bic, confusion_matrix, entropy_reduction, expected_calibration_error,
                                     mean_cross_entropy, mean_entropy, reliability_table)
from ctxlib.learning.models import attention_mode
from ctxlib.learning.spec import ATTENTION_MODELS, CONTEXT_MODELS, N_CLASSES
from ctxlib.learning.training import model_inputs, torch_threads
from ctxlib.materials.motifs import CLASS_NAMES


@torch.no_grad()
def _logits_of_batches(model: torch.nn.Module, name: str, X: np.ndarray, index_batches) -> np.ndarray:
    """Logits in input order; one torch thread, as in training (see :func:`ctxlib.learning.training.train`)."""
    model.eval()
    logits = np.zeros((len(X), N_CLASSES), dtype=np.float32)
    with torch_threads(1):
        for index in index_batches:
            logits[index] = model(model_inputs(name, X[index])).numpy()
    return logits


def _random_batches(n: int, batch_size: int, seed: int) -> list[np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return [order[start:start + batch_size] for start in range(0, n, batch_size)]


def predict_logits(model: torch.nn.Module, name: str, X: np.ndarray, *, batch_size: int = 65536,
                   seed: int = 0) -> np.ndarray:
    """Logits (N, 5) of a trained model, in input order.

    Rows are batched in a seeded random order of ``batch_size`` rows; this matters only for
    an attention model in ``"batch"`` mode (see the module docstring).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive number of rows, got {batch_size}")
    return _logits_of_batches(model, name, X, _random_batches(len(X), batch_size, seed))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Class probabilities from logits, row by row (numerically stable)."""
    z = np.asarray(logits, dtype=np.float64)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def predict_proba(model: torch.nn.Module, name: str, X: np.ndarray, *, batch_size: int = 65536,
                  seed: int = 0) -> np.ndarray:
    """Class probabilities (N, 5) of a trained model (:func:`predict_logits`, then softmax)."""
    return softmax(predict_logits(model, name, X, batch_size=batch_size, seed=seed))


def part_predictions(
    models: dict[str, torch.nn.Module], batch_sizes: dict[str, int], features_dir, *, part: str = "test",
    split: str = "random", seed: int = 0,
) -> tuple[dict[str, np.ndarray], np.ndarray, pd.DataFrame]:
    """Class probabilities of every model on one part of a split of the feature files.

    Attention models are evaluated in whatever mode they are in, batched at
    ``batch_sizes[model]`` rows (their training batch size gives the paper's evaluation).

    Returns
    -------
    probabilities, y, meta
        ``{model: (N, 5) array}``, the labels and the per-row metadata of
        :func:`ctxlib.learning.reading.load_features`.
    """

    X, y, meta = load_features(features_dir, split=split, part=part, seed=seed)
    probabilities = {name: predict_proba(model, name, X, batch_size=batch_sizes[name], seed=seed)
                     for name, model in models.items()}
    return probabilities, y, meta


def score_table(probabilities: dict[str, np.ndarray], y: np.ndarray, *, n_bins: int = 15) -> pd.DataFrame:
    """Accuracy, mean posterior entropy (nats) and ECE of each model's probabilities on labels ``y``."""
    rows = {name: {"accuracy": accuracy(y, p.argmax(axis=1)), "entropy_nats": mean_entropy(p),
                   "ece": expected_calibration_error(p, y, n_bins=n_bins)} for name, p in probabilities.items()}
    return pd.DataFrame(rows).T.rename_axis("model")


def predictions_by_part(
    models: dict[str, torch.nn.Module], batch_sizes: dict[str, int], features_dir, *,
    parts: tuple[str, ...] = ("train", "test"), split: str = "random", seed: int = 0,
) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, np.ndarray], dict[str, pd.DataFrame]]:
    """:func:`part_predictions` of every model on each of several parts of a split, part by part.

    Parameters
    ----------
    models : dict
        Model name -> trained model (attention models evaluated in whatever mode they are in).
    batch_sizes : dict
        Model name -> evaluation batch size, rows.
    features_dir : str or pathlib.Path
        The feature files.
    parts : tuple of str
        The parts of the split, in the order they are predicted.
    split : str
    seed : int
        Seeds the split and the random batches.

    Returns
    -------
    probabilities, labels, meta : dict
        Each keyed by part: ``{model: (N, 5) array}``, the labels (N,) and the per-row metadata.
    """
    probabilities, labels, meta = {}, {}, {}
    for part in parts:
        probabilities[part], labels[part], meta[part] = part_predictions(models, batch_sizes, features_dir, part=part,
                                                                         split=split, seed=seed)
    return probabilities, labels, meta


def accuracies(probabilities: Mapping[str, np.ndarray], y: np.ndarray) -> dict[str, float]:
    """Accuracy (fraction of rows whose most probable class is the true one) of each model.

    Parameters
    ----------
    probabilities : dict
        Model name -> class probabilities (N, K).
    y : numpy.ndarray
        True labels (N,).

    Returns
    -------
    dict
        Model name -> accuracy in [0, 1], in the order of ``probabilities``.

    Examples
    --------
    >>> p = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    >>> accuracies({"m": p}, np.array([0, 1, 1]))
    {'m': 0.6666666666666666}
    """
    return {name: accuracy(y, p.argmax(axis=1)) for name, p in probabilities.items()}


def accuracy_by_part(probabilities: Mapping[str, Mapping[str, np.ndarray]],
                     labels: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Accuracy of each model (rows) on each part of a split (columns), as fractions.

    Parameters
    ----------
    probabilities : dict
        Part -> model name -> class probabilities (N, K), as :func:`predictions_by_part` returns them.
    labels : dict
        Part -> true labels (N,).

    Returns
    -------
    pandas.DataFrame
        Indexed by model, one column per part of ``probabilities``.
    """
    return pd.DataFrame({part: accuracies(by_model, labels[part]) for part, by_model in probabilities.items()})


def confusion_matrices(probabilities: Mapping[str, np.ndarray], y: np.ndarray, *,
                       models: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Confusion matrix (counts; rows: true class, columns: predicted class) of each model's top-1 predictions.

    Parameters
    ----------
    probabilities : dict
        Model name -> class probabilities (N, 5).
    y : numpy.ndarray
        True labels (N,).
    models : sequence of str, optional
        The models to take, in this order (default: all, in the order of ``probabilities``).

    Returns
    -------
    dict
        Model name -> (5, 5) integer array.
    """
    names = list(probabilities) if models is None else list(models)
    return {name: confusion_matrix(y, probabilities[name].argmax(axis=1)) for name in names}


def reliability_tables(probabilities: Mapping[str, np.ndarray], y: np.ndarray, *,
                       n_bins: int = 15) -> dict[str, pd.DataFrame]:
    """:func:`ctxlib.learning.metrics.reliability_table` of each model (``n_bins`` equal confidence bins)."""
    return {name: reliability_table(p, y, n_bins=n_bins) for name, p in probabilities.items()}


def confident_shares(probabilities: Mapping[str, np.ndarray], *, threshold: float = 0.99) -> dict[str, float]:
    """Share of rows whose top-class probability exceeds ``threshold``, per model (Fig. S16).

    Examples
    --------
    >>> confident_shares({"m": np.array([[0.995, 0.005], [0.6, 0.4]])})
    {'m': 0.5}
    """
    return {name: float(np.mean(p.max(axis=1) > threshold)) for name, p in probabilities.items()}


def entropy_by_class(probabilities: Mapping[str, np.ndarray], y: np.ndarray, *,
                     class_names: Sequence[str] = CLASS_NAMES) -> pd.DataFrame:
    """Mean posterior entropy (nats) of each model's probabilities over the rows of each true class.

    Parameters
    ----------
    probabilities : dict
        Model name -> class probabilities (N, K).
    y : numpy.ndarray
        True labels (N,), integers 0..K-1.
    class_names : sequence of str
        Name of each class, in label order.

    Returns
    -------
    pandas.DataFrame
        Indexed by class name, one column per model; NaN for a class without rows.
    """
    return pd.DataFrame({name: [mean_entropy(p[y == k]) for k in range(len(class_names))]
                         for name, p in probabilities.items()}, index=list(class_names))


def bic_table(probabilities: Mapping[str, np.ndarray], y: np.ndarray, parameters: Mapping[str, int]) -> pd.DataFrame:
    """The BIC of each model from its class probabilities on its training rows (Supplement S3).

    Parameters
    ----------
    probabilities : dict
        Model name -> class probabilities (N, K) on the training rows.
    y : numpy.ndarray
        True labels of the training rows (N,).
    parameters : dict
        Model name -> number of trainable parameters (k).

    Returns
    -------
    pandas.DataFrame
        Indexed by model: ``N``, ``k``, ``mean cross-entropy (nats)`` (L), ``BIC`` (2 N L + k ln N,
        :func:`ctxlib.learning.metrics.bic`), ``ΔBIC to best`` (to the lowest BIC) and ``k ln N / BIC``
        (the share of the complexity term).
    """
    rows = []
    for name, p in probabilities.items():
        cross_entropy = mean_cross_entropy(p, y)
        rows.append({"model": name, "N": len(y), "k": parameters[name], "mean cross-entropy (nats)": cross_entropy,
                     "BIC": bic(cross_entropy, len(y), parameters[name])})
    table = pd.DataFrame(rows).set_index("model")
    table["ΔBIC to best"] = table["BIC"] - table["BIC"].min()
    table["k ln N / BIC"] = table["k"] * np.log(table["N"]) / table["BIC"]
    return table


@dataclass(frozen=True)
class EntropyCut:
    """How much context cuts the mean posterior entropy (Fig. 5e, Supplement eq. 8); entropies in nats.

    Attributes
    ----------
    without_context : float
        MLP-NoContext's mean entropy (NaN where it is missing).
    with_context : float
        Mean of the context-aware models' mean entropies (NaN where none is present).
    lowest, highest : float
        The lowest and highest of the context-aware models' mean entropies.
    models : tuple of str
        The context-aware models present, in the §5 order.
    reduction : float
        The fraction by which context cuts the entropy, (without - with) / without
        (:func:`ctxlib.learning.metrics.entropy_reduction`; NaN where either is missing).
    """

    without_context: float
    with_context: float
    lowest: float
    highest: float
    models: tuple[str, ...]
    reduction: float


def entropy_cut(entropy: Mapping[str, float]) -> EntropyCut:
    """The entropy without context against the mean over the context-aware models present in ``entropy``.

    Parameters
    ----------
    entropy : mapping
        Model name -> mean posterior entropy (nats): a dict or a pandas Series indexed by model.
        Models other than the six of §5 are ignored.

    Returns
    -------
    EntropyCut

    Examples
    --------
    >>> cut = entropy_cut({"MLP-NoContext": 0.6, "MLP-Simple": 0.1, "attn-4k": 0.2})
    >>> cut.models, round(cut.with_context, 3), round(cut.reduction, 3), cut.lowest, cut.highest
    (('MLP-Simple', 'attn-4k'), 0.15, 0.75, 0.1, 0.2)
    """
    models = tuple(name for name in CONTEXT_MODELS if name in entropy)
    values = [float(entropy[name]) for name in models]
    without = float(entropy["MLP-NoContext"]) if "MLP-NoContext" in entropy else float("nan")
    with_context = float(np.mean(values)) if values else float("nan")
    reduction = entropy_reduction(without, with_context)[1] if without != 0 else float("nan")
    return EntropyCut(without, with_context, min(values, default=float("nan")), max(values, default=float("nan")),
                      models, reduction)


def models_logits(models: Mapping[str, torch.nn.Module], X: np.ndarray, *, batch_sizes: Mapping[str, int],
                  rows: np.ndarray | None = None, seed: int = 0) -> dict[str, np.ndarray]:
    """:func:`predict_logits` of every model on all of ``X``, keeping only ``rows``.

    The batches are drawn from all rows of ``X`` either way (an attention model in ``"batch"``
    mode sees the batch mates it would see without ``rows``); ``rows`` only saves memory.

    Parameters
    ----------
    models : dict
        Model name -> trained model.
    X : numpy.ndarray
        Feature rows (N, 31).
    batch_sizes : dict
        Model name -> batch size, rows.
    rows : numpy.ndarray, optional
        Indices of the rows to keep (default: all).
    seed : int
        Seeds the random batches.

    Returns
    -------
    dict
        Model name -> logits (len(rows), 5), in the order of ``models``.
    """
    keep = slice(None) if rows is None else rows
    return {name: predict_logits(model, name, X, batch_size=batch_sizes[name], seed=seed)[keep]
            for name, model in models.items()}


def batch_dependence(
    model: torch.nn.Module, name: str, X: np.ndarray, y: np.ndarray, groups: np.ndarray,
    batch_sizes: tuple[int, ...], reference_batch: int, *, seed: int = 0,
) -> pd.DataFrame:
    """How predictions of an attention model move with the rows they are batched with.

    The reference is the paper's evaluation: ``"batch"`` mode, random batches of
    ``reference_batch`` rows. Compared with it: other random batches of the same size
    (another seed), random batches of each size in ``batch_sizes``, batches that each hold
    rows of one ``groups`` value only (e.g. one imaging context, like the columns of one
    micrograph), and the batch-independent ``"frozen"`` mode.

    Returns
    -------
    pandas.DataFrame
        One row per setting: ``mode``, ``batches``, ``batch_size``, ``accuracy``,
        ``changed`` (share of rows whose predicted class differs from the reference) and
        ``mean_shift`` (mean total-variation distance of the class probabilities).
    """
    groups = np.asarray(groups)
    settings = [("batch", "random", reference_batch, _random_batches(len(X), reference_batch, seed)),
                ("batch", "random, other seed", reference_batch, _random_batches(len(X), reference_batch, seed + 1))]
    settings += [("batch", "random", size, _random_batches(len(X), size, seed)) for size in batch_sizes]
    one_group = [members[start:start + reference_batch]
                 for members in (np.flatnonzero(groups == g) for g in np.unique(groups))
                 for start in range(0, len(members), reference_batch)]
    settings.append(("batch", "one context each", reference_batch, one_group))
    settings.append(("frozen", "random", reference_batch, settings[0][3]))
    rows, reference = [], None
    for mode, composition, size, index_batches in settings:
        with attention_mode(model, mode):
            p = softmax(_logits_of_batches(model, name, X, index_batches))
        reference = p if reference is None else reference
        rows.append({"mode": mode, "batches": composition, "batch_size": size,
                     "accuracy": accuracy(y, p.argmax(axis=1)),
                     "changed": float(np.mean(p.argmax(axis=1) != reference.argmax(axis=1))),
                     "mean_shift": float(0.5 * np.abs(p - reference).sum(axis=1).mean())})
    return pd.DataFrame(rows)


def batch_dependence_table(
    models: Mapping[str, torch.nn.Module], X: np.ndarray, y: np.ndarray, groups: np.ndarray, *,
    batch_sizes: tuple[int, ...], reference_batches: Mapping[str, int], names: Sequence[str] = ATTENTION_MODELS,
    seed: int = 0,
) -> pd.DataFrame:
    """:func:`batch_dependence` of several attention models on the same rows, one block of rows per model.

    Parameters
    ----------
    models : dict
        Model name -> trained model (those of ``names`` are used).
    X, y, groups : numpy.ndarray
        Feature rows, their labels and a group per row (e.g. the imaging context).
    batch_sizes : tuple of int
        The other batch sizes tried, rows.
    reference_batches : dict
        Model name -> the batch size of its reference (its training batch size), rows.
    names : sequence of str
        The models to measure, in this order (default: the three attention models).
    seed : int

    Returns
    -------
    pandas.DataFrame
        The rows of :func:`batch_dependence`, indexed by ``model`` and the row number within the model.
    """
    return pd.concat({name: batch_dependence(models[name], name, X, y, groups, batch_sizes=batch_sizes,
                                             reference_batch=reference_batches[name], seed=seed)
                      for name in names}, names=["model"])
