"""Speed of the §4 pipeline: ``python benchmarks/dataset_speed.py``.

* seconds per library scan (both detectors from one scan) on this machine's CPU, for
  PRISM and plain multislice at each beam energy, one scan at a time on one core
  (the generator runs one scan per core), best of ``repeats``;
* the mean wall time of a scan as the generator recorded it (``data/library/manifest.json``;
  two scans run at once, sharing the machine with whatever else ran), and the whole
  library's wall time on two cores estimated from the one-core PRISM figures;
* features per second: degradation + patches + Zernike + context for one doped host.

Writes ``benchmarks/results/dataset_speed.json``, which notebook 02 shows. A GPU figure
is added only where one was measured (``--device gpu``).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from record import write_result

from ctxlib.catalog import ENERGIES_KEV
from ctxlib.dataset import host_features
from ctxlib.library import load_library, read_manifest
from ctxlib.simulation import MotifSimulation, simulate_motif


def best_seconds(function, repeats: int) -> float:
    """Wall time of the fastest of ``repeats`` calls (the first call warms FFTW plans)."""
    function()
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def main(device: str = "cpu", repeats: int = 2) -> dict:
    scans = {}
    for method in ("prism", "multislice"):
        for energy in ENERGIES_KEV:
            settings = MotifSimulation(method=method)
            scans[f"{method} {energy} keV"] = round(best_seconds(
                lambda: simulate_motif("WSe2", "Ti", "VacX[M,M,D]", energy, settings, device), repeats), 3)
    files = read_manifest()["files"]
    scan_seconds = sum(f["scan_seconds"] for f in files.values())
    entry = load_library("WSe2", "Ti")
    start = time.perf_counter()
    rows = len(host_features(entry, realisations=8, seed=0)["X"])
    features_per_second = rows / (time.perf_counter() - start)
    result = {
        "device": device,
        "seconds_per_scan_one_core": scans,
        "library_files": len(files),
        "library_scans": 102 * len(files),
        "library_seconds_per_scan_recorded": round(scan_seconds / max(1, 102 * len(files)), 3),
        "library_hours_two_cores_estimated": round(9792 * np.mean([v for k, v in scans.items() if "prism" in k]) / 2 / 3600, 2),
        "features_per_second": round(features_per_second),
    }
    return write_result("dataset_speed", result, "python benchmarks/dataset_speed.py")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    print(json.dumps(main(parser.parse_args().device), indent=2))
