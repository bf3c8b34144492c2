"""Predictions of trained models and their scores (paper §5: Table 1, Figs. 5d-e, S15-S16).

The paper's feature-feature attention computes its d x d attention matrix over the
samples of a batch, so in its own mode (``"batch"``) a prediction depends on the other
rows it is batched with and on the batch size. :func:`predict_logits` therefore batches
rows in a seeded random order, as a shuffled test loader would, at a batch size the
caller chooses (the training batch size reproduces the paper's evaluation);
:func:`batch_dependence` measures how far predictions move with the batch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ctxlib.learning.reading import load_features
from ctxlib.learning.metrics import accuracy, expected_calibration_error, mean_entropy
from ctxlib.learning.models import attention_mode
from ctxlib.learning.spec import N_CLASSES
from ctxlib.learning.training import model_inputs, torch_threads


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


def predict_logits(model: torch.nn.Module, name: str, X: np.ndarray, batch_size: int = 65536, seed: int = 0) -> np.ndarray:
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


def predict_proba(model: torch.nn.Module, name: str, X: np.ndarray, batch_size: int = 65536, seed: int = 0) -> np.ndarray:
    """Class probabilities (N, 5) of a trained model (:func:`predict_logits`, then softmax)."""
    return softmax(predict_logits(model, name, X, batch_size, seed))


def part_predictions(
    models: dict[str, torch.nn.Module], batch_sizes: dict[str, int], features_dir, part: str = "test",
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
    probabilities = {name: predict_proba(model, name, X, batch_sizes[name], seed) for name, model in models.items()}
    return probabilities, y, meta


def score_table(probabilities: dict[str, np.ndarray], y: np.ndarray, n_bins: int = 15) -> pd.DataFrame:
    """Accuracy, mean posterior entropy (nats) and ECE of each model's probabilities on labels ``y``."""
    rows = {name: {"accuracy": accuracy(y, p.argmax(axis=1)), "entropy_nats": mean_entropy(p),
                   "ece": expected_calibration_error(p, y, n_bins)} for name, p in probabilities.items()}
    return pd.DataFrame(rows).T.rename_axis("model")


def batch_dependence(
    model: torch.nn.Module, name: str, X: np.ndarray, y: np.ndarray, groups: np.ndarray,
    batch_sizes: tuple[int, ...], reference_batch: int, seed: int = 0,
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
