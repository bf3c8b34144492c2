"""Reading the feature-feature attention of the §5 models (paper Fig. S17).

An attention layer's matrix ``A = softmax(QᵀK / sqrt(d))`` is d x d over the 31
features: row i (a query feature) distributes one unit of weight over the key features
j. The paper's "vertical stripes" are key features that nearly every query attends to;
:func:`attention_shares` measures how much of the weight lands on each block of features
(context, Zernike moments, site flags), beside the share a uniform matrix would give.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import torch

from ctxlib.encoding.context import CONTEXT_FEATURE_NAMES
from ctxlib.encoding.features import FEATURE_NAMES
from ctxlib.encoding.zernike import ZERNIKE_FEATURE_NAMES
from ctxlib.learning.models import attention_mode
from ctxlib.learning.training import torch_threads
from ctxlib.materials.catalog import ENERGIES_KEV
from ctxlib.materials.motifs import CLASS_NAMES

#: Feature blocks of the 31 inputs (columns of the attention matrix).
FEATURE_BLOCKS: dict[str, slice] = {
    "context": slice(0, len(CONTEXT_FEATURE_NAMES)),
    "Zernike": slice(len(CONTEXT_FEATURE_NAMES), len(CONTEXT_FEATURE_NAMES) + len(ZERNIKE_FEATURE_NAMES)),
    "site flags": slice(len(CONTEXT_FEATURE_NAMES) + len(ZERNIKE_FEATURE_NAMES), len(FEATURE_NAMES)),
}
#: Feature index where each block after the first starts: where a map's block lines are drawn.
BLOCK_EDGES: tuple[int, ...] = tuple(where.start for where in FEATURE_BLOCKS.values())[1:]


@torch.no_grad()
def group_attention_maps(model, X: np.ndarray, groups: pd.Series | np.ndarray, *, layer: int = -1,
                         batch_size: int | None = None, seed: int = 0) -> dict:
    """The attention matrix of one layer for each group of rows, each group its own batch.

    In the paper's ``"batch"`` mode the matrix is a statistic of the batch, so a group's map
    is the attention the model computes when it classifies those rows together (e.g. every
    X2 column of one imaging context). Its logits grow with the number of rows, so with
    ``batch_size`` (the training batch size, say) each group's batch is that many rows drawn
    from the group with replacement (seeded). In ``"frozen"`` mode all maps are equal.

    Returns
    -------
    dict
        ``{group value: (31, 31) array}``.
    """
    model.eval()
    groups = np.asarray(groups)
    rng = np.random.default_rng(seed)
    maps = {}
    with torch_threads(1):
        for value in pd.unique(groups):
            members = np.flatnonzero(groups == value)
            if batch_size is not None:
                members = rng.choice(members, batch_size)
            maps[value] = model.attention_maps(torch.as_tensor(X[members], dtype=torch.float32))[layer].numpy()
    return maps


def energy_labels(energies_kev: Iterable[int] = ENERGIES_KEV) -> list[str]:
    """Beam energies as the labels of :func:`class_energy_maps` (``80`` -> ``"80 keV"``).

    Examples
    --------
    >>> energy_labels((60, 80))
    ['60 keV', '80 keV']
    """
    return [f"{energy} keV" for energy in energies_kev]


def class_energy_maps(model, X: np.ndarray, y: np.ndarray, energy_kev: np.ndarray | pd.Series, *,
                      layer: int = -1, batch_size: int | None = None,
                      seed: int = 0) -> dict[tuple[str, str], np.ndarray]:
    """The attention matrix of one layer for each class and beam energy of the rows (:func:`group_attention_maps`).

    Parameters
    ----------
    model : torch.nn.Module
        An attention model.
    X : (N, 31) array
        Feature rows.
    y : (N,) int array
        Class index of each row (:data:`ctxlib.materials.motifs.CLASS_NAMES`).
    energy_kev : (N,) array or Series
        Beam energy of each row, keV.
    layer, batch_size, seed
        As :func:`group_attention_maps` (groups in the order they first occur in the rows).

    Returns
    -------
    dict
        ``{(class name, "E keV"): (31, 31) array}``, labels as :func:`energy_labels`.
    """
    labels = energy_labels(np.asarray(energy_kev))
    groups = pd.Series([f"{CLASS_NAMES[k]}|{label}" for k, label in zip(np.asarray(y), labels)])
    maps = group_attention_maps(model, X, groups, layer=layer, batch_size=batch_size, seed=seed)
    return {tuple(key.split("|")): value for key, value in maps.items()}


def grid_similarity(grid: dict[tuple[str, str], np.ndarray], rows: Iterable[str],
                    columns: Iterable[str]) -> tuple[dict[str, float], dict[str, float]]:
    """How alike the maps of a grid are along each row and down each column (:func:`map_similarity`).

    Parameters
    ----------
    grid : dict
        ``{(row, column): map}``, as :func:`class_energy_maps` returns (rows: classes, columns: energies).
    rows, columns : iterable of str
        The row and column labels to compare, in the order wanted.

    Returns
    -------
    across_columns : dict
        ``{row: mean Pearson correlation between that row's maps}``.
    across_rows : dict
        ``{column: mean Pearson correlation between that column's maps}``.
    """
    rows, columns = list(rows), list(columns)
    across_columns = {r: map_similarity([grid[(r, c)] for c in columns]) for r in rows}
    across_rows = {c: map_similarity([grid[(r, c)] for r in rows]) for c in columns}
    return across_columns, across_rows


@torch.no_grad()
def frozen_attention_map(model, layer: int = -1) -> np.ndarray:
    """The ``"frozen"`` mode's matrix of one layer: the attention an average training batch saw."""
    with attention_mode(model.eval(), "frozen"):
        attention = model.layers[layer].attention
        return attention.attention(torch.zeros(1, attention.d)).numpy()  # frozen: independent of the input


def attention_shares(matrix: np.ndarray) -> dict[str, float]:
    """Share of the attention weight on each feature block (rows sum to 1, so shares sum to 1)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape != (len(FEATURE_NAMES), len(FEATURE_NAMES)):
        raise ValueError(f"expected a {len(FEATURE_NAMES)} x {len(FEATURE_NAMES)} attention matrix, got {matrix.shape}")
    column_weight = matrix.sum(axis=0) / matrix.sum()
    return {block: float(column_weight[where].sum()) for block, where in FEATURE_BLOCKS.items()}


def uniform_shares() -> dict[str, float]:
    """The shares a uniform attention matrix would give (block size / 31)."""
    return {block: (where.stop - where.start) / len(FEATURE_NAMES) for block, where in FEATURE_BLOCKS.items()}


def stripe_strength(matrix: np.ndarray, top: int = 3) -> float:
    """Share of all attention weight on the ``top`` most-attended key features (uniform: top / 31)."""
    column_weight = np.sort(np.asarray(matrix).sum(axis=0))[::-1]
    return float(column_weight[:top].sum() / column_weight.sum())


def hard_rows(matrix: np.ndarray, threshold: float = 0.99) -> float:
    """Share of query rows that put more than ``threshold`` of their weight on a single key (a saturated softmax)."""
    return float(np.mean(np.asarray(matrix).max(axis=1) > threshold))


def map_similarity(maps: list[np.ndarray]) -> float:
    """Mean Pearson correlation between every pair of maps (1: identical up to scale)."""
    if len(maps) < 2:
        raise ValueError("need at least two maps to compare")
    flat = np.array([np.ravel(m) for m in maps])
    corr = np.corrcoef(flat)
    return float(corr[np.triu_indices(len(maps), k=1)].mean())


def attention_summary(matrices: list[np.ndarray]) -> dict[str, float | str]:
    """What a set of attention matrices attends to: mean block shares, top-3 share, saturated rows, top keys.

    Parameters
    ----------
    matrices : list of (31, 31) arrays
        Attention matrices of one model (rows: queries, columns: keys).
    """
    shares = pd.DataFrame([attention_shares(m) for m in matrices]).mean()
    top = np.argsort(np.mean(matrices, axis=0).sum(axis=0))[::-1][:3]
    return {**{f"share on {block}": float(shares[block]) for block in FEATURE_BLOCKS},
            "top-3 share": float(np.mean([stripe_strength(m) for m in matrices])),
            "saturated rows": float(np.mean([hard_rows(m) for m in matrices])),
            "top-3 key features": ", ".join(FEATURE_NAMES[j] for j in top)}


def stripe_table(models: dict, X: np.ndarray, y: np.ndarray, energy_kev: np.ndarray | pd.Series, *,
                 batch_sizes: dict[str, int], seed: int = 0) -> pd.DataFrame:
    """Where the last layer's attention lands, for every attention model, beside a uniform matrix.

    Parameters
    ----------
    models : dict
        ``{name: attention model}``, in batch mode.
    X, y, energy_kev
        Feature rows, their class indices and beam energies (keV), as :func:`class_energy_maps`.
    batch_sizes : dict
        ``{name: rows per batch}`` of each model's maps (its training batch size, say).
    seed : int
        Seeds the rows drawn for each map.

    Returns
    -------
    pandas.DataFrame
        One row per ``(model, "batch")`` (:func:`attention_summary` of the maps of every class and energy)
        and ``(model, "frozen")`` (of the frozen-mode matrix), then ``("uniform matrix", "")`` (the block
        shares and top-3 share of a uniform matrix).
    """
    rows = {}
    for name, model in models.items():
        maps = class_energy_maps(model, X, y, energy_kev, batch_size=batch_sizes[name], seed=seed)
        rows[(name, "batch")] = attention_summary(list(maps.values()))
        rows[(name, "frozen")] = attention_summary([frozen_attention_map(model)])
    uniform = {f"share on {block}": share for block, share in uniform_shares().items()}
    rows[("uniform matrix", "")] = uniform | {"top-3 share": 3 / len(FEATURE_NAMES)}
    return pd.DataFrame(rows).T
