"""The environment knobs: one place, checked once, scoped by ``with``, started from environment variables."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ctxlib.base import config


def test_a_with_block_sets_knobs_and_restores_them():
    before = {name: config.get(name) for name in config.KNOBS}
    with config.set(device="cuda:1", workers=7, progress=False, results_root="/tmp/somewhere"):
        assert config.get("device") == "cuda:1"
        assert config.get("workers") == 7
        assert config.get("progress") is False
        assert config.get("results_root") == Path("/tmp/somewhere")
        with config.set(workers=3):
            assert config.get("workers") == 3
        assert config.get("workers") == 7
    assert {name: config.get(name) for name in config.KNOBS} == before


def test_set_without_with_lasts_until_changed_back():
    previous = config.get("progress")
    try:
        config.set(progress=not previous)
        assert config.get("progress") is (not previous)
    finally:
        config.set(progress=previous)


@pytest.mark.parametrize("knobs, message", [
    ({"device": "gpu"}, "device='gpu' is not allowed: use 'cpu', 'cuda' or 'cuda:N'"),
    ({"device": "cuda:x"}, "device='cuda:x'"),
    ({"workers": 0}, "workers=0 is not allowed: use an integer from 1 to 1024"),
    ({"workers": True}, "workers=True"),
    ({"progress": "yes"}, "progress='yes' is not allowed: use True or False"),
    ({"data_root": ""}, "data_root=''"),
    ({"colour": "red"}, "'colour' is not a ctxlib config knob: use one of device, workers"),
])
def test_a_bad_knob_is_refused_naming_value_and_choices_and_nothing_changes(knobs, message):
    before = {name: config.get(name) for name in config.KNOBS}
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        config.set(**{"results_root": "/tmp/elsewhere", **knobs})
    assert {name: config.get(name) for name in config.KNOBS} == before


def test_resolve_uses_the_knob_only_where_no_value_is_given():
    with config.set(device="cuda"):
        assert config.resolve("device") == "cuda"
        assert config.resolve("device", "cpu") == "cpu"
        assert config.abtem_device() == "gpu"
    assert config.abtem_device("cpu") == "cpu"
    with pytest.raises(ValueError, match="device='tpu'"):
        config.resolve("device", "tpu")


@pytest.mark.parametrize("variable, value, expected", [
    ("CTXLIB_WORKERS", "5", "5"),
    ("CTXLIB_PROGRESS", "false", "False"),
    ("CTXLIB_DEVICE", "cuda", "cuda"),
    ("CTXLIB_DATA", "/tmp/x", "/tmp/x"),
])
def test_knobs_start_from_environment_variables(variable, value, expected):
    knob = {"CTXLIB_WORKERS": "workers", "CTXLIB_PROGRESS": "progress", "CTXLIB_DEVICE": "device",
            "CTXLIB_DATA": "data_root"}[variable]
    code = f"from ctxlib.base import config; print(config.get({knob!r}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, variable: value}).stdout
    assert out.strip() == expected


def test_a_bad_environment_variable_names_itself():
    code = "import ctxlib.base.config"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "CTXLIB_DEVICE": "gpu"})
    assert run.returncode != 0
    assert "CTXLIB_DEVICE='gpu'" in run.stderr and "torch's names" in run.stderr


def test_the_device_knob_reaches_entry_points_that_are_not_given_one():
    """With ``device="cuda"`` set and no GPU visible, an entry point left to the knob fails for the GPU's absence,
    and the same call given ``device="cpu"`` runs: the knob reached it and an explicit value wins."""
    import numpy as np
    import torch

    from ctxlib.ptycho.reconstruct import initial_state

    if torch.cuda.is_available():
        pytest.skip("a GPU is visible: the knob's effect is then not an error")
    probe = np.ones((4, 4), np.complex64)
    with config.set(device="cuda"):
        with pytest.raises(ValueError, match="'cuda' is not available here"):
            initial_state((1, 8, 8), np.zeros((1, 2)), probe, (0.1, 0.1))
        state = initial_state((1, 8, 8), np.zeros((1, 2)), probe, (0.1, 0.1), device="cpu")
    assert state.obj.device.type == "cpu"


def test_the_progress_knob_silences_training_bars(capsys):
    import numpy as np

    from ctxlib.learning.training import TrainingConfig, train

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(32, 31)).astype(np.float32), rng.integers(0, 5, 32)
    with config.set(progress=False):
        train(TrainingConfig("MLP-Simple", 1, 16), lambda r: [(X, y)])
    assert "MLP-Simple" not in capsys.readouterr().err
    train(TrainingConfig("MLP-Simple", 1, 16), lambda r: [(X, y)])
    assert "MLP-Simple" in capsys.readouterr().err
