"""The paper-scale runner's record (benchmarks/full_scale.py): totals add up within one run only."""

import json
import sys
import time

from ctxlib.base.paths import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import full_scale  # noqa: E402


def test_a_resumed_stage_adds_its_time_and_a_fresh_one_starts_its_total_again(roots):
    full_scale.record_stage("MLP-Simple", {"epochs": 5, "of": 20, "fresh": True}, 100.0, 2_000_000_000)
    full_scale.record_stage("MLP-Simple", {"epochs": 20, "of": 20, "fresh": False}, 300.0, 1_000_000_000)
    stage = json.loads((roots / "full_scale.json").read_text())["stages"]["MLP-Simple"]
    assert (stage["seconds_this_call"], stage["seconds_total"], stage["peak_memory_gb"]) == (300.0, 400.0, 2.0)
    assert "fresh" not in stage
    full_scale.record_stage("MLP-Simple", {"epochs": 2, "of": 20, "fresh": True}, 50.0, 500_000_000)
    full_scale.record_stage("features", {"written": 96, "reused": 0, "fresh": True}, 10.0, 1)
    stages = json.loads((roots / "full_scale.json").read_text())["stages"]
    assert stages["MLP-Simple"]["seconds_total"] == 50.0 and stages["MLP-Simple"]["peak_memory_gb"] == 0.5
    assert stages["features"]["written"] == 96  # stages recorded one after another keep each other


def test_export_takes_only_models_whose_checkpoint_is_the_finished_run_their_record_scored(roots):
    """A model is exported when its stage record has test scores and its checkpoint holds that record's last epoch
    of a finished schedule; one still training, or retrained since it was scored, is left out."""
    import numpy as np

    from ctxlib.learning.training import TrainingConfig, save_checkpoint
    from ctxlib.learning.models import build_model

    checkpoints = full_scale.checkpoints_dir()
    checkpoints.mkdir(parents=True)
    scores = {"rows": 10, "accuracy": 0.9, "entropy_nats": 0.1, "ece": 0.01, "train_rows": 40,
              "train_cross_entropy_nats": 0.2, "parameters": 7}
    epochs = [{"epoch": k + 1, "loss": float(np.exp(-k)), "accuracy": 0.5, "samples": 40} for k in range(2)]
    for name, history, last in (("MLP-Simple", epochs, epochs[-1]), ("MLP-Deep", epochs[:1], epochs[0]),
                                ("MLP-NoContext", epochs, {**epochs[-1], "loss": 9.0})):
        save_checkpoint(build_model(name), TrainingConfig(name, 2, 64), history, checkpoints / f"{name}.pt")
        full_scale.record_stage(name, {"epochs": 2, "of": 2, "last_epoch": last, "test": scores, "fresh": True}, 1.0, 1)
    assert list(full_scale.finished_models()) == ["MLP-Simple"]
    assert full_scale.finished_models()["MLP-Simple"]["test_accuracy"] == 0.9


def test_a_call_that_resumes_another_run_than_the_recorded_one_does_not_add_to_its_time(roots):
    """A stage record belongs to the run whose first epoch it names: a resumed call of a run started since (its
    record lost with a stopped call, or a model retrained on changed data) starts the total again."""
    old, new = {"epoch": 1, "loss": 0.4}, {"epoch": 1, "loss": 0.5}
    full_scale.record_stage("MLP-Simple", {"epochs": 20, "of": 20, "first_epoch": old, "fresh": True}, 3000.0, 1)
    full_scale.record_stage("MLP-Simple", {"epochs": 9, "of": 20, "first_epoch": new, "fresh": False}, 400.0, 1)
    assert json.loads((roots / "full_scale.json").read_text())["stages"]["MLP-Simple"]["seconds_total"] == 400.0
    full_scale.record_stage("MLP-Simple", {"epochs": 20, "of": 20, "first_epoch": new, "fresh": False}, 600.0, 1)
    assert json.loads((roots / "full_scale.json").read_text())["stages"]["MLP-Simple"]["seconds_total"] == 1000.0


def test_a_call_that_only_scores_keeps_the_device_that_trained_the_run(roots):
    """Epochs trained on a GPU machine and scored by a later call on the CPU: the record names the GPU; a run
    that moved between devices names each."""
    first = {"epoch": 1, "loss": 0.4}
    full_scale.record_stage("attn-200k", {"epochs": 10, "of": 10, "first_epoch": first, "device": "cuda",
                                          "fresh": True}, 300.0, 1)
    full_scale.record_stage("attn-200k", {"epochs": 10, "of": 10, "first_epoch": first, "test": {"accuracy": 0.9},
                                          "fresh": False}, 200.0, 1)
    stage = json.loads((roots / "full_scale.json").read_text())["stages"]["attn-200k"]
    assert (stage["device"], stage["seconds_total"], stage["test"]["accuracy"]) == ("cuda", 500.0, 0.9)
    full_scale.record_stage("attn-200k", {"epochs": 1, "of": 10, "first_epoch": {"epoch": 1, "loss": 0.6},
                                          "device": "cpu", "fresh": True}, 50.0, 1)
    assert json.loads((roots / "full_scale.json").read_text())["stages"]["attn-200k"]["device"] == "cpu"
    # a run whose epochs moved from one device to another names both, in order
    full_scale.record_stage("attn-200k", {"epochs": 2, "of": 10, "first_epoch": {"epoch": 1, "loss": 0.6},
                                          "device": "cuda", "fresh": False}, 50.0, 1)
    full_scale.record_stage("attn-200k", {"epochs": 3, "of": 10, "first_epoch": {"epoch": 1, "loss": 0.6},
                                          "device": "cuda", "fresh": False}, 50.0, 1)
    assert json.loads((roots / "full_scale.json").read_text())["stages"]["attn-200k"]["device"] == "cpu, cuda"


def test_a_finished_run_that_a_new_run_replaces_stays_on_record_until_the_new_one_is_scored(roots):
    old, new = {"epoch": 1, "loss": 0.4}, {"epoch": 1, "loss": 0.5}
    full_scale.record_stage("MLP-Simple", {"epochs": 20, "of": 20, "first_epoch": old, "test": {"accuracy": 0.99},
                                           "fresh": True}, 3000.0, 5)
    full_scale.record_stage("MLP-Simple", {"epochs": 6, "of": 20, "first_epoch": new, "fresh": True}, 400.0, None)
    saved = json.loads((roots / "full_scale.json").read_text())
    assert saved["finished_earlier"]["MLP-Simple"]["test"]["accuracy"] == 0.99
    assert saved["stages"]["MLP-Simple"]["epochs"] == 6 and saved["stages"]["MLP-Simple"]["peak_memory_gb"] is None
    full_scale.record_stage("MLP-Simple", {"epochs": 20, "of": 20, "first_epoch": new, "test": {"accuracy": 0.98},
                                           "fresh": False}, 100.0, 7)
    saved = json.loads((roots / "full_scale.json").read_text())
    assert "MLP-Simple" not in saved["finished_earlier"]
    stage = saved["stages"]["MLP-Simple"]
    assert (stage["seconds_total"], stage["peak_memory_bytes"]) == (500.0, 7)


def test_epochs_asked_for_count_from_the_start_of_a_run_that_starts_over(roots, monkeypatch):
    """A checkpoint of other features is not resumed, so it has no epochs to go on from (``--epochs 1`` then trains
    one epoch of the new run, not the whole schedule)."""
    from dataclasses import replace

    import ctxlib.learning.reading as reading
    from ctxlib.learning.models import build_model
    from ctxlib.learning.training import save_checkpoint, schedule

    checkpoints = full_scale.checkpoints_dir()
    checkpoints.mkdir(parents=True)
    history = [{"epoch": 1, "loss": 0.5, "accuracy": 0.5, "samples": 40}]
    save_checkpoint(build_model("MLP-Simple"), replace(schedule("MLP-Simple", "full"), data="features-a"), history,
                    checkpoints / "MLP-Simple.pt")
    monkeypatch.setattr(reading, "features_digest", lambda folder: "features-a")
    assert full_scale.resumed_history("MLP-Simple") == history
    monkeypatch.setattr(reading, "features_digest", lambda folder: "features-b")
    assert full_scale.resumed_history("MLP-Simple") == [] and full_scale.checkpoint_history("MLP-Simple") == history
    assert full_scale.resumed_history("MLP-Deep") == []


def test_peak_memory_counts_anonymous_memory_not_mapped_files(tmp_path):
    """Mapping and reading a large file raises the resident set, not the measured peak; allocating memory does."""
    import numpy as np

    path = tmp_path / "big.npy"
    np.save(path, np.ones(50_000_000, np.float32))  # 200 MB
    with full_scale.PeakMemory(every_s=0.05) as before:
        time.sleep(0.3)
    with full_scale.PeakMemory(every_s=0.05) as mapped:
        array = np.load(path, mmap_mode="r")
        assert float(array.sum(dtype=np.float64)) == 50_000_000
        time.sleep(0.3)
    with full_scale.PeakMemory(every_s=0.05) as held:
        copy = np.array(array)
        time.sleep(0.3)
    assert mapped.peak - before.peak < 50e6  # the resident set grew by the 200 MB mapped
    assert held.peak - before.peak > 150e6 and copy.nbytes == 200_000_000


def test_rescoring_replaces_the_scores_keeps_the_training_time_and_refuses_an_unfinished_model(roots):
    import pytest

    old = {"rows": 10, "accuracy": 0.9, "entropy_nats": 0.1, "ece": 0.01, "train_rows": 40,
           "train_cross_entropy_nats": 4.4, "parameters": 7}
    full_scale.record_stage("attn-4k", {"epochs": 2, "of": 2, "last_epoch": {"epoch": 2}, "test": old, "fresh": True},
                            500.0, 2_000_000_000)
    new = {**old, "train_cross_entropy_nats": 0.02}
    full_scale.record_scores({"attn-4k": new}, 30.0, 3_000_000_000)
    stage = json.loads((roots / "full_scale.json").read_text())["stages"]["attn-4k"]
    assert stage["test"] == new and stage["seconds_total"] == 500.0 and stage["peak_memory_gb"] == 2.0
    assert stage["scoring"]["seconds"] == 30.0 and stage["scoring"]["peak_memory_gb"] == 3.0
    assert stage["scoring"]["command"] == "python benchmarks/full_scale.py --rescore attn-4k"
    with pytest.raises(SystemExit, match="rescore: MLP-Deep has no finished, scored run"):
        full_scale.rescore(("MLP-Deep",))
