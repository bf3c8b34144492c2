"""The paper-scale runner's record (benchmarks/full_scale.py): totals add up within one run only."""

import json
import sys

from ctxlib.base.paths import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import full_scale  # noqa: E402
import record  # noqa: E402


def test_a_resumed_stage_adds_its_time_and_a_fresh_one_starts_its_total_again(tmp_path, monkeypatch):
    monkeypatch.setattr(full_scale, "RESULTS", tmp_path)
    monkeypatch.setattr(record, "RESULTS", tmp_path)
    full_scale.record_stage("MLP-Simple", {"epochs": 5, "of": 20, "fresh": True}, 100.0, 2_000_000_000)
    full_scale.record_stage("MLP-Simple", {"epochs": 20, "of": 20, "fresh": False}, 300.0, 1_000_000_000)
    stage = json.loads((tmp_path / "full_scale.json").read_text())["stages"]["MLP-Simple"]
    assert (stage["seconds_this_call"], stage["seconds_total"], stage["peak_memory_gb"]) == (300.0, 400.0, 2.0)
    assert "fresh" not in stage
    full_scale.record_stage("MLP-Simple", {"epochs": 2, "of": 20, "fresh": True}, 50.0, 500_000_000)
    full_scale.record_stage("features", {"written": 96, "reused": 0, "fresh": True}, 10.0, 1)
    stages = json.loads((tmp_path / "full_scale.json").read_text())["stages"]
    assert stages["MLP-Simple"]["seconds_total"] == 50.0 and stages["MLP-Simple"]["peak_memory_gb"] == 0.5
    assert stages["features"]["written"] == 96  # stages recorded one after another keep each other
