"""Shared by the benchmark scripts: write a result with the machine it was measured on."""

from __future__ import annotations

import json
import os
import platform
import time
from datetime import date
from pathlib import Path

from ctxlib.base import config


def results_dir() -> Path:
    """Where records are written and read: the ``results_root`` knob (default ``benchmarks/results``)."""
    return config.get("results_root")


def measured(command: str) -> dict:
    """Where, when and by which command a result was measured: ``cpu_cores``, ``machine``, ``date``, ``command``."""
    return {"cpu_cores": os.cpu_count(), "machine": platform.processor() or platform.machine(),
            "date": date.today().isoformat(), "command": command}


def write_result(name: str, result: dict, command: str) -> dict:
    """Add machine, date and command to ``result`` (:func:`measured`) and write ``<results_root>/<name>.json``."""
    result = {**result, **measured(command)}
    results_dir().mkdir(parents=True, exist_ok=True)
    (results_dir() / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def best_seconds(function, repeats: int, warm_up: bool = True) -> float:
    """Wall time of the fastest of ``repeats`` calls, after one untimed call when ``warm_up``
    (FFT plans, numba compilation, caches)."""
    if warm_up:
        function()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best
