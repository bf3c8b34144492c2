"""Speed of the §4 pipeline: ``python benchmarks/dataset_speed.py``.

* seconds per library scan (both detectors from one scan) on this machine's CPU, for
  PRISM and plain multislice at each beam energy, one scan at a time on one core
  (the generator runs one scan per core), best of ``repeats``;
* the generator end to end: wall time of ``generate_library`` for one doped host
  (102 scans, default local cluster of two processes) into a scratch folder, and the
  whole library's time extrapolated from it (96 doped hosts); two scans at once share
  the memory bandwidth, so two cores give less than twice one core's rate;
* the mean wall time of a scan as the generator recorded it in
  ``data/library/manifest.json`` (while the machine also did other work);
* features per second: degradation + patches + Zernike + context for one doped host.

Writes ``benchmarks/results/dataset_speed.json``, which notebook 02 shows. A GPU figure
is added only where one was measured (``--device gpu``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from record import best_seconds, write_result

from ctxlib.learning.dataset import host_features
from ctxlib.materials.catalog import ENERGIES_KEV
from ctxlib.simulation.library import generate_library, load_library, read_manifest
from ctxlib.simulation.scans import MotifSimulation, simulate_motif


def main(device: str = "cpu", repeats: int = 2) -> dict:
    scans = {}
    for method in ("prism", "multislice"):
        for energy in ENERGIES_KEV:
            settings = MotifSimulation(method=method)
            scans[f"{method} {energy} keV"] = round(best_seconds(
                lambda: simulate_motif("WSe2", "Ti", "VacX[M,M,D]", energy, settings, device), repeats), 3)
    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        generate_library([("WSe2", "Ti")], root=Path(scratch) / "library", parts=Path(scratch) / "parts", progress=False)
        one_pair = time.perf_counter() - start
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
        "generator_seconds_one_doped_host": round(one_pair, 1),
        "generator_scans_per_second": round(102 / one_pair, 3),
        "library_hours_extrapolated": round(96 * one_pair / 3600, 2),
        "features_per_second": round(features_per_second),
    }
    return write_result("dataset_speed", result, "python benchmarks/dataset_speed.py")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    print(json.dumps(main(parser.parse_args().device), indent=2))
