"""Shipped weights: export, checksum-verified loading, clear errors."""

import json

import numpy as np
import pytest

from ctxlib.learning.evaluation import predict_proba
from ctxlib.learning.pretrained import PretrainedError, export_weights, load_pretrained, read_weights_manifest
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
    manifest = export_weights(trained, "quick", 0, scores, tmp_path)
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
