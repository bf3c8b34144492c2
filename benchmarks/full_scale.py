"""The paper's scale as resumable stages, timed: ``python benchmarks/full_scale.py [STAGE ...]``.

Stages, in order (default: all that are not finished):

* ``features``: the ~55 M rows (96 doped hosts x 6 contexts x 34 motifs x 2,800
  realisations) into ``_build/data/features-full-seed0`` on a local dask cluster of two
  single-threaded processes; one file per doped host, so a stop loses at most the files
  being written;
* one stage per model (``MLP-NoContext`` ... ``attn-400k``): the paper's schedule,
  checkpointed after every epoch in ``data/training-full-seed0`` (a stop loses at most
  one epoch; the folder is kept in the repository, so a run spread over machines goes on
  where the last one stopped, once the features are made again: they are the same bytes,
  and a checkpoint whose feature digest differs trains afresh, saying why); ``--epochs N``
  stops a stage after N epochs of this call. A model that has finished its schedule is
  scored on the test rows (accuracy, mean posterior entropy in nats, ECE) and the scores
  go into its stage record;
* ``export``: the weights of every model that has finished and been scored, with its test
  scores, into ``data/weights-full`` (manifest with checksums;
  ``load_pretrained(..., scale="full")``); run it again as more models finish;
* ``standins``: every exported full-scale model beside its quick-scale twin on the
  stand-in micrographs of section 6 (kappa, interior accuracy), the test of whether
  ``ctxlib classify`` should default to the full-scale weights.

``--rescore MODEL ...`` scores finished models again from their checkpoints, without
training (:func:`test_scores`: the test rows, and the training rows behind BIC, each in
random batches that mix every doped host), and replaces their records' scores.

Every stage records its wall time and memory peak (the resident anonymous memory of this
process and of its cluster's workers, sampled every 0.5 s, see :class:`PeakMemory`) in
``benchmarks/results/full_scale.json``, which notebooks 03 and 04 show; ``seconds_total``
adds up the calls of one run (a stage that starts over starts its total again). Stages
may run in parallel processes (e.g. two models, one core each): the record is updated
under a lock.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import threading
import time
from datetime import date
from pathlib import Path

import psutil
from record import results_dir, write_result

from ctxlib.learning.scale import paper_scale_folders
from ctxlib.learning.spec import MODEL_NAMES


def features_dir() -> Path:
    """The paper-scale feature files of seed 0 (made again on each machine, under ``_build/``)."""
    return paper_scale_folders(0)["features_dir"]


def checkpoints_dir() -> Path:
    """The paper-scale checkpoints of seed 0, under the ``data_root`` knob (:mod:`ctxlib.base.config`)."""
    return paper_scale_folders(0)["weights_dir"]


STAGES = ("features", *MODEL_NAMES, "export", "standins")


class PeakMemory:
    """Largest resident anonymous memory, bytes, of this process and all its children while the ``with`` block runs.

    That is the resident set less its file-backed and shared pages (``rss - shared``): the
    feature files that training maps into memory (:func:`ctxlib.base.files.npz_memmap`) sit in
    the page cache, count in the resident set of every process that maps them, and are
    given back under memory pressure; what a machine must hold is the rest.
    """

    def __init__(self, every_s: float = 0.5):
        self.every_s, self.peak, self._stop = every_s, 0, threading.Event()

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for process in [me, *me.children(recursive=True)]:
                try:
                    info = process.memory_info()
                    total += info.rss - info.shared
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.every_s)

    def __enter__(self) -> "PeakMemory":
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def run_stage(stage: str, epochs: int | None, device: str = "cpu", workers: int = 2, score: bool = True) -> dict:
    """Run one stage (a model's on torch ``device``; the features on ``workers`` processes); the outcome says,
    under ``"fresh"``, whether it started over. A model that finishes its schedule is scored on the test rows
    unless ``score`` is False (a later call of its stage, which has no epoch left to train, scores it)."""
    from ctxlib.learning.dataset import build_features
    from ctxlib.learning.training import load_checkpoint, schedule, train_models

    if stage == "features":
        run = build_features(features_dir(), "full", seed=0, workers=workers)
        return {"written": len(run.written), "reused": len(run.reused), "missing_library": run.missing_library,
                "fresh": not run.reused}
    if stage == "export":
        from ctxlib.learning.pretrained import export_weights, weights_folder

        scored = finished_models()
        if not scored:
            raise SystemExit("export: no model has finished the paper's schedule and been scored yet")
        trained = {name: load_checkpoint(checkpoints_dir() / f"{name}.pt") for name in scored}
        manifest = export_weights(trained, "full", 0, scored, directory=weights_folder("full"))
        return {"models": list(manifest["scores"]), "fresh": True}
    if stage == "standins":
        return {**standin_comparison(), "fresh": True}
    target = schedule(stage, "full").epochs
    before = resumed_history(stage)
    done = len(before)
    stop = target if epochs is None else min(target, done + epochs)
    trained = train_models(features_dir(), "full", seed=0, checkpoint_dir=checkpoints_dir(), models=(stage,),
                           epochs=stop if stop < target else None, device=device)
    history = trained[stage].history
    config = trained[stage].config
    outcome = {"epochs": len(history), "of": target, "first_epoch": history[0] if history else None,
               "last_epoch": history[-1] if history else None,
               "shuffle": config.shuffle, "pool_rows": config.pool_rows,
               "fresh": not before or history[:done] != before}  # no earlier epochs, or a checkpoint that was not resumed
    if len(history) > done or outcome["fresh"]:
        outcome["device"] = device  # else the record keeps the device that trained it (a call that only scores)
    if len(history) == target and score:
        outcome["test"] = test_scores({stage: trained[stage]})[stage]
    return outcome


def test_scores(checkpoints: dict) -> dict[str, dict]:
    """Finished models' accuracy, mean posterior entropy (nats) and ECE on the test rows, and what BIC needs: the
    mean cross-entropy on the training rows (nats) and the parameter count.

    The test rows are scored as notebook 03 evaluates: all in memory, in seeded random batches of each model's
    training batch size. The training rows (44 M, too many to hold) are streamed as training streams them
    (:func:`ctxlib.learning.reading.stream_batches`: pools holding a random share of every file), in batches of
    the largest batch size, each cut into random batches of each model's own: every batch an attention model sees
    mixes all doped hosts, as in training. (Until 2026-12-04 the training rows were streamed one feature file at a
    time, so an attention model's batches held one host's rows: attn-200k's cross-entropy read 4.37 nats and its
    BIC was not comparable.)
    """
    import numpy as np

    from ctxlib.learning.evaluation import part_predictions, predict_proba, score_table
    from ctxlib.learning.metrics import mean_cross_entropy
    from ctxlib.learning.models import n_parameters
    from ctxlib.learning.reading import stream_batches
    from ctxlib.learning.training import batch_sizes_of, models_of

    models, batches = models_of(checkpoints), batch_sizes_of(checkpoints)
    probabilities, y, _ = part_predictions(models, batches, features_dir())
    table = score_table(probabilities, y)
    del probabilities
    totals, rows = dict.fromkeys(models, 0.0), 0
    for X, y_train in stream_batches(features_dir(), max(batches.values()), np.random.default_rng(0)):
        for name, model in models.items():
            p = predict_proba(model, name, X, batch_size=batches[name])
            totals[name] += mean_cross_entropy(p, y_train) * len(y_train)
        rows += len(y_train)
    return {name: {"rows": len(y), **{key: float(value) for key, value in table.loc[name].items()},
                   "train_rows": rows, "train_cross_entropy_nats": totals[name] / rows,
                   "parameters": n_parameters(model), "scored": date.today().isoformat()}
            for name, model in models.items()}


def rescore(names: tuple[str, ...]) -> dict[str, dict]:
    """Score finished models again (:func:`test_scores`) from their checkpoints, without training; each must hold
    the finished run its stage record names. Returns the new scores by model."""
    from ctxlib.learning.training import load_checkpoint

    finished = finished_models()
    unfinished = [name for name in names if name not in finished]
    if unfinished:
        raise SystemExit(f"rescore: {', '.join(unfinished)} has no finished, scored run to score again; "
                         f"finished: {', '.join(finished) or 'none'}")
    return test_scores({name: load_checkpoint(checkpoints_dir() / f"{name}.pt") for name in names})


def record_scores(scores: dict[str, dict], seconds: float, peak: int) -> dict:
    """Replace the ``test`` entries of the scored models' stage records (training time untouched); the scoring's
    own wall time and memory peak are kept beside them, under ``scoring``."""
    path = results_dir() / "full_scale.json"
    with open(results_dir() / ".full_scale.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        record = json.loads(path.read_text())
        for name, test in scores.items():
            record["stages"][name]["test"] = test
            record["stages"][name]["scoring"] = {"models": list(scores), "seconds": round(seconds, 1),
                                                 "peak_memory_gb": round(peak / 1e9, 2),
                                                 "command": f"python benchmarks/full_scale.py --rescore {' '.join(scores)}"}
        return write_result("full_scale", record, "python benchmarks/full_scale.py")


def standin_comparison() -> dict:
    """Kappa and interior accuracy on the section-6 stand-ins of every exported full-scale model and its quick twin."""
    from ctxlib.learning.pretrained import load_models, read_weights_manifest, weights_folder
    from ctxlib.micrographs.validation import standin_means
    from ctxlib.simulation.standins import HARD_CASES, TEST_DOPANTS, load_hard_case, load_test_micrograph

    names = tuple(read_weights_manifest(weights_folder("full"))["scores"])
    micrographs = {dopant: load_test_micrograph(dopant) for dopant in TEST_DOPANTS}
    models = {}
    for scale in ("quick", "full"):
        checkpoints = load_models(weights_folder(scale), names)
        means = {"stand-ins": standin_means(micrographs, checkpoints)}
        for case_name, case in HARD_CASES.items():
            means[case_name] = standin_means({case.dopant: load_hard_case(case_name)}, checkpoints,
                                             host=case.field.host, energy_kev=case.field.energy_kev)
        for name in names:
            models.setdefault(name, {})[scale] = {
                f"{where} {column}": float(table.droplevel("mode").loc[name, column])
                for where, table in means.items() for column in ("kappa", "accuracy (interior)")}
    return {"standins": f"WSe2 + {', '.join(TEST_DOPANTS)}, HAADF and MAADF, 80 keV; the hard cases "
                        f"{', '.join(HARD_CASES)}; attention models frozen; means over the detectors",
            "models": models}


def finished_models() -> dict[str, dict]:
    """The test scores of every model whose checkpoint holds the finished run its stage record scored."""
    path = results_dir() / "full_scale.json"
    stages = json.loads(path.read_text())["stages"] if path.exists() else {}
    return {name: {"test_accuracy": stages[name]["test"]["accuracy"], "test_rows": stages[name]["test"]["rows"],
                   "test_entropy_nats": stages[name]["test"]["entropy_nats"], "test_ece": stages[name]["test"]["ece"]}
            for name in MODEL_NAMES
            if "test" in stages.get(name, {}) and checkpoint_history(name)[-1:] == [stages[name]["last_epoch"]]
            and len(checkpoint_history(name)) == stages[name]["of"]}


def checkpoint_history(model: str) -> list[dict]:
    """The epochs of ``model``'s checkpoint so far (none: no checkpoint)."""
    from ctxlib.learning.training import load_checkpoint

    path = checkpoints_dir() / f"{model}.pt"
    return load_checkpoint(path).history if path.exists() and path.with_suffix(".json").exists() else []


def resumed_history(model: str) -> list[dict]:
    """The epochs of ``model``'s checkpoint that its next training call goes on from: none where the checkpoint
    is of other features or another config (that call starts the run over, so ``--epochs N`` counts from 0)."""
    from dataclasses import replace

    from ctxlib.learning.reading import features_digest
    from ctxlib.learning.training import resume_point, schedule

    config = replace(schedule(model, "full"), data=features_digest(features_dir()))
    saved, _ = resume_point(config, checkpoints_dir() / f"{model}.pt")
    return saved.history if saved is not None else []


def record_stage(stage: str, outcome: dict, seconds: float, peak: int | None) -> dict:
    """Add one stage's outcome to ``full_scale.json``, read and written under a lock (stages may run in parallel).

    A model's record of a finished, scored run that a new run replaces (changed data or config) is kept under
    ``finished_earlier`` until the new run is scored, so the last finished scores stay on record. ``peak`` is
    None where the memory was not measured (kept as null)."""
    path = results_dir() / "full_scale.json"
    with open(results_dir() / ".full_scale.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        record = json.loads(path.read_text()) if path.exists() else {"stages": {}}
        previous = record["stages"].get(stage, {})
        if outcome.pop("fresh") or previous.get("first_epoch") != outcome.get("first_epoch"):
            if "test" in previous:
                record.setdefault("finished_earlier", {})[stage] = previous
            previous = {}  # a run that started over, or a record of another run (a changed config or data)
        if "test" in outcome:
            record.get("finished_earlier", {}).pop(stage, None)
        peaks = [p for p in (peak, previous.get("peak_memory_bytes")) if p is not None]
        devices = [*previous.get("device", "").split(", "), outcome.pop("device", "")]  # e.g. "cuda, cpu"
        record["stages"][stage] = {
            **({"device": ", ".join(dict.fromkeys(d for d in devices if d))} if any(devices) else {}),
            **outcome, "date": date.today().isoformat(),
            "seconds_this_call": round(seconds, 1),
            "seconds_total": round(previous.get("seconds_total", 0) + seconds, 1),
            "peak_memory_gb": round(max(peaks) / 1e9, 2) if peaks else None,
            "peak_memory_bytes": max(peaks) if peaks else None,
        }
        return write_result("full_scale", record, "python benchmarks/full_scale.py")


def main(stages: tuple[str, ...], epochs: int | None, device: str = "cpu", workers: int = 2,
         rescored: tuple[str, ...] = ()) -> None:
    if rescored:
        start = time.perf_counter()
        with PeakMemory() as memory:
            scores = rescore(rescored)
        record = record_scores(scores, time.perf_counter() - start, memory.peak)
        for name in rescored:
            print(name, json.dumps(record["stages"][name]["test"]))
    for stage in stages:
        start = time.perf_counter()
        with PeakMemory() as memory:
            outcome = run_stage(stage, epochs, device, workers)
        record = record_stage(stage, outcome, time.perf_counter() - start, memory.peak)
        print(stage, json.dumps(record["stages"][stage]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stages", nargs="*", metavar="STAGE",
                        help=f"stages to run, of {', '.join(STAGES)} (default: all, in order)")
    parser.add_argument("--epochs", type=int, help="at most this many more epochs per model stage in this call")
    parser.add_argument("--device", default="cpu", help="torch device of the model stages (default: cpu)")
    parser.add_argument("--workers", type=int, default=2, help="processes of the features stage (default: 2)")
    parser.add_argument("--rescore", nargs="+", default=(), choices=MODEL_NAMES, metavar="MODEL",
                        help="score these finished models again from their checkpoints (no training), then stop")
    args = parser.parse_args()
    unknown = [stage for stage in args.stages if stage not in STAGES]
    if unknown:
        parser.error(f"unknown stage {', '.join(unknown)}; the stages are {', '.join(STAGES)}")
    if args.rescore:
        main((), None, rescored=tuple(args.rescore))
    else:
        main(tuple(args.stages or STAGES), args.epochs, args.device, args.workers)
