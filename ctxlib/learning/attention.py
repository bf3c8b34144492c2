"""Reading the feature-feature attention of the §5 models (paper Fig. S17).

An attention layer's matrix ``A = softmax(QᵀK / sqrt(d))`` is d x d over the 31
features: row i (a query feature) distributes one unit of weight over the key features
j. The paper's "vertical stripes" are key features that nearly every query attends to;
:func:`attention_shares` measures how much of the weight lands on each block of features
(context, Zernike moments, site flags), beside the share a uniform matrix would give.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ctxlib.encoding.context import CONTEXT_FEATURE_NAMES
from ctxlib.encoding.features import FEATURE_NAMES
from ctxlib.encoding.zernike import ZERNIKE_FEATURE_NAMES
from ctxlib.learning.models import attention_mode
from ctxlib.learning.training import torch_threads

#: Feature blocks of the 31 inputs (columns of the attention matrix).
FEATURE_BLOCKS: dict[str, slice] = {
    "context": slice(0, len(CONTEXT_FEATURE_NAMES)),
    "Zernike": slice(len(CONTEXT_FEATURE_NAMES), len(CONTEXT_FEATURE_NAMES) + len(ZERNIKE_FEATURE_NAMES)),
    "site flags": slice(len(CONTEXT_FEATURE_NAMES) + len(ZERNIKE_FEATURE_NAMES), len(FEATURE_NAMES)),
}


@torch.no_grad()
def group_attention_maps(model, X: np.ndarray, groups: pd.Series | np.ndarray, layer: int = -1,
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
