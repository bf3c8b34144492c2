"""Training: learns a separable task, is seeded, checkpoints with weights_only, resumes; the schedules."""

import time
from dataclasses import replace

import numpy as np
import pytest
import torch

from ctxlib.learning.evaluation import predict_proba
from ctxlib.learning.scale import scale_preset
from ctxlib.learning.spec import MODEL_NAMES
from ctxlib.learning.training import (
    Checkpoint,
    CheckpointError,
    TrainingConfig,
    batches,
    load_checkpoint,
    models_of,
    resume_point,
    save_checkpoint,
    schedule,
    schedule_batch_sizes,
    train,
)
from ctxlib.learning.training import (PAPER_TRAIN_ROWS, batch_sizes_of, checkpoint_steps, histories_of, paper_steps,
                                      timed_training, train_to_paper_steps, training_plan, training_speed,
                                      training_steps)


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
    assert (predict_proba(model, name, Xt, batch_size=50).argmax(axis=1) == yt).mean() > 0.9


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
    full, full_history = train(config, epochs_of(X, y, 64), checkpoint=tmp_path / "full.pt", progress=False)
    interrupted = TrainingConfig("MLP-Simple", epochs=1, batch_size=64)
    train(interrupted, epochs_of(X, y, 64), checkpoint=path, progress=False)
    first = load_checkpoint(path)
    optimiser = torch.optim.Adam(first.model.parameters())
    optimiser.load_state_dict(first.optimiser_state)
    save_checkpoint(first.model, config, first.history, path, optimiser=optimiser)  # as if a 3-epoch run stopped after epoch 1
    resumed, history = train(config, epochs_of(X, y, 64), checkpoint=path, progress=False)
    assert [h["epoch"] for h in history] == [1, 2, 3] and history == full_history
    assert all(torch.allclose(p, q) for p, q in zip(full.state_dict().values(), resumed.state_dict().values()))
    loaded = load_checkpoint(path)
    assert loaded.config == config and loaded.epoch == 3
    assert np.allclose(predict_proba(loaded.model, "MLP-Simple", X), predict_proba(resumed, "MLP-Simple", X), atol=1e-6)


def test_a_checkpoint_torn_between_its_two_files_is_refused_and_training_starts_afresh(tmp_path):
    X, y = toy(300)
    path = tmp_path / "mlp.pt"
    config = TrainingConfig("MLP-Simple", epochs=2, batch_size=64)
    model, history = train(config, epochs_of(X, y, 64), checkpoint=path, progress=False)
    save_checkpoint(model, config, history[:1], tmp_path / "old.pt")
    (tmp_path / "old.json").replace(path.with_suffix(".json"))  # weights of epoch 2, record of epoch 1
    with pytest.raises(CheckpointError, match="holds epoch 2 but mlp.json 1"):
        load_checkpoint(path)
    _, again = train(config, epochs_of(X, y, 64), checkpoint=path, progress=False)
    assert again == history


def test_a_shorter_run_goes_on_to_the_longer_one(tmp_path):
    """1 epoch now and 2 more later (a model spread over sessions) equal 3 epochs at once."""
    X, y = toy(400)
    config = TrainingConfig("MLP-Simple", epochs=3, batch_size=64)
    straight, history = train(config, epochs_of(X, y, 64), progress=False)
    path = tmp_path / "mlp.pt"
    train(TrainingConfig("MLP-Simple", epochs=1, batch_size=64), epochs_of(X, y, 64), checkpoint=path, progress=False)
    spread, spread_history = train(config, epochs_of(X, y, 64), checkpoint=path, progress=False)
    assert spread_history == history
    assert all(torch.allclose(p, q) for p, q in zip(straight.state_dict().values(), spread.state_dict().values()))


@pytest.mark.parametrize("change", [{"batch_size": 32}, {"learning_rate": 5e-4}, {"seed": 1}, {"split": "host"},
                                    {"pool_rows": 1000}])
def test_a_changed_config_trains_afresh_and_says_which_entry_changed(tmp_path, capsys, change):
    X, y = toy(300)
    path = tmp_path / "mlp.pt"
    config = TrainingConfig("MLP-Simple", epochs=1, batch_size=64)
    train(config, epochs_of(X, y, 64), checkpoint=path, progress=False)
    capsys.readouterr()
    changed = TrainingConfig(**{**config.__dict__, **change})
    _, history = train(changed, epochs_of(X, y, changed.batch_size), checkpoint=path, progress=False)
    assert f"training from scratch, the checkpoint's {next(iter(change))} changed" in capsys.readouterr().out
    assert len(history) == 1 and load_checkpoint(path).config == changed


def test_resume_point_goes_on_from_the_same_config_only(tmp_path):
    """The one rule behind resuming: same config (data digest included) and no more epochs than asked for."""
    from dataclasses import replace

    X, y = toy(200)
    path = tmp_path / "mlp.pt"
    config = TrainingConfig("MLP-Simple", epochs=2, batch_size=64, data="features-a")
    assert resume_point(config, path) == (None, [])  # no checkpoint yet
    train(config, epochs_of(X, y, 64), checkpoint=path, progress=False)
    saved, changed = resume_point(replace(config, epochs=5), path)
    assert saved.epoch == 2 and changed == []
    assert resume_point(replace(config, data="features-b"), path) == (None, ["data"])
    assert resume_point(replace(config, epochs=1), path) == (None, ["epochs"])


def test_a_checkpoint_from_before_the_streaming_was_recorded_loads_as_whole_file_pools_and_is_not_resumed(
        tmp_path, capsys):
    """Checkpoints written before ``shuffle`` and ``pool_rows`` were recorded were streamed in pools of whole files
    of 4,000,000 rows: they load saying so, and today's schedule trains afresh instead of resuming them."""
    import json

    X, y = toy(300)
    path = tmp_path / "mlp.pt"
    config = TrainingConfig("MLP-Simple", epochs=1, batch_size=64)
    train(config, epochs_of(X, y, 64), checkpoint=path, progress=False)
    record = json.loads(path.with_suffix(".json").read_text())
    for key in ("shuffle", "pool_rows"):
        del record["config"][key]
    path.with_suffix(".json").write_text(json.dumps(record))
    old = load_checkpoint(path).config
    assert (old.shuffle, old.pool_rows) == ("whole-files", 4_000_000)
    capsys.readouterr()
    train(TrainingConfig("MLP-Simple", epochs=2, batch_size=64), epochs_of(X, y, 64), checkpoint=path, progress=False)
    assert "training from scratch, the checkpoint's shuffle, pool_rows changed" in capsys.readouterr().out


def test_a_change_of_the_training_data_retrains_and_says_why(tmp_path, monkeypatch, capsys):
    """Feature files rebuilt with another setting change the data digest: the model trains afresh, saying why."""
    import ctxlib.learning.dataset as dataset
    from ctxlib.learning.dataset import FeatureSettings, build_features
    from ctxlib.learning.training import train_models

    monkeypatch.setattr(dataset, "trained_status", lambda: (["WSe2-Ti"], []))
    features, checkpoints = tmp_path / "features", tmp_path / "models"
    build_features(features, progress=False, workers=1, settings=FeatureSettings(realisations=1))
    first = train_models(features, checkpoint_dir=checkpoints, models=("MLP-Simple",), epochs=1, progress=False)
    saved = load_checkpoint(checkpoints / "MLP-Simple.pt")
    stamp = saved.provenance["features"]["WSe2-Ti"]
    assert stamp["settings"]["realisations"] == 1 and stamp["library_sha256"] and stamp["code"] and stamp["ctxlib"]
    assert saved.provenance["features_digest"] == saved.config.data == first["MLP-Simple"].config.data
    capsys.readouterr()
    train_models(features, checkpoint_dir=checkpoints, models=("MLP-Simple",), epochs=1, progress=False)
    assert "training from scratch" not in capsys.readouterr().out  # same data: the finished model is kept
    build_features(features, progress=False, workers=1, settings=FeatureSettings(realisations=1, pixel_geometry="mean"))
    again = train_models(features, checkpoint_dir=checkpoints, models=("MLP-Simple",), epochs=1, progress=False)
    assert "MLP-Simple: training from scratch, the checkpoint's data changed" in capsys.readouterr().out
    assert again["MLP-Simple"].config.data != saved.config.data
    assert load_checkpoint(checkpoints / "MLP-Simple.pt").provenance["features"]["WSe2-Ti"]["settings"]["pixel_geometry"] == "mean"


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_full_schedule_is_the_papers_and_quick_divides_every_batch(name):
    full, quick = schedule(name, "full"), schedule(name, "quick")
    paper = {"MLP-NoContext": (20, 4096), "MLP-Simple": (20, 4096), "MLP-Deep": (20, 4096),
             "attn-4k": (10, 4096), "attn-200k": (10, 204_800), "attn-400k": (10, 409_600)}[name]
    assert (full.epochs, full.batch_size) == paper and full.learning_rate == 1e-3
    assert quick.epochs == full.epochs and quick.batch_size * scale_preset("quick").batch_divisor == full.batch_size
    with pytest.raises(ValueError, match="scale 'huge' is not in the catalog"):
        schedule(name, "huge")


def test_schedule_batch_sizes_are_the_papers_divided_by_the_scale_and_keep_the_order():
    paper = {"MLP-NoContext": 4096, "MLP-Simple": 4096, "MLP-Deep": 4096, "attn-4k": 4096, "attn-200k": 204_800,
             "attn-400k": 409_600}
    assert schedule_batch_sizes("full", models=tuple(paper)) == paper
    divisor = scale_preset("quick").batch_divisor
    quick = schedule_batch_sizes("quick", models=("attn-400k", "MLP-Simple"))
    assert list(quick) == ["attn-400k", "MLP-Simple"] and quick == {"attn-400k": 409_600 // divisor,
                                                                   "MLP-Simple": 4096 // divisor}


def test_models_of_takes_each_checkpoints_model_in_order():
    nets = {"b": torch.nn.Linear(2, 2), "a": torch.nn.Linear(3, 1)}
    checkpoints = {name: Checkpoint(net, TrainingConfig("MLP-Simple", 1, 8), [], {}) for name, net in nets.items()}
    models = models_of(checkpoints)
    assert list(models) == ["b", "a"] and all(models[name] is nets[name] for name in nets)
    assert models_of({}) == {}


@pytest.mark.parametrize("change, message", [
    ({"model": "MLP-Huge"}, "model 'MLP-Huge'"), ({"epochs": 0}, "epochs = 0"), ({"batch_size": 2.5}, "batch_size"),
    ({"learning_rate": 0.0}, "learning_rate = 0.0"), ({"split": "by-colour"}, "split 'by-colour'"),
    ({"shuffle": "none"}, "shuffle 'none'"),
])
def test_a_training_config_names_the_bad_value(change, message):
    with pytest.raises(ValueError, match=message):
        TrainingConfig(**{"model": "MLP-Simple", "epochs": 2, "batch_size": 64, **change})


def test_steps_count_the_batches_of_every_epoch_the_last_one_partial():
    config = TrainingConfig("MLP-Simple", epochs=3, batch_size=100)
    assert training_steps(config, 1000) == 30 and training_steps(config, 1001) == 33 and training_steps(config, 1) == 3
    # the paper's schedule: 43,868,160 rows per epoch (= 4,096 x 10,710 = 409,600 x 107.1); MLPs 20 epochs of 4,096
    # rows, attn-400k 10 epochs of 409,600
    assert PAPER_TRAIN_ROWS == 43_868_160
    assert paper_steps("MLP-Simple") == 20 * 10_710 and paper_steps("attn-400k") == 10 * 108


def test_training_plan_lists_the_papers_schedule_and_this_runs_steps():
    divisor = scale_preset("quick").batch_divisor
    plan = training_plan(132_370, "quick", seed=1)
    assert list(plan.index) == list(MODEL_NAMES) and plan.index.name == "model"
    assert list(plan.columns) == ["epochs", "paper batch", "batch (this run)", "steps (this run)"]
    assert plan.loc["MLP-Deep"].tolist() == [20, 4096, 4096 // divisor, 20 * int(np.ceil(132_370 / (4096 // divisor)))]
    assert plan.loc["attn-400k"].tolist() == [10, 409_600, 409_600 // divisor,
                                              10 * int(np.ceil(132_370 / (409_600 // divisor)))]
    assert training_plan(10, "full", models=("attn-4k",)).loc["attn-4k"].tolist() == [10, 4096, 4096, 10]


def _checkpoints():
    """Two checkpoints with made-up histories (rows trained on per epoch)."""
    return {"MLP-Simple": Checkpoint(torch.nn.Linear(2, 2), TrainingConfig("MLP-Simple", 2, 50),
                                     [{"samples": 1000}, {"samples": 1000}], {}),
            "attn-4k": Checkpoint(torch.nn.Linear(2, 2), TrainingConfig("attn-4k", 3, 400), [{"samples": 999}], {})}


def test_histories_steps_and_speed_of_checkpoints():
    checkpoints = _checkpoints()
    histories = histories_of(checkpoints)
    assert list(histories) == ["MLP-Simple", "attn-4k"] and histories["attn-4k"] is checkpoints["attn-4k"].history
    assert batch_sizes_of(checkpoints) == {"MLP-Simple": 50, "attn-4k": 400}
    assert checkpoint_steps(checkpoints, 1000) == {"MLP-Simple": 2 * 20, "attn-4k": 3 * 3}
    speed = training_speed(histories, {"MLP-Simple": 4.0, "attn-4k": 0.5})
    assert list(speed.index) == ["MLP-Simple", "attn-4k"] and list(speed.columns) == ["seconds", "samples/s"]
    assert speed["seconds"].tolist() == [4.0, 0.5] and speed["samples/s"].tolist() == [500.0, 1998.0]


def test_timed_training_trains_one_model_at_a_time_and_times_each(monkeypatch):
    import ctxlib.learning.training as training

    calls, checkpoints = [], _checkpoints()

    def fake(features_dir, scale, **options):
        calls.append((features_dir, scale, options))
        time.sleep(0.02)
        return {options["models"][0]: checkpoints[options["models"][0]]}

    monkeypatch.setattr(training, "train_models", fake)
    trained, seconds = timed_training("features", "quick", seed=2, checkpoint_dir="out",
                                      models=("attn-4k", "MLP-Simple"))
    assert list(trained) == list(seconds) == ["attn-4k", "MLP-Simple"] and trained["attn-4k"] is checkpoints["attn-4k"]
    assert [c[2]["models"] for c in calls] == [("attn-4k",), ("MLP-Simple",)]
    assert all(c[:2] == ("features", "quick") and c[2]["seed"] == 2 and c[2]["checkpoint_dir"] == "out" for c in calls)
    assert all(0.02 <= s < 5 for s in seconds.values())


def test_train_to_paper_steps_takes_the_fewest_epochs_that_reach_the_papers_steps(monkeypatch):
    import ctxlib.learning.training as training

    calls = []

    def fake(features_dir, scale, **options):
        calls.append(options)
        name = options["models"][0]
        return {name: Checkpoint(None, replace(schedule(name, scale), epochs=options["epochs"]), [], {})}

    monkeypatch.setattr(training, "train_models", fake)
    rows = 132_370
    trained = train_to_paper_steps("features", "quick", rows, seed=1, checkpoint_dir="steps")
    assert list(trained) == ["attn-200k", "attn-400k"] and [c["models"] for c in calls] == [("attn-200k",),
                                                                                          ("attn-400k",)]
    for name, checkpoint in trained.items():
        per_epoch = int(np.ceil(rows / schedule(name, "quick").batch_size))
        epochs = int(np.ceil(paper_steps(name) / per_epoch))
        assert checkpoint.config.epochs == epochs and (epochs - 1) * per_epoch < paper_steps(name) <= epochs * per_epoch
    assert all(c["seed"] == 1 and c["checkpoint_dir"] == "steps" for c in calls)


def test_train_models_takes_changes_to_every_config_and_refuses_the_fixed_fields(tmp_path, monkeypatch):
    import ctxlib.learning.dataset as dataset
    from ctxlib.learning.dataset import FeatureSettings, build_features
    from ctxlib.learning.training import train_models

    monkeypatch.setattr(dataset, "trained_status", lambda: (["WSe2-Ti"], []))
    features = tmp_path / "features"
    build_features(features, progress=False, workers=1, settings=FeatureSettings(realisations=1))
    trained = train_models(features, models=("MLP-Simple", "MLP-Deep"), epochs=1, progress=False,
                           changes={"learning_rate": 5e-4})
    assert {name: (c.config.learning_rate, c.config.epochs) for name, c in trained.items()} == {
        "MLP-Simple": (5e-4, 1), "MLP-Deep": (5e-4, 1)}
    with pytest.raises(ValueError, match=r"changes \['model'\] are not TrainingConfig fields that may change; "
                                         r"allowed: batch_size, epochs, learning_rate"):
        train_models(features, models=("MLP-Simple",), changes={"model": "attn-4k"})
    with pytest.raises(ValueError, match="learning_rate"):
        train_models(features, models=("MLP-Simple",), epochs=1, changes={"learning_rate": -1.0})
