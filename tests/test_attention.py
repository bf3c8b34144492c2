"""Attention-map readings: block shares, stripes, similarity, and per-group maps."""

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ctxlib.learning.attention import (
    BLOCK_EDGES,
    FEATURE_BLOCKS,
    attention_shares,
    attention_summary,
    class_energy_maps,
    energy_labels,
    frozen_attention_map,
    grid_similarity,
    group_attention_maps,
    hard_rows,
    map_similarity,
    stripe_strength,
    stripe_table,
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
    model = _trained_attention_model(0)
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


def _trained_attention_model(seed=0):
    torch.manual_seed(seed)
    model = FeatureAttentionClassifier(31)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(5):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(model(torch.randn(64, 31)), torch.randint(0, 5, (64,))).backward()
        optimiser.step()
    return model


def test_block_edges_and_energy_labels():
    assert BLOCK_EDGES == (23, 29)  # 23 context features, then 6 Zernike moments, then 2 site flags
    assert energy_labels() == ["60 keV", "80 keV", "100 keV"]
    assert energy_labels(np.array([80, 60], dtype=np.int16)) == ["80 keV", "60 keV"]


def test_class_energy_maps_are_the_group_maps_of_each_class_and_energy():
    model = _trained_attention_model()
    rng = np.random.default_rng(3)
    X = rng.normal(size=(90, 31)).astype(np.float32)
    y = rng.integers(0, 2, 90)  # X2 and VacX
    energy = rng.choice(np.array([60, 100], dtype=np.int16), 90)
    maps = class_energy_maps(model, X, y, pd.Series(energy), batch_size=16, seed=4)
    # by hand: the groups in the order they first occur, each named "class|E keV"
    hand = np.array([("X2", "VacX")[k] + f"|{e} keV" for k, e in zip(y, energy)])
    expected = group_attention_maps(model, X, hand, batch_size=16, seed=4)
    assert list(maps) == [tuple(key.split("|")) for key in expected]
    assert set(maps) == {("X2", "60 keV"), ("X2", "100 keV"), ("VacX", "60 keV"), ("VacX", "100 keV")}
    for key, value in expected.items():
        assert np.array_equal(maps[tuple(key.split("|"))], value)


def test_grid_similarity_compares_along_rows_and_down_columns():
    rng = np.random.default_rng(5)
    a, b, c = rng.random((3, 31, 31))
    grid = {("r1", "c1"): a, ("r1", "c2"): 2 * a + 1, ("r1", "c3"): 3 * a,  # one map up to scale: 1
            ("r2", "c1"): b, ("r2", "c2"): c, ("r2", "c3"): a}
    across_columns, across_rows = grid_similarity(grid, ["r2", "r1"], ["c1", "c2", "c3"])
    assert list(across_columns) == ["r2", "r1"] and list(across_rows) == ["c1", "c2", "c3"]
    assert across_columns["r1"] == pytest.approx(1)
    pearson = lambda u, v: np.corrcoef(u.ravel(), v.ravel())[0, 1]
    assert across_columns["r2"] == pytest.approx((pearson(b, c) + pearson(b, a) + pearson(c, a)) / 3)
    assert across_rows["c1"] == pytest.approx(pearson(a, b)) and across_rows["c3"] == pytest.approx(1)


def test_stripe_table_summarises_every_model_in_both_modes_beside_a_uniform_matrix():
    models = {"one": _trained_attention_model(0), "two": _trained_attention_model(1)}
    rng = np.random.default_rng(6)
    X = rng.normal(size=(60, 31)).astype(np.float32)
    y, energy = np.repeat([0, 3], 30), np.tile([60, 80], 30)
    table = stripe_table(models, X, y, energy, batch_sizes={"one": 8, "two": 20}, seed=2)
    assert list(table.index) == [("one", "batch"), ("one", "frozen"), ("two", "batch"), ("two", "frozen"),
                                 ("uniform matrix", "")]
    for name, size in (("one", 8), ("two", 20)):
        maps = class_energy_maps(models[name], X, y, energy, batch_size=size, seed=2)
        batch = attention_summary(list(maps.values()))
        frozen = attention_summary([frozen_attention_map(models[name])])
        for column in ("share on context", "top-3 share", "saturated rows", "top-3 key features"):
            assert table.loc[(name, "batch"), column] == batch[column]
            assert table.loc[(name, "frozen"), column] == frozen[column]
        # the shares of one map by hand: column sums over the total, per block
        single = frozen_attention_map(models[name])
        assert table.loc[(name, "frozen"), "share on Zernike"] == pytest.approx(single[:, 23:29].sum() / single.sum())
    uniform = table.loc[("uniform matrix", "")]
    assert uniform[["share on context", "share on Zernike", "share on site flags", "top-3 share"]].tolist() == \
        pytest.approx([23 / 31, 6 / 31, 2 / 31, 3 / 31])
    assert pd.isna(uniform["saturated rows"]) and pd.isna(uniform["top-3 key features"])
