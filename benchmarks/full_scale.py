"""The paper's scale as resumable stages, timed: ``python benchmarks/full_scale.py [STAGE ...]``.

Stages, in order (default: all that are not finished):

* ``features``: the ~55 M rows (96 doped hosts x 6 contexts x 34 motifs x 2,800
  realisations) into ``_build/data/features-full-seed0`` on a local dask cluster of two
  single-threaded processes; one file per doped host, so a stop loses at most the files
  being written;
* one stage per model (``MLP-NoContext`` ... ``attn-400k``): the paper's schedule,
  checkpointed after every epoch in ``_build/training/full-seed0`` (a stop loses at most
  one epoch); ``--epochs N`` stops a stage after N epochs of this call, to spread a model
  over several sessions;
* ``export``: the six models' test accuracy and the weights into ``data/weights-full``
  (manifest with checksums; ``load_pretrained(..., scale="full")``).

Every stage records its wall time and memory peak (the resident memory of this process
and of its cluster's workers, sampled every 0.5 s) in
``benchmarks/results/full_scale.json``, which notebooks 03 and 04 show.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from datetime import date
from pathlib import Path

import psutil
from record import RESULTS, write_result

from ctxlib.base.paths import DATA, ROOT
from ctxlib.learning.spec import MODEL_NAMES

FEATURES = ROOT / "_build" / "data" / "features-full-seed0"
CHECKPOINTS = ROOT / "_build" / "training" / "full-seed0"
STAGES = ("features", *MODEL_NAMES, "export")


class PeakMemory:
    """Largest resident memory, bytes, of this process and all its children while the ``with`` block runs."""

    def __init__(self, every_s: float = 0.5):
        self.every_s, self.peak, self._stop = every_s, 0, threading.Event()

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for process in [me, *me.children(recursive=True)]:
                try:
                    total += process.memory_info().rss
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


def run_stage(stage: str, epochs: int | None) -> dict:
    from ctxlib.learning.dataset import build_features
    from ctxlib.learning.training import load_checkpoint, schedule, train_models

    if stage == "features":
        run = build_features(FEATURES, "full", 0, workers=2)
        return {"written": len(run.written), "reused": len(run.reused), "missing_library": run.missing_library}
    if stage == "export":
        from ctxlib.learning.pretrained import build_scores, export_weights

        trained = {name: load_checkpoint(CHECKPOINTS / f"{name}.pt") for name in MODEL_NAMES}
        manifest = export_weights(trained, "full", 0, build_scores(trained, FEATURES, 0), DATA / "weights-full")
        return {"scores": manifest["scores"]}
    target = schedule(stage, "full").epochs
    done = _epochs_done(stage)
    stop = target if epochs is None else min(target, done + epochs)
    train_models(FEATURES, "full", 0, CHECKPOINTS, models=(stage,), epochs=stop if stop < target else None)
    history = load_checkpoint(CHECKPOINTS / f"{stage}.pt").history
    return {"epochs": len(history), "of": target, "last_epoch": history[-1] if history else None}


def _epochs_done(model: str) -> int:
    from ctxlib.learning.training import load_checkpoint

    path = CHECKPOINTS / f"{model}.pt"
    return load_checkpoint(path).epoch if path.exists() and path.with_suffix(".json").exists() else 0


def main(stages: tuple[str, ...], epochs: int | None) -> dict:
    path = RESULTS / "full_scale.json"
    record = json.loads(path.read_text()) if path.exists() else {"stages": {}}
    for stage in stages:
        start = time.perf_counter()
        with PeakMemory() as memory:
            outcome = run_stage(stage, epochs)
        seconds = time.perf_counter() - start
        previous = record["stages"].get(stage, {})
        record["stages"][stage] = {
            **outcome, "date": date.today().isoformat(),
            "seconds_this_call": round(seconds, 1),
            "seconds_total": round(previous.get("seconds_total", 0) + seconds, 1),
            "peak_memory_gb": round(max(memory.peak, previous.get("peak_memory_bytes", 0)) / 1e9, 2),
            "peak_memory_bytes": max(memory.peak, previous.get("peak_memory_bytes", 0)),
        }
        record = write_result("full_scale", record, "python benchmarks/full_scale.py")
        print(stage, json.dumps(record["stages"][stage]))
    return record


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stages", nargs="*", choices=STAGES, help="stages to run (default: all, in order)")
    parser.add_argument("--epochs", type=int, help="at most this many more epochs per model stage in this call")
    args = parser.parse_args()
    main(tuple(args.stages or STAGES), args.epochs)
