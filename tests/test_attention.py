"""Attention-map readings: block shares, stripes, similarity, and per-group maps."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ctxlib.learning.attention import (
    FEATURE_BLOCKS,
    attention_shares,
    frozen_attention_map,
    group_attention_maps,
    hard_rows,
    map_similarity,
    stripe_strength,
    uniform_shares,
)
from ctxlib.learning.models import FeatureAttentionClassifier


def test_uniform_matrix_gives_the_block_sizes():
    shares = attention_shares(np.full((31, 31), 1 / 31))
    assert shares == pytest.approx(uniform_shares())
    assert uniform_shares() == pytest.approx({"context": 23 / 31, "Zernike": 6 / 31, "site flags": 2 / 31})
    assert stripe_strength(np.full((31, 31), 1 / 31), top=3) == pytest.approx(3 / 31)
    assert hard_rows(np.full((31, 31), 1 / 31)) == 0 and hard_rows(np.eye(31)) == 1


@given(st.integers(0, 2**32 - 1), st.integers(0, 30))
def test_shares_sum_to_one_and_a_pure_stripe_lands_in_its_block(seed, column):
    random = np.random.default_rng(seed).dirichlet(np.ones(31), 31)
    assert sum(attention_shares(random).values()) == pytest.approx(1)
    stripe = np.zeros((31, 31))
    stripe[:, column] = 1
    block = next(name for name, where in FEATURE_BLOCKS.items() if where.start <= column < where.stop)
    assert attention_shares(stripe)[block] == pytest.approx(1) and stripe_strength(stripe, top=1) == pytest.approx(1)


def test_similarity_and_bad_shapes():
    a = np.random.default_rng(0).random((31, 31))
    assert map_similarity([a, 2 * a, a + 1]) == pytest.approx(1)
    assert map_similarity([a, a.T]) < 0.5
    with pytest.raises(ValueError, match="expected a 31 x 31 attention matrix, got \\(5, 5\\)"):
        attention_shares(np.ones((5, 5)))
    with pytest.raises(ValueError, match="at least two maps"):
        map_similarity([a])


def test_group_maps_differ_in_batch_mode_and_agree_in_frozen_mode():
    torch.manual_seed(0)
    model = FeatureAttentionClassifier(31)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(5):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(model(torch.randn(64, 31)), torch.randint(0, 5, (64,))).backward()
        optimiser.step()
    X = np.random.default_rng(1).normal(size=(60, 31)).astype(np.float32)
    X[30:] += 2
    groups = np.repeat(["a", "b"], 30)
    maps = group_attention_maps(model, X, groups)
    assert set(maps) == {"a", "b"} and maps["a"].shape == (31, 31)
    assert np.allclose(maps["a"].sum(axis=1), 1, atol=1e-5) and not np.allclose(maps["a"], maps["b"], atol=1e-4)
    model.set_attention_mode("frozen")
    frozen = group_attention_maps(model, X, groups)
    assert np.allclose(frozen["a"], frozen["b"])
    model.set_attention_mode("batch")
    assert np.allclose(frozen_attention_map(model), frozen["a"]) and model.attention_mode == "batch"
