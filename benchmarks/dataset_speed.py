"""Speed of the §4 pipeline: ``python benchmarks/dataset_speed.py``.

Scans (``--part scans``, minutes):

* seconds per library scan (both detectors from one scan) on this machine's CPU, for
  PRISM and plain multislice at each beam energy, one scan at a time on one core
  (the generator runs one scan per core), best of ``repeats``;
* the generator end to end: wall time of ``generate_library`` for one doped host
  (102 scans, default local cluster of two processes) into a scratch folder, and the
  whole library's time extrapolated from it (96 doped hosts); two scans at once share
  the memory bandwidth, so two cores give less than twice one core's rate;
* the mean wall time of a scan as the generator recorded it in
  ``data/library/manifest.json`` (while the machine also did other work).

Features (``--part features``, about a minute): patches per second (degradation, patches,
Zernike, context) of

* this tree, one process, one doped host at ``--realisations`` realisations (best of 3 runs);
* earlier pipelines (``--baseline``: the original one, and ``--previous``: the tree of the
  last recorded figure), each a git revision checked out into a scratch worktree, on the
  same doped host in the same run, so the figures share the machine's state;
* this tree and the previous one on all cores: ``build_features`` over ``--hosts`` doped
  hosts on a local dask cluster of two single-threaded processes (started, and the
  kernels loaded, before the clock starts; best of 3 runs), beside the same doped hosts
  in one process (the scaling: these hosts are not all as fast as WSe2-Ti), and the
  paper's ~55 M patches extrapolated from this tree's figure.

The paper's whole feature set (``--part full-features``, minutes, 7 GB of scratch disk):
the wall time and memory peak of ``build_features`` at scale full on two workers, as the
features stage of ``benchmarks/full_scale.py`` runs it (into a scratch folder, so the
staged run's features and records are left as they are).

Writes ``benchmarks/results/dataset_speed.json`` (a part not run keeps its previous
figures and their date), which notebook 02 shows. A GPU figure is added only where one
was measured (``--device cuda``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from record import results_dir, best_seconds, write_result

ROOT = Path(__file__).resolve().parents[1]
#: The pipeline before batched resampling and compiled noise (2026-12-02).
BASELINE = "c6f0063"
#: The pipeline of the previous figure (2026-12-04: numpy's SFC64 words in pixel order made inside the noise
#: pass, exact counts through cumulative tables and a guide table; 182,557 patches/s for the whole paper-scale set).
PREVIOUS = "c1999d5"
_ONE_HOST = """
import json, sys, time
from ctxlib.learning.dataset import FeatureSettings, host_features
from ctxlib.simulation.library import load_library
from threadpoolctl import threadpool_limits
entry = load_library("WSe2", "Ti")
settings = FeatureSettings(realisations=int(sys.argv[1]))
with threadpool_limits(1):
    host_features(entry, FeatureSettings(realisations=1))
    runs = []
    for _ in range(int(sys.argv[2])):
        start = time.perf_counter()
        rows = len(host_features(entry, settings)["X"])
        runs.append(time.perf_counter() - start)
import ctxlib
print(json.dumps({"rows": rows, "seconds": min(runs), "runs": len(runs), "ctxlib": ctxlib.__file__}))
"""


_ALL_CORES = """
import json, sys, tempfile, time
from pathlib import Path
from dask.distributed import Client
import ctxlib.learning.dataset as dataset
from ctxlib.learning.dataset import FeatureSettings, build_features
realisations, hosts = int(sys.argv[1]), int(sys.argv[2])
from ctxlib.simulation.library import library_status
present, _ = library_status()  # doped hosts alone, in every tree compared
chosen = present[:hosts]
for status in ("library_status", "trained_status"):  # trained_status: trees with the undoped hosts
    if hasattr(dataset, status):
        setattr(dataset, status, lambda: (chosen, []))
try:
    from ctxlib.base.cluster import local_cluster
except ImportError:  # a tree from before the cluster helper: dask's own local cluster
    from dask.distributed import LocalCluster
    def local_cluster(workers):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
with local_cluster(2) as cluster, Client(cluster) as client, tempfile.TemporaryDirectory() as scratch:
    build_features(Path(scratch) / "warm", progress=False, scheduler=cluster.scheduler_address,
                   settings=FeatureSettings(realisations=1))  # workers up, numba kernels loaded: not timed
    runs = []
    for run in range(int(sys.argv[3])):
        start = time.perf_counter()
        build_features(Path(scratch) / f"timed{run}", progress=False, scheduler=cluster.scheduler_address,
                       settings=FeatureSettings(realisations=realisations))
        runs.append(time.perf_counter() - start)
alone = []
with tempfile.TemporaryDirectory() as scratch:  # the same doped hosts in this one process, for the scaling
    build_features(Path(scratch) / "warm", progress=False, workers=1, settings=FeatureSettings(realisations=1))
    for run in range(int(sys.argv[3])):
        start = time.perf_counter()
        build_features(Path(scratch) / f"alone{run}", progress=False, workers=1,
                       settings=FeatureSettings(realisations=realisations))
        alone.append(time.perf_counter() - start)
import ctxlib
rows = 6 * 34 * realisations * len(chosen)
print(json.dumps({"rows": rows, "seconds": min(runs), "runs": len(runs), "doped_hosts": len(chosen),
                  "hosts": chosen, "one_process_patches_per_second": round(rows / min(alone)),
                  "ctxlib": ctxlib.__file__}))
"""


def _run(script: str, tree: Path, *args) -> dict:
    """Run ``script`` with the ctxlib of ``tree`` on the path; its last line of output, as JSON."""
    out = subprocess.run([sys.executable, "-c", script, *map(str, args)], cwd=tree, check=True,
                         capture_output=True, text=True, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"})
    measured = json.loads(out.stdout.strip().splitlines()[-1])
    if not Path(measured.pop("ctxlib")).is_relative_to(tree):
        raise RuntimeError(f"the run in {tree} imported another ctxlib")
    return measured


def _rate(measured: dict) -> dict:
    return {**measured, "seconds": round(measured["seconds"], 2),
            "patches_per_second": round(measured["rows"] / measured["seconds"])}


def one_host_rate(tree: Path, realisations: int, runs: int = 3) -> dict:
    """Patches per second of ``host_features`` in the ctxlib of ``tree``, one process, one BLAS thread, best of ``runs``."""
    return _rate(_run(_ONE_HOST, tree, realisations, runs))


def all_cores_rate(tree: Path, realisations: int, hosts: int, runs: int = 3) -> dict:
    """Patches per second of ``build_features`` in the ctxlib of ``tree`` on two single-threaded dask workers, best of
    ``runs``."""
    return {"workers": 2, **_rate(_run(_ALL_CORES, tree, realisations, hosts, runs)), "excludes": "the cluster's start"}


@contextmanager
def worktree(revision: str):
    """A scratch checkout of ``revision`` (removed afterwards)."""
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch) / revision
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), revision], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            yield tree
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=True)


#: The steps of the feature pipeline a profile names: (module, function) -> what it does.
STEPS = {
    ("ctxlib/simulation/noise.py", "_draw"): "scan-row shift, random words, shot and read noise (one compiled pass)",
    ("ctxlib/simulation/noise.py", "detector_noise"): "noise set-up",
    ("ctxlib/simulation/augmentation.py", "degrade"): "blur (matrix products) and degradation set-up",
}


def profile(realisations: int = 256) -> dict:
    """Microseconds a patch of each step of ``host_features`` (one process, one BLAS thread, cProfile's own time of
    the functions in :data:`STEPS`; the rest, Zernike moments and normalisation included, as ``other``)."""
    import cProfile
    import pstats

    from threadpoolctl import threadpool_limits

    from ctxlib.learning.dataset import FeatureSettings, host_features
    from ctxlib.simulation.library import load_library

    entry = load_library("WSe2", "Ti")
    with threadpool_limits(1):
        host_features(entry, FeatureSettings(realisations=1))
        profiler = cProfile.Profile()
        profiler.enable()
        rows = len(host_features(entry, FeatureSettings(realisations=realisations))["X"])
        profiler.disable()
    stats = pstats.Stats(profiler).stats
    total = max(cumulative for (_, _, name), (_, _, _, cumulative, _) in stats.items() if name == "host_features")
    steps = {label: 0.0 for label in STEPS.values()}
    for (path, _, name), (_, _, own, _, _) in stats.items():
        for (module, function), label in STEPS.items():
            if path.endswith(module) and name == function:
                steps[label] += own
    steps["other (Zernike moments, normalisation, features)"] = total - sum(steps.values())
    return {"rows": rows, "microseconds_per_patch": {k: round(v / rows * 1e6, 2) for k, v in steps.items()},
            "total_microseconds_per_patch": round(total / rows * 1e6, 2), "under": "cProfile (adds a little)"}


def features(realisations: int, hosts: int, baseline: str, previous: str) -> dict:
    from ctxlib.learning.scale import scale_preset

    ours = one_host_rate(ROOT, realisations)
    with worktree(baseline) as tree:
        original = one_host_rate(tree, realisations)
    with worktree(previous) as tree:
        before = {"one_process": one_host_rate(tree, realisations),
                  "all_cores": all_cores_rate(tree, realisations, hosts)}
    all_cores = all_cores_rate(ROOT, realisations, hosts)
    full_rows = 576 * 34 * scale_preset("full").realisations
    rate = all_cores["patches_per_second"]
    return {
        "date": date.today().isoformat(),
        "realisations": realisations,
        "one_process": ours,
        "baseline": {"revision": baseline, **original},
        "speed_up_one_process": round(ours["patches_per_second"] / original["patches_per_second"], 1),
        "previous": {"revision": previous, **before},
        "all_cores": all_cores,
        "full_scale_minutes_extrapolated": round(full_rows / rate / 60, 1),
        "target_patches_per_second": 200_000,
        "profile": profile(realisations),
    }


def scans(device: str, repeats: int) -> dict:
    from ctxlib.materials.catalog import ENERGIES_KEV
    from ctxlib.simulation.library import generate_library, read_manifest
    from ctxlib.simulation.scans import MotifSimulation, simulate_motif

    per_scan = {}
    for method in ("prism", "multislice"):
        for energy in ENERGIES_KEV:
            settings = MotifSimulation(method=method)
            per_scan[f"{method} {energy} keV"] = round(best_seconds(
                lambda: simulate_motif("WSe2", "Ti", "VacX[M,M,D]", energy, settings=settings, device=device),
                repeats), 3)
    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        generate_library([("WSe2", "Ti")], root=Path(scratch) / "library", parts=Path(scratch) / "parts", progress=False)
        one_pair = time.perf_counter() - start
    files = read_manifest()["files"]
    scan_seconds = sum(f["scan_seconds"] for f in files.values())
    return {
        "date": date.today().isoformat(),
        "seconds_per_scan_one_core": per_scan,
        "library_files": len(files),
        "library_scans": 102 * len(files),
        "library_seconds_per_scan_recorded": round(scan_seconds / max(1, 102 * len(files)), 3),
        "generator_seconds_one_doped_host": round(one_pair, 1),
        "generator_scans_per_second": round(102 / one_pair, 3),
        "library_hours_extrapolated": round(96 * one_pair / 3600, 2),
    }


def full_features(workers: int = 2) -> dict:
    """Wall time and memory peak of the paper's whole feature set (96 doped hosts x 6 contexts x 34 motifs x 2,800
    realisations) made by ``build_features`` into a scratch folder under ``_build`` (removed after), the local
    cluster's start included: the features stage of ``benchmarks/full_scale.py`` as this tree runs it."""
    from full_scale import PeakMemory

    from ctxlib.learning.dataset import build_features
    from ctxlib.learning.scale import scale_preset

    (ROOT / "_build").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "_build") as scratch, PeakMemory() as memory:
        start = time.perf_counter()
        run = build_features(Path(scratch) / "features", "full", seed=0, workers=workers)
        seconds = time.perf_counter() - start
    rows = 6 * 34 * scale_preset("full").realisations * len(run.written)
    return {"date": date.today().isoformat(), "workers": workers, "doped_hosts": len(run.written), "rows": rows,
            "seconds": round(seconds, 1), "patches_per_second": round(rows / seconds),
            "peak_memory_gb": round(memory.peak / 1e9, 2), "includes": "the cluster's start"}


def main(parts: tuple[str, ...] = ("scans", "features"), device: str = "cpu", repeats: int = 2,
         realisations: int = 256, hosts: int = 12, baseline: str = BASELINE, previous: str = PREVIOUS) -> dict:
    path = results_dir() / "dataset_speed.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    result = {"device": device, "scans": old.get("scans"), "features": old.get("features"),
              "full_features": old.get("full_features")}
    if "scans" in parts:
        result["scans"] = scans(device, repeats)
    if "features" in parts:
        result["features"] = features(realisations, hosts, baseline, previous)
    if "full-features" in parts:
        result["full_features"] = full_features()
    return write_result("dataset_speed", result, "python benchmarks/dataset_speed.py")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("scans", "features", "full-features"), action="append",
                        help="run only this part (repeatable; default scans and features)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--realisations", type=int, default=256, help="realisations per context (default 256)")
    parser.add_argument("--hosts", type=int, default=12, help="doped hosts of the all-cores run (default 12)")
    parser.add_argument("--baseline", default=BASELINE, help=f"git revision of the original pipeline (default {BASELINE})")
    parser.add_argument("--previous", default=PREVIOUS,
                        help=f"git revision of the previous figure's pipeline (default {PREVIOUS})")
    args = parser.parse_args()
    print(json.dumps(main(tuple(args.part or ("scans", "features")), args.device, realisations=args.realisations,
                          hosts=args.hosts, baseline=args.baseline, previous=args.previous), indent=2))
