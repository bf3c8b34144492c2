"""The book's reading of the recorded benchmarks (ctxlib.book.records)."""

import json

import numpy as np
import pandas as pd
import pytest

from ctxlib.base.paths import ROOT
from ctxlib.book.records import (
    anchor_table,
    checkpoint_provenance,
    default_weights_scale,
    dataset_speed_text,
    full_scale_scores,
    full_scale_stages,
    gpu_comparison,
    paper_schedule_hours,
    pixel_geometry_table,
    ptycho_gpu_text,
    seed_entropy_reduction,
    seed_run,
    standin_comparison,
    superseded_runs,
)
from ctxlib.learning.spec import MODEL_NAMES

RECORDS = ROOT / "benchmarks" / "results"


def test_dataset_speed_text_reads_the_record_and_judges_the_target():
    speed = json.loads((RECORDS / "dataset_speed.json").read_text())
    text = dataset_speed_text(speed, 6)
    fast = speed["features"]["all_cores"]["patches_per_second"]
    assert f"{fast:,} patches/s" in text and "scaled from the 6 doped hosts" in text
    speed["features"]["all_cores"]["patches_per_second"] = speed["features"]["target_patches_per_second"]
    assert "is met" in dataset_speed_text(speed, 6)
    speed["features"]["all_cores"]["patches_per_second"] = speed["features"]["target_patches_per_second"] // 4
    assert "not met (25% of it)" in dataset_speed_text(speed, 6)
    assert "benchmarks/gpu.py" in dataset_speed_text({**speed, "device": "cpu"}, 6)
    on_gpu = dataset_speed_text({**speed, "device": "gpu"}, 6)
    assert "Scans timed on the gpu" in on_gpu and "benchmarks/gpu.py" not in on_gpu
    previous = {"revision": "abc1234", "one_process": {"patches_per_second": 41_000},
                "all_cores": {"patches_per_second": 52_000}}
    beside = dataset_speed_text({**speed, "features": {**speed["features"], "previous": previous}}, 6)
    assert "41,000 patches/s for the pipeline of the previous figure (revision `abc1234`)" in beside
    assert "(previous pipeline, same run: 52,000)" in beside
    profile = {"total_microseconds_per_patch": 12.8, "microseconds_per_patch": {"noise": 3.47, "blur": 2.9}}
    profiled = dataset_speed_text({**speed, "features": {**speed["features"], "profile": profile}}, 6)
    assert "(cProfile, 12.8 µs a patch): noise 3.5 µs; blur 2.9 µs." in profiled
    whole = {"date": "2026-12-04", "doped_hosts": 96, "rows": 54_835_200, "seconds": 330.0,
             "patches_per_second": 166_167, "peak_memory_gb": 1.23}
    made = dataset_speed_text({**speed, "full_features": whole}, 6)
    assert "made for real (all 96 doped hosts, 54.8 M patches" in made
    assert "they took **5.5 min** (166,167 patches/s) with a memory peak of 1.2 GB" in made
    assert "made for real" not in dataset_speed_text({**speed, "full_features": None}, 6)


def test_anchor_table_puts_each_code_beside_ours_and_says_why_one_did_not_run():
    ours = pd.DataFrame({"RMSE (pm)": [9.0, 0.0]}, index=pd.Index(["icgd", "oracle"], name="method"))
    record = {
        "ours": {"oracle": {"seconds_per_iteration": 0.1}, "affine": {"seconds_per_iteration": 0.2}},
        "py4dstem": {"status": "ran", "version": "0.14.18", "iterations": 40,
                     "position correction + global affine": {"seconds_per_iteration": 0.4, "rmse_pm": 18.0}},
        "ptychi": {"status": "pip install failed"},
    }
    table = anchor_table(record, ours, 40)
    assert table.loc[("ctxlib (this page)", "icgd"), "RMSE (pm)"] == 9.0
    assert table.loc[("ctxlib (this page)", "icgd"), "s / iteration"] == 0.2
    assert table.loc[("ctxlib (this page)", "oracle"), "s / iteration"] == 0.1
    assert table.loc[("py4DSTEM 0.14.18", "position correction + its global affine step"), "RMSE (pm)"] == 18.0
    assert ("pty-chi", "did not run: pip install failed") in table.index
    assert len(table) == 4


def test_full_scale_scores_lists_only_the_models_that_finished():
    record = {"stages": {
        "features": {"written": 96, "seconds_total": 1000.0, "date": "2026-12-03"},
        "MLP-Simple": {"epochs": 20, "of": 20, "seconds_total": 7200.0, "date": "2026-12-03", "shuffle": "every-file",
                       "pool_rows": 8_000_000,
                       "test": {"rows": 10, "accuracy": 0.98, "entropy_nats": 0.05, "ece": 0.01, "train_rows": 100,
                                "train_cross_entropy_nats": 0.1, "parameters": 7}},
        "MLP-Deep": {"epochs": 3, "of": 20, "seconds_total": 600.0, "date": "2026-12-03"},
    }}
    table = full_scale_scores(record)
    assert list(table.index) == ["MLP-Simple"]
    assert table.loc["MLP-Simple", "hours"] == 2.0 and table.loc["MLP-Simple", "accuracy"] == 0.98
    assert table.loc["MLP-Simple", "batches"] == "pools of every-file, 8 M rows"
    assert np.isclose(table.loc["MLP-Simple", "bic"], 2 * 100 * 0.1 + 7 * np.log(100))
    assert table.loc["MLP-Simple", "run"] == "current"
    assert full_scale_scores({"stages": {}}).empty
    # a model retraining on new features shows its last finished run, labelled, until the new one is scored
    earlier = {**record["stages"]["MLP-Simple"], "test": {**record["stages"]["MLP-Simple"]["test"], "accuracy": 0.97}}
    record["finished_earlier"] = {"MLP-Deep": {**earlier, "date": "2026-12-01"}, "MLP-Simple": earlier}
    table = full_scale_scores(record)
    assert list(table.index) == ["MLP-Simple", "MLP-Deep"]
    assert table.loc["MLP-Deep", "run"] == "earlier" and table.loc["MLP-Deep", "accuracy"] == 0.97
    assert table.loc["MLP-Simple", "run"] == "current" and table.loc["MLP-Simple", "accuracy"] == 0.98


def test_full_scale_stages_say_how_far_each_stage_got_and_its_memory():
    record = {"stages": {
        "features": {"written": 90, "reused": 6, "seconds_total": 900.0, "date": "2026-12-03", "peak_memory_gb": 0.9},
        "MLP-Deep": {"epochs": 20, "of": 20, "seconds_total": 7709.4, "date": "2026-12-04", "peak_memory_gb": 17.75,
                     "scoring": {"peak_memory_gb": 4.46}},
        "export": {"models": ["MLP-Deep"], "seconds_total": 2.0, "date": "2026-12-04", "peak_memory_gb": 0.24},
        "standins": {"models": {"a": {}, "b": {}}, "seconds_total": 4.0, "date": "2026-12-04", "peak_memory_gb": 0.27},
    }}
    table = full_scale_stages(record)
    assert list(table["done"]) == ["96 feature files", "20 of 20 epochs", "1 models exported", "2 models compared"]
    assert table.loc["features", "wall time (min)"] == 15.0 and table.loc["MLP-Deep", "wall time (min)"] == 128.49
    assert table.loc["MLP-Deep", "memory peak, scored again (GB)"] == 4.46
    assert table.loc["features", "memory peak, scored again (GB)"] == "–"
    assert table.loc["features", "device"] == "–"
    record["stages"]["MLP-Deep"].update(device="cuda", peak_memory_gb=None)  # epochs on a GPU machine, memory unknown
    table = full_scale_stages(record)
    assert table.loc["MLP-Deep", "device"] == "cuda" and table.loc["MLP-Deep", "memory peak (GB)"] == "–"
    assert full_scale_stages({"stages": {}}).empty and full_scale_stages({}).empty


def test_standin_comparison_judges_the_default_model_on_every_stand_in_set():
    scores = {"quick": {"stand-ins kappa": 1.0, "stand-ins accuracy (interior)": 1.0, "twin kappa": 0.90},
              "full": {"stand-ins kappa": 1.0, "stand-ins accuracy (interior)": 1.0, "twin kappa": 0.92}}
    record = {"stages": {"standins": {"date": "2026-12-03", "standins": "WSe2", "models": {"MLP-Simple": scores}}}}
    kappas, text = standin_comparison(record, "MLP-Simple")
    assert list(kappas.columns) == ["stand-ins", "twin"] and kappas.loc[("MLP-Simple", "full"), "twin"] == 0.92
    assert "at least as good on every stand-in and hard case" in text
    scores["full"]["twin kappa"] = 0.89
    assert "worse on twin" in standin_comparison(record, "MLP-Simple")[1]
    assert "has none yet" in standin_comparison(record, "attn-4k")[1]
    assert "until all six models have finished" in standin_comparison(record, "MLP-Simple")[1]
    record["stages"]["standins"]["models"] = {name: scores for name in MODEL_NAMES}
    assert "keeps the quick weights as its default" in standin_comparison(record, "MLP-Simple")[1]
    scores["full"]["twin kappa"] = 0.90
    record["stages"]["features"] = {"written": 96, "reused": 0}  # the doped hosts only: no undoped context
    assert "keeps the quick weights as its default" in standin_comparison(record, "MLP-Simple")[1]
    record["stages"]["features"] = {"written": 13, "reused": 96}
    assert "takes the paper-scale weights as its default" in standin_comparison(record, "MLP-Simple")[1]
    empty, how = standin_comparison({"stages": {}}, "MLP-Simple")
    assert empty.empty and "python benchmarks/full_scale.py export standins" in how


def test_the_ensemble_takes_the_paper_scale_weights_only_where_all_five_members_are_as_good():
    better = {"quick": {"twin kappa": 0.90}, "full": {"twin kappa": 0.95}}
    worse = {"quick": {"twin kappa": 0.90}, "full": {"twin kappa": 0.85}}
    record = {"stages": {"features": {"written": 109, "reused": 0},
                         "standins": {"models": {name: better for name in MODEL_NAMES}}}}
    assert default_weights_scale(record, "ensemble") == "full"
    record["stages"]["standins"]["models"]["attn-400k"] = worse
    assert default_weights_scale(record, "ensemble") == "quick" and default_weights_scale(record, "MLP-Deep") == "full"


def test_the_default_weights_of_classify_follow_the_shipped_stand_in_comparison():
    """The paper-scale weights are ``ctxlib classify``'s default exactly where all six have finished and the default
    model's are at least as good as its quick ones on every stand-in set of the shipped record."""
    from ctxlib.micrographs.cli import DEFAULT_MODEL
    from ctxlib.micrographs.classify import DEFAULT_WEIGHTS_SCALE

    record = json.loads((RECORDS / "full_scale.json").read_text())
    assert DEFAULT_WEIGHTS_SCALE == default_weights_scale(record, DEFAULT_MODEL)



def test_gpu_comparison_puts_each_gpu_figure_beside_the_cpu_one():
    gpu = {"gpu": "NVIDIA H200", "torch": "2.11", "parts": {
        "training_steps": {"MLP-Simple": {"gpu_samples_per_s": 8e5, "cpu_1_thread_samples_per_s": 1e5,
                                          "gpu_paper_schedule_minutes": 9.0}, "cpu_cores": 16, "date": "2026-12-04"},
        "library": {"gpu_scans": 3, "gpu_seconds_per_scan": [16.0, 0.5, 0.3], "gpu_median_after_first_s": 0.4,
                    "cpu_median_after_first_s": 4.0, "gpu_max_relative_difference": 2e-4, "cpu_cores": 16,
                    "date": "2026-12-04"},
        "features": {"workers": 14, "rows": 3_000_000, "seconds": 10.0, "rows_per_s": 3e5, "cpu_cores": 16}}}
    cpu = {"date": "2026-11-22", "models": {"MLP-Simple": {"full_samples_per_s": 2e5}}}
    full = {"cpu_cores": 2, "stages": {"features": {"seconds_total": 100.0}}}
    steps, text = gpu_comparison(gpu, cpu, full)
    assert list(steps.index) == ["MLP-Simple"] and steps.iloc[0]["GPU / this machine"] == 4.0
    assert "0.40 s per scan" in text and "10.0x" in text
    assert "300 k rows/s" in text and "30 k rows/s" in text and "have not been compared" in text
    gpu["parts"]["same_features"] = {"same_bytes": 95, "files": 96}
    assert "95 of 96 files are byte for byte" in gpu_comparison(gpu, cpu, full)[1]
    assert "training on the GPU" not in text and steps.shape[1] == 5  # no training part: no columns, no sentence
    gpu["parts"]["training MLP-Simple"] = {"epochs_this_call": 6, "of": 20, "samples_per_s": 6.7e5,
                                           "models_on_the_gpu_at_once": 6, "date": "2026-12-04",
                                           "source": "stopped by the time limit during epoch 7"}
    steps, text = gpu_comparison(gpu, cpu, full)
    assert steps.loc["MLP-Simple", "paper-scale epochs trained on the GPU (6 models at once)"] == "6 of 20"
    assert steps.loc["MLP-Simple", "streamed (samples/s)"] == 6.7e5
    assert "--concurrent 6" in text and "Stopped by the time limit during epoch 7." in text


def test_ptycho_gpu_text_reads_the_gpu_part_or_says_how_to_measure_it():
    assert "not measured yet" in ptycho_gpu_text(None) and "gpu.py ptycho" in ptycho_gpu_text(None)
    assert "not measured yet" in ptycho_gpu_text({"gpu": "X", "parts": {"training_steps": {}}})
    run = {m: {"seconds_per_iteration": s, "rmse_pm": r} for m, s, r in (("oracle", 0.02, 0.0), ("affine", 0.04, 25.6))}
    slow = {m: {**v, "seconds_per_iteration": 5 * v["seconds_per_iteration"]} for m, v in run.items()}
    part = {"scale": "quick", "iterations": 5, "date": "2026-12-05", "gpu": {**run, "positions": 1024},
            "cpu_1_thread": {**slow, "positions": 1024}, "gpu_over_cpu": {"oracle": 5.0, "affine": 5.0}}
    text = ptycho_gpu_text({"gpu": "NVIDIA H200", "parts": {"ptycho": part}})
    assert "NVIDIA H200" in text and "0.040 s" in text and "0.200 s" in text and "5.0x" in text and "1,024" in text


def test_checkpoint_provenance_names_each_models_features_and_whether_todays_code_makes_them(tmp_path):
    from ctxlib.base.files import source_digest
    from ctxlib.learning.dataset import FEATURE_CODE

    today = source_digest(*FEATURE_CODE)
    for model, data, code in (("MLP-Simple", "aa" * 32, "bb" * 32), ("attn-4k", "cc" * 32, today)):
        (tmp_path / f"{model}.json").write_text(json.dumps({
            "config": {"model": model, "data": data}, "history": [{"epoch": 1}, {"epoch": 2}],
            "provenance": {"features": {"WSe2-Ti": {"code": code}, "MoS2-V": None}}}))
    table = checkpoint_provenance(tmp_path)
    assert table.loc["MLP-Simple", "features digest"] == "aaaaaaaa" and table.loc["attn-4k", "epochs"] == 2
    assert table.loc["MLP-Simple", "feature code"] == "bbbbbbbb"
    assert list(table["today's feature code"]) == [False, True]  # rows sorted by file name: MLP-Simple, attn-4k


def test_seed_run_finds_the_run_of_a_seed_and_names_the_seeds_it_has():
    record = {"runs": [{"seed": 2, "test_rows": 5}, {"seed": 0, "test_rows": 7}]}
    assert seed_run(record, 0) is record["runs"][1] and seed_run(record, 2)["test_rows"] == 5
    with pytest.raises(KeyError, match=r"no run of seed 1; it has \[2, 0\]"):
        seed_run(record, 1)
    shipped = json.loads((RECORDS / "seeds.json").read_text())
    assert seed_run(shipped, 0)["seed"] == 0


def test_seed_entropy_reduction_is_one_minus_the_context_mean_over_the_entropy_without():
    entropies = {"MLP-NoContext": 0.5, "MLP-Simple": 0.1, "MLP-Deep": 0.1, "attn-4k": 0.1, "attn-200k": 0.2,
                 "attn-400k": 0.25}
    record = {"runs": [{"seed": 0, "models": {n: {"entropy_nats": e} for n, e in entropies.items()}}]}
    assert seed_entropy_reduction(record) == pytest.approx([1 - 0.15 / 0.5])


def test_pixel_geometry_table_puts_each_rules_scores_side_by_side_in_percent():
    arm = {"MLP-Simple": {"test_accuracy": 0.9, "standin_kappa": 0.8, "standin_accuracy": 0.85},
           "attn-4k": {"test_accuracy": 0.95, "standin_kappa": 0.7, "standin_accuracy": 0.75}}
    other = {n: {k: v - 0.1 for k, v in scores.items()} for n, scores in arm.items()}
    table = pixel_geometry_table({"arms": {"per-axis": arm, "mean": other}})
    assert list(table.columns) == [(rule, column) for rule in ("per-axis", "mean") for column in
                                   ("test accuracy (%)", "stand-in kappa", "stand-in accuracy (%)")]
    assert list(table.index) == ["MLP-Simple", "attn-4k"]
    assert table.loc["attn-4k", ("per-axis", "test accuracy (%)")] == pytest.approx(95.0)
    assert table.loc["attn-4k", ("mean", "stand-in kappa")] == pytest.approx(0.6)  # kappa stays a fraction
    assert table.loc["MLP-Simple", ("mean", "stand-in accuracy (%)")] == pytest.approx(75.0)
    shipped = pixel_geometry_table(json.loads((RECORDS / "pixel_geometry.json").read_text()))
    assert set(shipped.columns.get_level_values(0)) == {"per-axis", "mean"}


def test_paper_schedule_hours_add_up_the_six_models():
    record = {"models": {name: {"paper_schedule_hours": k + 0.5} for k, name in enumerate(MODEL_NAMES)}}
    assert paper_schedule_hours(record) == pytest.approx(sum(k + 0.5 for k in range(6)))
    shipped = json.loads((RECORDS / "training_throughput.json").read_text())
    assert paper_schedule_hours(shipped) > 0


def test_superseded_runs_one_row_per_model_or_none():
    record = {"superseded": {"MLP-NoContext": {
        "shuffle": "whole-files", "pool_rows": 4_000_000, "last_epoch": {"accuracy": 0.9, "loss": 0.3},
        "test": {"accuracy": 0.6, "train_cross_entropy_nats": 1.2}, "why": "pools of whole files"}}}
    table = superseded_runs(record)
    assert list(table.index) == ["MLP-NoContext"]
    row = table.loc["MLP-NoContext"]
    assert row["batches"] == "pools of whole-files, 4 M rows" and row["why superseded"] == "pools of whole files"
    assert row["last epoch, training accuracy (running, %)"] == pytest.approx(90.0)
    assert row["test accuracy (%)"] == pytest.approx(60.0)
    assert row["training rows, cross-entropy of the final model (nats)"] == 1.2
    assert superseded_runs({"stages": {}}).empty
