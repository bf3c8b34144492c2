"""Training: learns a separable task, is seeded, checkpoints with weights_only, resumes."""

import numpy as np
import pytest
import torch

from ctxlib.training import TrainingConfig, batches, load_checkpoint, predict_proba, save_checkpoint, train


def toy(n=2000, seed=0):
    """Five classes separable by the Zernike columns 23-28."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 5, n)
    X = rng.normal(0, 0.3, (n, 31)).astype(np.float32)
    X[np.arange(n), 23 + y] += 3.0
    return X, y


def epochs_of(X, y, batch_size):
    return lambda rng: batches(X, y, batch_size, rng)


@pytest.mark.parametrize("name", ["MLP-NoContext", "MLP-Simple", "attn-4k"])
def test_models_learn_a_separable_task(name):
    X, y = toy(1000)
    config = TrainingConfig(name, epochs=20, batch_size=50)
    model, history = train(config, epochs_of(X, y, 50), progress=False)
    assert history[-1]["loss"] < history[0]["loss"]
    Xt, yt = toy(500, seed=1)
    assert (predict_proba(model, name, Xt).argmax(axis=1) == yt).mean() > 0.9


def test_training_is_seeded():
    X, y = toy(500)
    config = TrainingConfig("MLP-Simple", epochs=2, batch_size=64, seed=3)
    a, _ = train(config, epochs_of(X, y, 64), progress=False)
    b, _ = train(config, epochs_of(X, y, 64), progress=False)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_checkpoint_round_trip_and_resume(tmp_path):
    X, y = toy(500)
    path = tmp_path / "mlp.pt"
    config = TrainingConfig("MLP-Simple", epochs=3, batch_size=64)
    full, _ = train(config, epochs_of(X, y, 64), checkpoint=tmp_path / "full.pt", progress=False)
    interrupted = TrainingConfig("MLP-Simple", epochs=1, batch_size=64)
    train(interrupted, epochs_of(X, y, 64), checkpoint=path, progress=False)
    first, _, _, optimiser_state = load_checkpoint(path)
    optimiser = torch.optim.Adam(first.parameters())
    optimiser.load_state_dict(optimiser_state)
    save_checkpoint(first, config, 1, path, optimiser)  # as if a 3-epoch run stopped after epoch 1
    resumed, history = train(config, epochs_of(X, y, 64), checkpoint=path, progress=False)
    assert [h["epoch"] for h in history] == [2, 3]
    assert all(torch.allclose(p, q) for p, q in zip(full.state_dict().values(), resumed.state_dict().values()))
    model, loaded_config, epoch, _ = load_checkpoint(path)
    assert loaded_config == config and epoch == 3
    assert np.allclose(predict_proba(model, "MLP-Simple", X), predict_proba(resumed, "MLP-Simple", X), atol=1e-6)
