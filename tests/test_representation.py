"""The arrays the UMAP figures embed, and their embeddings (ctxlib.learning.representation)."""

import numpy as np

from ctxlib.encoding.features import FEATURE_NAMES
from ctxlib.encoding.zernike import ZERNIKE_FEATURE_NAMES
from ctxlib.learning.representation import embed, embed_views, representation_views


def test_views_are_the_zernike_columns_all_columns_and_each_models_logits_in_order():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 31)).astype(np.float32)
    logits = {"MLP-Simple": rng.normal(size=(40, 5)), "MLP-NoContext": rng.normal(size=(40, 5))}
    views = representation_views(X, logits)
    assert list(views) == ["inputs, no context (6)", "inputs with context (31)", "logits, MLP-Simple",
                           "logits, MLP-NoContext"]
    assert views["inputs, no context (6)"].shape == (40, len(ZERNIKE_FEATURE_NAMES)) == (40, 6)
    zernike = [FEATURE_NAMES.index(name) for name in ZERNIKE_FEATURE_NAMES]
    assert np.array_equal(views["inputs, no context (6)"], X[:, zernike])
    assert views["inputs with context (31)"] is X and views["logits, MLP-Simple"] is logits["MLP-Simple"]


def test_embed_views_embeds_each_view_as_embed_does():
    rng = np.random.default_rng(1)
    views = {"b": rng.normal(size=(60, 4)), "a": rng.normal(size=(60, 7))}
    embedded = embed_views(views, seed=3, n_neighbors=5)
    assert list(embedded) == ["b", "a"]
    for title, values in views.items():
        assert embedded[title].shape == (60, 2)
        assert np.array_equal(embedded[title], embed(values, 3, n_neighbors=5))
