"""Shared by the benchmark scripts: write a result with the machine it was measured on."""

from __future__ import annotations

import json
import os
import platform
from datetime import date
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def write_result(name: str, result: dict, command: str) -> dict:
    """Add machine, date and command to ``result`` and write ``benchmarks/results/<name>.json``."""
    result = {**result, "cpu_cores": os.cpu_count(), "machine": platform.processor() or platform.machine(),
              "date": date.today().isoformat(), "command": command}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    return result
