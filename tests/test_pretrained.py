"""Shipped weights: export, checksum-verified loading, clear errors."""

import json

import numpy as np
import pytest

from ctxlib.learning.evaluation import predict_proba
from ctxlib.learning.pretrained import (PretrainedError, build_scores, export_weights, load_pretrained,
                                        read_weights_manifest, weights_folder)
from ctxlib.learning.training import Checkpoint, TrainingConfig, batches, train


def _trained(config, X, y):
    model, history = train(config, lambda rng: batches(X, y, 50, rng), progress=False)
    return Checkpoint(model, config, history, {})


def test_export_and_load_round_trip_and_tampering_is_caught(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200, 31)).astype(np.float32), rng.integers(0, 5, 200)
    configs = {name: TrainingConfig(name, epochs=1, batch_size=50) for name in ("MLP-Simple", "attn-4k")}
    trained = {name: _trained(c, X, y) for name, c in configs.items()}
    scores = {name: {"train_accuracy": 0.5, "test_accuracy": 0.4} for name in trained}
    manifest = export_weights(trained, "quick", 0, scores, directory=tmp_path)
    assert read_weights_manifest(tmp_path) == json.loads(json.dumps(manifest))
    assert set(manifest["files"]) == {"MLP-Simple.pt", "MLP-Simple.json", "attn-4k.pt", "attn-4k.json"}
    loaded = load_pretrained("MLP-Simple", tmp_path)
    assert loaded.config == configs["MLP-Simple"] and loaded.history == trained["MLP-Simple"].history
    assert np.allclose(predict_proba(loaded.model, "MLP-Simple", X),
                       predict_proba(trained["MLP-Simple"].model, "MLP-Simple", X))
    assert load_pretrained("attn-4k", tmp_path).model.attention_mode == "frozen"
    (tmp_path / "attn-4k.json").write_text((tmp_path / "attn-4k.json").read_text() + " ")
    with pytest.raises(PretrainedError, match="attn-4k.json does not match its checksum"):
        load_pretrained("attn-4k", tmp_path)
    with pytest.raises(PretrainedError, match="MLP-Deep.pt is missing"):
        load_pretrained("MLP-Deep", tmp_path)
    with pytest.raises(PretrainedError, match="no pretrained weights in"):
        load_pretrained("MLP-Simple", tmp_path / "nowhere")
    with pytest.raises(ValueError, match="model 'GPT' is not in the catalog"):
        load_pretrained("GPT", tmp_path)


def test_build_scores_are_each_models_accuracy_on_the_train_and_test_rows(monkeypatch):
    from sklearn.metrics import accuracy_score

    import ctxlib.learning.evaluation as evaluation

    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(300, 31)).astype(np.float32), rng.integers(0, 5, 300)
    X[np.arange(300), 23 + y] += 2.0
    parts = {"train": slice(0, 200), "test": slice(200, 300)}
    monkeypatch.setattr(evaluation, "load_features",
                        lambda folder, *, split, part, seed: (X[parts[part]], y[parts[part]], None))
    trained = {name: _trained(TrainingConfig(name, epochs=2, batch_size=50), X[:200], y[:200])
               for name in ("MLP-Simple", "attn-4k")}
    scores = build_scores(trained, "features", seed=0)
    assert list(scores) == ["MLP-Simple", "attn-4k"]
    for name, checkpoint in trained.items():
        assert list(scores[name]) == ["train_accuracy", "test_accuracy"]
        for part, rows in parts.items():
            p = predict_proba(checkpoint.model, name, X[rows], batch_size=50, seed=0)
            assert scores[name][f"{part}_accuracy"] == accuracy_score(y[rows], p.argmax(axis=1))
            assert type(scores[name][f"{part}_accuracy"]) is float


def test_the_shipped_quick_weights_were_trained_on_the_features_todays_code_makes(tmp_path):
    """Feature code changed without `python -m ctxlib.learning.pretrained build` leaves weights that today's code
    would not make (it happened once: the shipped weights had been trained on an earlier code's features)."""
    from ctxlib.learning.dataset import build_features
    from ctxlib.learning.reading import features_digest

    build_features(tmp_path / "features", "quick", seed=0, progress=False, workers=1)
    today = features_digest(tmp_path / "features")
    for name in ("MLP-Simple", "attn-4k"):
        trained_on = json.loads((weights_folder("quick") / f"{name}.json").read_text())["config"]["data"]
        assert trained_on == today, (f"data/weights/{name} was trained on features {trained_on[:8]}, today's code makes "
                                     f"{today[:8]}: run `python -m ctxlib.learning.pretrained build`")
