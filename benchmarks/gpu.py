"""What a GPU changes, measured on a machine with CUDA: ``python benchmarks/gpu.py [PART ...] [--model M] [--minutes T]``.

Parts, each added to ``benchmarks/results/gpu.json`` as it finishes (a part that fails
or is stopped leaves the earlier ones):

1. ``training_steps``: samples per second of each model's training step at its paper-scale
   batch, on the GPU and on one CPU thread of the same machine (the arithmetic alone, the
   batch already in place, as ``training_throughput.py`` measures);
2. ``library``: seconds per abTEM scan (PRISM, both detectors) on the GPU (CuPy) and on the
   CPU of the same machine, for the same random scans of the shipped library, and the
   largest relative difference to the shipped images
   (:func:`ctxlib.simulation.library.verify_library`);
3. ``features``: the paper-scale feature files (``full_scale.py features``) with one process
   per core but two: wall time, rows per second, and the SHA-256 of every file, to compare
   with the files the 2-core machine makes from the same seed;
4. ``training``: epochs of ``--model`` at the paper's scale on the GPU for about
   ``--minutes``, streamed from those files as on the CPU (``full_scale.py MODEL --device
   cuda``; checkpointed in ``data/training-full-seed0`` like the CPU runs, so a schedule
   begun on one machine goes on on another): seconds per epoch, samples per second, the
   GPU's memory peak, recorded as the part ``training MODEL`` (several models may train at
   once, each in its own process: ``--concurrent`` records how many);
5. ``same_features`` (run on the machine of the earlier feature files, no GPU needed): how
   many of the files of part 3 are byte for byte those;
6. ``ptycho``: seconds per iteration of the Part II engine (``ptycho_speed.py``'s timing:
   object only, and with the affine position step) at ``--ptycho-scale`` on the GPU and on
   one CPU thread of the same machine, and the final position RMSE of each (pm), which
   should agree to float32 rounding.

No test depends on this script; the book shows its record where one was made.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import time
from datetime import date

import numpy as np
import torch
from full_scale import (
    CHECKPOINTS,
    FEATURES,
    PeakMemory,
    checkpoint_history,
    record_stage,
    resumed_history,
    run_stage,
)
from ptycho_speed import time_ours
from record import results_dir
from training_throughput import steps_per_second

from ctxlib.base.files import sha256
from ctxlib.learning.spec import MODEL_NAMES
from ctxlib.learning.training import PAPER_TRAIN_ROWS, schedule, torch_threads

COMMAND = "python benchmarks/gpu.py"


def save(part: str, value: dict) -> None:
    """Add one part to ``gpu.json``, with the machine it was measured on (under a lock: parts may run in parallel)."""
    path = results_dir() / "gpu.json"
    results_dir().mkdir(parents=True, exist_ok=True)
    value = {**value, "cpu_cores": os.cpu_count(), "date": date.today().isoformat()}
    with open(results_dir() / ".gpu.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        record = json.loads(path.read_text()) if path.exists() else {"command": COMMAND, "parts": {}}
        if torch.cuda.is_available():
            record.update(gpu=torch.cuda.get_device_name(0), torch=torch.__version__)
        record["parts"][part] = value
        path.write_text(json.dumps(record, indent=2) + "\n")
    print(part, json.dumps(value)[:2000], flush=True)


def training_steps() -> dict:
    rows = {}
    for name in MODEL_NAMES:
        batch = schedule(name, "full").batch_size
        steps = max(2, min(50, 400_000 // batch))
        gpu = steps_per_second(name, batch, steps * 4, device="cuda") * batch
        with torch_threads(1):
            cpu = steps_per_second(name, batch, steps) * batch
        rows[name] = {"batch": batch, "gpu_samples_per_s": gpu, "cpu_1_thread_samples_per_s": cpu,
                      "gpu_paper_schedule_minutes": schedule(name, "full").epochs * PAPER_TRAIN_ROWS / gpu / 60}
    return rows


def library(gpu_scans: int, cpu_scans: int) -> dict:
    from ctxlib.simulation.library import verify_library

    gpu = verify_library(gpu_scans, seed=0, device="cuda")
    cpu = verify_library(cpu_scans, seed=0, device="cpu")
    per_scan = {name: table.drop_duplicates(["host", "dopant", "energy_kev", "motif"])["seconds"].to_numpy()
                for name, table in (("gpu", gpu), ("cpu", cpu))}
    return {"gpu_scans": gpu_scans, "cpu_scans": cpu_scans,
            "gpu_seconds_per_scan": per_scan["gpu"].tolist(), "cpu_seconds_per_scan": per_scan["cpu"].tolist(),
            "gpu_median_after_first_s": float(np.median(per_scan["gpu"][1:])),
            "cpu_median_after_first_s": float(np.median(per_scan["cpu"][1:])),
            "gpu_max_relative_difference": float(gpu["relative_difference"].max()),
            "cpu_max_relative_difference": float(cpu["relative_difference"].max()),
            "scans": gpu.drop_duplicates(["host", "dopant", "energy_kev", "motif"])[
                ["host", "dopant", "energy_kev", "motif"]].to_dict("records")}


def features(workers: int) -> dict:
    start = time.perf_counter()
    outcome = run_stage("features", None, workers=workers)
    seconds = time.perf_counter() - start
    files = sorted(FEATURES.glob("*.npz"))
    rows = sum(int(np.load(path, mmap_mode="r")["y"].shape[0]) for path in files)
    return {"workers": workers, "written": outcome["written"], "reused": outcome["reused"], "seconds": seconds,
            "rows": rows, "rows_per_s": rows / seconds, "sha256": {path.stem: sha256(path) for path in files}}


def same_features() -> dict:
    """How many of the GPU machine's feature files are, byte for byte, the files made here (run it here, after
    ``full_scale.py features``: same seed, another number of workers and machine)."""
    made = json.loads((results_dir() / "gpu.json").read_text())["parts"]["features"]["sha256"]
    here = {path.stem: sha256(path) for path in sorted(FEATURES.glob("*.npz"))}
    return {"files": len(made), "files_here": len(here), "same_bytes": sum(here.get(k) == v for k, v in made.items())}


def training(model: str, minutes: float, concurrent: int) -> dict:
    """Epochs of ``model`` at the paper's scale on the GPU, one call of its stage per epoch (each resumes the
    checkpoint the last one wrote), while another epoch is likely to end within ``minutes``; not scored here (the
    stage's next call, on any machine, scores it once the schedule is finished). Each epoch goes into the model's
    stage record in ``full_scale.json`` too, as a CPU epoch would (wall time and host memory peak)."""
    before = resumed_history(model)  # none where this call starts the run over
    torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    outcome, epoch_seconds = {"of": None}, []
    while outcome["of"] is None or len(checkpoint_history(model)) < outcome["of"]:
        began = time.perf_counter()
        with PeakMemory() as memory:
            outcome = run_stage(model, 1, device="cuda", score=False)
        epoch_seconds.append(round(time.perf_counter() - began, 1))
        outcome = record_stage(model, outcome, epoch_seconds[-1], memory.peak)["stages"][model]  # full_scale.json
        if time.perf_counter() - start + max(epoch_seconds) > minutes * 60:
            break
    seconds = time.perf_counter() - start
    history = checkpoint_history(model)
    trained = history[len(before):]
    samples = sum(epoch["samples"] for epoch in trained)
    return {"model": model, "epochs_this_call": len(trained), "epochs_done": len(history),
            "of": outcome["of"], "seconds": seconds, "seconds_per_epoch": epoch_seconds,
            "samples_per_s": samples / seconds, "gpu_peak_memory_gb": torch.cuda.max_memory_allocated() / 1e9,
            "models_on_the_gpu_at_once": concurrent, "history": trained,
            "checkpoint": str(CHECKPOINTS.relative_to(CHECKPOINTS.parents[1]) / f"{model}.pt")}


def ptycho(scale: str, iterations: int) -> dict:
    gpu = time_ours(scale, iterations, device="cuda")
    with torch_threads(1):
        cpu = time_ours(scale, iterations, device="cpu")
    return {"scale": scale, "iterations": iterations, "gpu": gpu, "cpu_1_thread": cpu,
            "gpu_over_cpu": {m: cpu[m]["seconds_per_iteration"] / gpu[m]["seconds_per_iteration"]
                             for m in ("oracle", "affine")}}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("parts", nargs="*", default=["training_steps", "library", "features", "training", "ptycho"],
                        choices=["training_steps", "library", "features", "training", "same_features", "ptycho"])
    parser.add_argument("--model", default="attn-4k", choices=MODEL_NAMES)
    parser.add_argument("--minutes", type=float, default=5.0,
                        help="train --model while another epoch is likely to end within this many minutes")
    parser.add_argument("--concurrent", type=int, default=1,
                        help="how many models this run trains on the GPU at once (recorded beside the rates)")
    parser.add_argument("--gpu-scans", type=int, default=8)
    parser.add_argument("--cpu-scans", type=int, default=3)
    parser.add_argument("--ptycho-scale", default="quick", choices=["quick", "full"])
    parser.add_argument("--ptycho-iterations", type=int, default=5)
    args = parser.parse_args()
    if not torch.cuda.is_available() and args.parts != ["same_features"]:
        raise SystemExit("gpu.py measures a CUDA device, and torch sees none here (only `same_features` runs without)")
    runs = {"same_features": same_features,
            "training_steps": training_steps,
            "library": lambda: library(args.gpu_scans, args.cpu_scans),
            "features": lambda: features(max(1, (os.cpu_count() or 2) - 2)),
            "training": lambda: training(args.model, args.minutes, args.concurrent),
            "ptycho": lambda: ptycho(args.ptycho_scale, args.ptycho_iterations)}
    for part in args.parts:
        save(f"training {args.model}" if part == "training" else part, runs[part]())
