"""Two-dimensional views of inputs and logits (Figs. 5f-h, S13-S14): a balanced sample and its UMAP."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ctxlib.learning.spec import model_spec


def balanced_sample(y: np.ndarray, n: int, *, seed: int = 0) -> np.ndarray:
    """Sorted indices of about ``n`` rows with equally many of each class present in ``y``.

    A class with fewer rows than its share contributes all it has.
    """
    y = np.asarray(y)
    if n < 1:
        raise ValueError(f"need a positive number of rows, got {n}")
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    per_class = max(1, n // len(classes))
    picked = [rng.permutation(np.flatnonzero(y == k))[:per_class] for k in classes]
    return np.sort(np.concatenate(picked))


def embed(values: np.ndarray, seed: int = 0, *, n_neighbors: int = 15) -> np.ndarray:
    """UMAP embedding (N, 2) of ``values`` (N, d), each column standardised first (constant columns left at 0)."""
    import umap

    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError("values to embed contain NaN or infinity")
    spread = values.std(axis=0)
    scaled = (values - values.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    return umap.UMAP(n_neighbors=n_neighbors, random_state=seed, n_jobs=1).fit_transform(scaled)


def representation_views(X: np.ndarray, logits: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays whose embeddings Figs. 5f-h, S13 and S14 show, titled.

    Parameters
    ----------
    X : numpy.ndarray
        Feature rows (N, 31).
    logits : dict
        Model name -> logits (N, 5) of the same rows (:func:`ctxlib.learning.evaluation.models_logits`).

    Returns
    -------
    dict
        ``"inputs, no context (6)"``: the six Zernike moments MLP-NoContext reads; ``"inputs with context
        (31)"``: all of ``X``; then ``"logits, <model>"`` for each model of ``logits``, in its order.
    """
    views = {"inputs, no context (6)": model_spec("MLP-NoContext").select(X), "inputs with context (31)": X}
    return views | {f"logits, {name}": values for name, values in logits.items()}


def embed_views(views: Mapping[str, np.ndarray], *, seed: int = 0, n_neighbors: int = 15) -> dict[str, np.ndarray]:
    """:func:`embed` of each view (title -> (N, d) array), in order: title -> (N, 2) embedding."""
    return {title: embed(values, seed, n_neighbors=n_neighbors) for title, values in views.items()}
