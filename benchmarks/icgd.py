"""The iCGD benchmark grid: every method on both cases at every dose and seed, for one reconstruction engine.

    python benchmarks/icgd.py [--scale quick] [--slices 1] [--slice-thickness A] [--seeds 1 2 3]
        [--doses inf 1e6 1e5 1e4 1e3] [--cases affine lines] [--iterations 40] [--drift] [--pin-scale]
        [--window 1] [--drift-slices 1 2 3 4]

For each case, dose (electrons per square Angstrom; ``inf``: no noise), seed and method
(free, affine, affine+line, icgd and the oracle at the true positions) it reconstructs the
benchmark data of ``ctxlib.ptycho.data`` (the seed draws the Poisson noise of a finite dose
and the mini-batch order) and writes ``benchmarks/results/icgd.json``: per case, dose and
method the final position RMSE (pm, translation removed; mean, standard deviation, lowest
and highest over the seeds), the data error relative to the oracle's of the same dose and
seed, the seconds per iteration and the mean RMSE after each iteration. ``--slices N``
reconstructs with the multislice engine (N slices ``--slice-thickness`` Angstrom apart; by
default the MoS2 layer's S-S distance split evenly); each engine is an entry of its own in
the record, and a rerun of one engine keeps the others. ``--drift`` also records the
truth-drift diagnostic (positions started at the truth; ``ctxlib.ptycho.icgd.truth_drift``)
of case 1 at infinite dose for 1 to 4 slices and on our own model's patterns, windowed (with
the window's probe and with the whole probe folded onto the window) and folded as the data.
``--pin-scale`` runs the grid with every affine step's scales pinned at those of each case's
true positions (``ICGDSettings.scale_pin``; what an exact calibration against the lattice
constant would give), an entry of its own. ``--window 2`` reads data simulated with twice the
reciprocal sampling (a reconstruction window of twice the side, which holds the probe;
``ctxlib.ptycho.data.settings_for``): its grid is an engine entry of its own and its drift
diagnostic (``--drift-slices``: the abTEM rows' slice counts) is recorded as ``truth_drift_window2``.

Resumable: each reconstruction checkpoints under ``_build/ptycho/runs/icgd/`` (reconstruct's
atomic checkpoints) and, once finished, leaves a summary beside its checkpoint; a rerun
reuses both, and the record itself is written atomically only when the whole grid is done, under a lock, so that
runs of other engines in parallel each add their own entry.
One torch thread throughout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from record import measured, results_dir

from ctxlib.base.files import atomic_write, file_lock
from ctxlib.base.paths import ROOT
from ctxlib.ptycho.constraints import fit_affine
from ctxlib.ptycho.data import INFINITE, folded_model_patterns, load_case, model_patterns, settings_for
from ctxlib.ptycho.icgd import ICGDSettings, dose_tag, rmse_curve, run_method, truth_drift
from ctxlib.ptycho.multislice import Slices
from ctxlib.ptycho.probe import probe_wave

METHODS = ("free", "affine", "affine+line", "icgd", "oracle")
DOSES = (INFINITE, 1e6, 1e5, 1e4, 1e3)
CASES = ("affine", "lines")
#: Distance between the outer S planes of the MoS2 layer, Angstrom (``data.specimen``).
LAYER = 3.172
RUNS = ROOT / "_build" / "ptycho" / "runs" / "icgd"


def engine_slices(count: int, thickness: float | None = None) -> Slices:
    """``count`` slices ``thickness`` Angstrom apart (default: the layer's S-S distance split evenly)."""
    if thickness is None:
        thickness = LAYER / (count - 1) if count > 1 else 0.0
    return Slices(count, round(thickness, 4))


def one_run(case: str, dose: float, seed: int, method: str, *, scale: str, settings: ICGDSettings,
            folder: Path, window: int = 1) -> dict:
    """One reconstruction's summary: RMSE curve (pm), final data error, seconds per iteration; from its summary
    file if it finished before (its checkpoint resumed if it was stopped)."""
    stem = f"{case}_{dose_tag(dose)}_{method}_s{seed}"
    summary_path = folder / f"{stem}.json"
    wanted = repr(settings)
    if summary_path.exists():
        summary = json.loads(summary_path.read_text())
        if summary.get("settings") == wanted:
            return summary
    data = load_case(case, dose, scale=scale, seed=seed, window=window)
    checkpoint = folder / f"{stem}.pt"
    done_before = int(torch.load(checkpoint, weights_only=True)["iteration"]) if checkpoint.exists() else 0
    start = time.perf_counter()
    result = run_method(data, method, settings=settings, checkpoint=checkpoint)
    ran = max(settings.iterations - min(done_before, settings.iterations), 1)
    summary = {"settings": wanted, "rmse_curve_pm": rmse_curve(result.positions, data.truth).round(4).tolist(),
               "data_error": result.data_error, "seconds_per_iteration": (time.perf_counter() - start) / ran,
               "resumed_at": done_before}
    atomic_write(summary_path, lambda h: h.write(json.dumps(summary).encode()))
    return summary


def spread(values: list[float]) -> dict:
    """Mean, standard deviation (ddof 1), lowest and highest of ``values``, and the values."""
    array = np.asarray(values, dtype=np.float64)
    return {"mean": float(array.mean()), "std": float(array.std(ddof=1)) if len(array) > 1 else 0.0,
            "min": float(array.min()), "max": float(array.max()), "values": array.round(4).tolist()}


def true_scales(case: str, *, scale: str, window: int = 1) -> tuple[float, float]:
    """The scales (x, y) of the affine map fitted to a case's true positions: what an exact calibration of the scan
    against the lattice constant would pin."""
    data = load_case(case, scale=scale, window=window)
    return tuple(round(float(s), 4) for s in fit_affine(data.nominal, data.truth).scale)


def run_grid(*, scale: str, slices: Slices, seeds: list[int], doses: tuple[float, ...], cases: tuple[str, ...],
             iterations: int, pin: bool = False, window: int = 1) -> dict:
    """Every case, dose, seed and method with one engine (and, if ``pin``, every affine step's scales pinned at
    :func:`true_scales`; ``window``: the data's window, in units of the default's side); the entry of that engine
    in the record."""
    folder = RUNS / scale / (f"slices{slices.count}_{slices.thickness:g}" + ("_pinned" if pin else "")
                             + (f"_window{window}" if window != 1 else ""))
    pins = {case: true_scales(case, scale=scale, window=window) if pin else None for case in cases}
    total = len(cases) * len(doses) * len(seeds) * len(METHODS)
    clock, done = time.perf_counter(), 0
    rows, compute = [], 0.0
    for case in cases:
        for dose in doses:
            runs = {}
            for seed in seeds:
                settings = ICGDSettings(iterations=iterations, scale_pin=pins[case]).with_seed(seed).with_slices(slices)
                for method in METHODS:
                    runs[seed, method] = one_run(case, dose, seed, method, scale=scale, settings=settings,
                                                 folder=folder, window=window)
                    done += 1
                    compute += runs[seed, method]["seconds_per_iteration"] * iterations
                    print(f"[{done}/{total}] {slices.label()}{' pinned' if pin else ''} {case} "
                          f"dose {dose_tag(dose)} seed {seed} {method}: "
                          f"{runs[seed, method]['rmse_curve_pm'][-1]:.2f} pm "
                          f"({time.perf_counter() - clock:.0f} s)", flush=True)
            for method in METHODS:
                found = [runs[seed, method] for seed in seeds]
                rows.append({"case": case, "dose": dose_tag(dose), "method": method,
                             "rmse_pm": spread([f["rmse_curve_pm"][-1] for f in found]),
                             "data_error_over_oracle": spread([f["data_error"] / runs[seed, "oracle"]["data_error"]
                                                               for f, seed in zip(found, seeds)]),
                             "seconds_per_iteration": float(np.mean([f["seconds_per_iteration"] for f in found])),
                             "rmse_curve_pm": np.mean([f["rmse_curve_pm"] for f in found], axis=0).round(3).tolist()})
    label = window_label(slices.label() + (", scale pinned (exact calibration)" if pin else ""), scale, window)
    return {"slices": {"count": slices.count, "thickness_angstrom": slices.thickness}, "label": label,
            "scale_pin": pins if pin else None, "window": window,
            "window_angstrom": [round(a, 3) for a in settings_for(scale, window=window).window_side],
            "iterations": iterations, "seeds": seeds, "doses": [dose_tag(d) for d in doses], "cases": list(cases),
            "methods": list(METHODS), "rows": rows, "runs": total,
            "compute_seconds": compute, "compute_is": "the runs' seconds per iteration times the iterations, summed "
                                                      "(one torch thread), whether this call ran them or reused them"}


def window_label(label: str, scale: str, window: int) -> str:
    """An engine's label in the record, with the window's side when it is not the default's (e.g. ``single slice,
    window 11.1 A``)."""
    return label if window == 1 else f"{label}, window {settings_for(scale, window=window).window_side[0]:.1f} A"


def merge_entry(old: dict | None, new: dict) -> dict:
    """``new``, an engine's entry, with the rows of ``old`` (the same engine's entry in the record) that it did not
    rerun, when both ran the same iterations, seeds and methods: so that a run of one case or dose adds to the
    grid instead of replacing it. Otherwise ``new`` alone."""
    same = ("iterations", "seeds", "methods")
    if old is None or any(old.get(key) != new[key] for key in same):
        return new
    rerun = {(row["case"], row["dose"]) for row in new["rows"]}
    kept = [row for row in old["rows"] if (row["case"], row["dose"]) not in rerun]
    return new | {"rows": kept + new["rows"],
                  "cases": list(dict.fromkeys(old["cases"] + new["cases"])),
                  "doses": list(dict.fromkeys(old["doses"] + new["doses"])),
                  "runs": new["runs"] + len(kept) * len(new["seeds"]),
                  "compute_seconds": new["compute_seconds"] + sum(
                      row["seconds_per_iteration"] * new["iterations"] * len(new["seeds"]) for row in kept),
                  "measured_before": old.get("measured_before", []) + [old["measured"]]} if kept else new


def drift_diagnostic(*, scale: str, iterations: int = 60, hold: int = 20, window: int = 1,
                     counts: tuple[int, ...] = (1, 2, 3, 4)) -> dict:
    """Truth drift (pm after each iteration; free steps) of case 1 at infinite dose: abTEM's patterns with
    ``counts`` slices, and our single-slice model's own patterns: windowed as the reconstruction models them (with
    the window's probe, and with the whole probe folded onto the window) and folded as the data are; all on the
    data's window (``window`` times the default's side)."""
    data = load_case("affine", scale=scale, window=window)
    settings = ICGDSettings(iterations=iterations)
    rows = []
    for count in counts:
        slices = engine_slices(count)
        start = time.perf_counter()
        curve = truth_drift(data, settings.with_slices(slices), hold=hold)
        rows.append({"patterns": "abTEM multislice (the benchmark data)", "engine": slices.label(),
                     "slices": count, "thickness_angstrom": slices.thickness, "curve_pm": curve.round(3).tolist(),
                     "seconds": time.perf_counter() - start})
        print(f"drift, abTEM data, {slices.label()}: {curve[-1]:.2f} pm", flush=True)
    for name, patterns in (
            ("our single-slice model, exit wave within the window", model_patterns(data, scale, window=window)),
            ("our single-slice model, exit wave within the window, whole probe folded onto it",
             model_patterns(data, scale, fold_probe=True, window=window)),
            ("our single-slice model, whole probe, folded as the data",
             folded_model_patterns(data, scale, window=window))):
        curve = truth_drift(data, settings, patterns=patterns, hold=hold)
        rows.append({"patterns": name, "engine": "single slice", "slices": 1, "thickness_angstrom": 0.0,
                     "curve_pm": curve.round(3).tolist()})
        print(f"drift, {name}: {curve[-1]:.2f} pm", flush=True)
    bench = settings_for(scale, window=window)
    n, w = bench.fold * bench.window, bench.window
    whole = np.abs(probe_wave((n, n), bench.sampling, bench.energy_kev, bench.semiangle_mrad,
                              defocus=bench.defocus)) ** 2
    inside = float(whole[n // 2 - w // 2:n // 2 - w // 2 + w, n // 2 - w // 2:n // 2 - w // 2 + w].sum())
    return {"case": "affine", "dose": "inf", "iterations": iterations, "hold": hold, "steps": "free", "rows": rows,
            "window": window,
            "window_angstrom": [w * d for d in bench.sampling], "probe_outside_window": 1.0 - inside}


def drift_key(window: int) -> str:
    """Key of the drift diagnostic on a window ``window`` times the default's side in the record."""
    return "truth_drift" if window == 1 else f"truth_drift_window{window}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=["quick", "full"], default="quick")
    parser.add_argument("--slices", type=int, default=1, help="slices of the reconstructed object (1: single slice)")
    parser.add_argument("--slice-thickness", type=float, default=None, help="Angstrom between slices")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="noise and mini-batch seeds (> 0)")
    parser.add_argument("--doses", type=float, nargs="+", default=list(DOSES), help="e/A^2; inf: no noise")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--drift", action="store_true", help="also record the truth-drift diagnostic")
    parser.add_argument("--pin-scale", action="store_true",
                        help="pin every affine step's scales at those of the case's true positions (an exact "
                             "lattice calibration); a separate entry of the record")
    parser.add_argument("--window", type=int, default=1,
                        help="data on a reconstruction window this many times the default's side (finer reciprocal "
                             "sampling); an entry of its own")
    parser.add_argument("--drift-slices", type=int, nargs="+", default=[1, 2, 3, 4],
                        help="slice counts of the drift diagnostic's rows on abTEM's patterns")
    args = parser.parse_args(argv)
    if min(args.seeds) < 1:
        parser.error("seeds must be > 0 (seed 0 reads the stored noise, which exists only at the stored doses)")
    torch.set_num_threads(1)
    slices = engine_slices(args.slices, args.slice_thickness)
    command = " ".join(["python benchmarks/icgd.py", *(sys.argv[1:] if argv is None else argv)])
    entry = run_grid(scale=args.scale, slices=slices, seeds=args.seeds, doses=tuple(args.doses),
                     cases=tuple(args.cases), iterations=args.iterations, pin=args.pin_scale,
                     window=args.window) | {"measured": measured(command)}
    drift = (drift_diagnostic(scale=args.scale, window=args.window, counts=tuple(args.drift_slices))
             | {"measured": measured(command)} if args.drift else None)
    path = results_dir() / "icgd.json"
    with file_lock(ROOT / "_build" / "icgd.json.lock"):  # runs in parallel each merge their own entry
        record = json.loads(path.read_text()) if path.exists() else {}
        if record.get("scale") != args.scale:
            record = {}
        for stale in ("cpu_cores", "machine", "date", "command"):  # each entry holds its own
            record.pop(stale, None)
        record |= {"what": "position RMSE (pm, translation removed) of each method after the last iteration, per "
                           "case, dose and engine, over noise and mini-batch seeds; data error over the oracle's of "
                           "the same dose and seed; each entry's 'measured' names its command, date and machine",
                   "scale": args.scale}
        engines = record.setdefault("engines", {})
        engines[entry["label"]] = merge_entry(engines.get(entry["label"]), entry)
        if drift is not None:
            record[drift_key(args.window)] = drift
        atomic_write(path, lambda h: h.write((json.dumps(record, indent=1) + "\n").encode()))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
