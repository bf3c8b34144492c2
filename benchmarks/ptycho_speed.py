"""Time per iteration of the Part II reconstruction on the CPU, and optionally py4DSTEM, pty-chi and PtyRAD beside it.

    python benchmarks/ptycho_speed.py [--scale quick] [--iterations 3] [--no-ours]
        [--py4dstem [--py4dstem-iterations 40]] [--ptychi [--ptychi-iterations 40]]
        [--ptyrad [--ptyrad-iterations 40]]

Times ``ctxlib.ptycho.reconstruct`` per iteration (object only, and object + positions with
the iCGD schedule's affine step) on the benchmark data of ``scale`` and writes
``benchmarks/results/ptycho_speed.json``. With ``--py4dstem`` it also tries to create a
separate virtual environment under ``_build/py4dstem-venv`` and ``pip install py4DSTEM``
there, then runs py4DSTEM's single-slice ptychography with position correction on the same
patterns in that environment (never a dependency of ctxlib); if the install fails, the
result says so. ``--ptychi`` does the same with Argonne's pty-chi (``ptychi``, its LSQML
engine) in ``_build/ptychi-venv``, and ``--ptyrad`` with Cornell's PtyRAD (``ptyrad``, automatic
differentiation) in ``_build/ptyrad-venv``. The results file is merged, not replaced: entries not
rerun (an anchor not asked for; ours with ``--no-ours``) are kept as they were, as long as
the recorded scale is the same.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import venv
from pathlib import Path

import numpy as np
from record import measured, results_dir, write_result

from ctxlib.base.electrons import electron_wavelength
from ctxlib.base.files import atomic_write
from ctxlib.base.paths import ROOT
from ctxlib.ptycho.constraints import position_rmse
from ctxlib.ptycho.data import load_case, settings_for
from ctxlib.ptycho.icgd import ICGDSettings, run_method

PY4DSTEM_VENV = ROOT / "_build" / "py4dstem-venv"
PTYCHI_VENV = ROOT / "_build" / "ptychi-venv"
PTYRAD_VENV = ROOT / "_build" / "ptyrad-venv"
#: The anchors' runners, real files run in each anchor's own environment (pty-chi's and PtyRAD's import
#: ``torch_preamble.py`` beside them).
ANCHORS = Path(__file__).parent / "anchors"


def time_ours(scale: str, iterations: int, device: str = "cpu") -> dict:
    """Seconds per iteration of our engine on torch ``device``, object only and with the affine position step
    (after one untimed iteration, which pays the device's one-time set-up)."""
    data = load_case("affine", scale=scale)
    out = {}
    for method in ("oracle", "affine"):
        run_method(data, method, settings=ICGDSettings(iterations=1, position_from=0), device=device)
        start = time.perf_counter()
        result = run_method(data, method, settings=ICGDSettings(iterations=iterations, position_from=0),
                            device=device)
        out[method] = {"seconds_per_iteration": (time.perf_counter() - start) / iterations,
                       "rmse_pm": position_rmse(result.state.positions, data.truth) * 100}
    out["positions"], out["pattern_pixels"] = len(data.patterns), list(data.patterns.shape[1:])
    return out


PY4DSTEM_RUNS = {
    "nominal, positions fixed": {"start": "nominal", "fix_positions": True, "affine": False},
    "true positions, fixed (oracle)": {"start": "truth", "fix_positions": True, "affine": False},
    "position correction": {"start": "nominal", "fix_positions": False, "affine": False},
    "position correction + global affine": {"start": "nominal", "fix_positions": False, "affine": True},
}


def anchor_python(folder, installs: tuple[list[str], ...], package: str) -> tuple[str, str]:
    """The Python of an anchor's own virtual environment, created in ``folder`` with each package list of
    ``installs`` installed in turn, and the installed version of ``package``; raises ``RuntimeError`` with pip's
    message when an install fails."""
    python = folder / "bin" / "python"
    if not python.exists():
        venv.create(folder, with_pip=True)
    for packages in installs:
        install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", *packages], capture_output=True,
                                 text=True, check=False)
        if install.returncode:
            raise RuntimeError(f"pip install {' '.join(packages)}: {install.stderr[-2000:]}")
    shown = subprocess.run([str(python), "-m", "pip", "show", package], capture_output=True, text=True,
                           check=False).stdout
    version = next((line.split(":", 1)[1].strip() for line in shown.splitlines() if line.startswith("Version:")), "")
    return str(python), version


def anchor_input(code: str, scale: str) -> tuple[Path, object]:
    """Case 1 in one file for an anchor's runner (``code``), and the case itself.

    The file holds the patterns, the nominal grid and the truth (Angstrom), the sampling
    (Angstrom), the nominal probe, the scan (lines, points, step in Angstrom), the beam
    (energy in keV and eV, semi-angle in mrad, defocus and wavelength in Angstrom) and the
    patterns' reciprocal pixel ``dk`` (1/Angstrom); each runner reads what it needs.
    """
    data = load_case("affine", scale=scale)
    bench = settings_for(scale)
    path = ROOT / "_build" / "ptycho" / f"{code}_input_{scale}.npz"
    atomic_write(path, lambda h: np.savez(
        h, patterns=data.patterns, nominal=data.nominal, truth=data.truth, sampling=np.asarray(data.sampling),
        probe=data.probe, lines=data.scan_shape[0], points=data.scan_shape[1], step=bench.step,
        energy_kev=bench.energy_kev, energy=bench.energy_kev * 1e3, semiangle=bench.semiangle_mrad,
        defocus=bench.defocus, wavelength=electron_wavelength(bench.energy_kev),
        dk=1 / (data.patterns.shape[1] * data.sampling[0])))
    return path, data


def run_runner(python: str, runner: Path, path: Path, options: dict) -> dict:
    """An anchor's ``runner`` file (:data:`ANCHORS`) in its environment's ``python`` (one thread) on the input file
    ``path``: the JSON of its last line, or RuntimeError with the end of its standard error."""
    run = subprocess.run([str(python), str(runner), str(path), json.dumps(options)], capture_output=True, text=True,
                         check=False, env=os.environ | {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    if run.returncode:
        raise RuntimeError(run.stderr[-2000:])
    return json.loads(run.stdout.strip().splitlines()[-1])


def run_py4dstem(scale: str, iterations: int, batch: int = 64) -> dict:
    """py4DSTEM in its own environment, or why it could not run: its fixed-position reconstruction at the
    nominal grid and at the truth (checks of the setup), and its position correction with and without its
    global affine step, all from the same patterns, calibration and nominal grid as ours."""
    try:
        python, version = anchor_python(PY4DSTEM_VENV, (["py4DSTEM"],), "py4DSTEM")
    except RuntimeError as error:
        return {"status": "install failed", "why": str(error)}
    path, data = anchor_input("py4dstem", scale)
    options = {"iterations": iterations, "batch": batch, "runs": PY4DSTEM_RUNS}
    try:
        answer = run_runner(python, ANCHORS / "py4dstem_runner.py", path, options)
    except RuntimeError as error:
        return {"status": "py4DSTEM run failed", "stderr": str(error)}
    out = {"status": "ran", "version": version, "iterations": iterations, "batch": batch,
           "rmse_pm_nominal": position_rmse(data.nominal, data.truth) * 100}
    for name, found in answer.items():
        positions = np.asarray(found.pop("positions"))  # Angstrom, (x, y), our scan order, offset by its padding
        out[name] = found | {"rmse_pm": position_rmse(positions, data.truth) * 100}
    return out


PTYCHI_VERSION = "2.2.0"
# pty-chi needs torchvision; 0.28.0 is the release paired with torch 2.13. torch is installed first, on its own, so
# that pip takes the CPU wheel the main environment uses rather than a second, CUDA, multi-GB torch.
PTYCHI_INSTALL = (["torch==2.13.0"], ["torch==2.13.0", "torchvision==0.28.0", f"ptychi=={PTYCHI_VERSION}"])
# The start of every runner that needs torch and torchvision (pty-chi, PtyRAD): one CPU thread, then torchvision.

PTYCHI_RUNS = {
    "nominal, positions fixed": {"start": "nominal", "correct": False, "affine": False},
    "true positions, fixed (oracle)": {"start": "truth", "correct": False, "affine": False},
    "position correction": {"start": "nominal", "correct": True, "affine": False},
    "position correction + affine constraint": {"start": "nominal", "correct": True, "affine": True},
}


def run_ptychi(scale: str, iterations: int, batch: int = 64, counts: float = 1e5, axes: tuple[int, int] = (0, 1),
               runs: dict | None = None) -> dict:
    """pty-chi (LSQML, its gradient position correction, optionally its affine position constraint) in its own
    environment, or why it could not run; the same four runs as py4DSTEM's, from the same patterns, nominal grid
    and nominal probe as ours. ``counts`` scales our patterns (fraction of the beam per pixel) to electrons per
    pattern; ``axes`` (0, 1) feeds our x as pty-chi's row axis, (1, 0) the transposed convention."""
    try:
        python, version = anchor_python(PTYCHI_VENV, PTYCHI_INSTALL, "ptychi")
    except RuntimeError as error:
        return {"status": "install failed", "why": str(error)}
    path, data = anchor_input("ptychi", scale)
    runs = PTYCHI_RUNS if runs is None else runs
    options = {"iterations": iterations, "batch": batch, "counts": counts, "axes": list(axes), "runs": runs}
    try:
        answer = run_runner(python, ANCHORS / "ptychi_runner.py", path, options)
    except RuntimeError as error:
        return {"status": "pty-chi run failed", "why": str(error)}
    mean_counts = float(data.patterns.sum(axis=(1, 2)).mean()) * counts
    pixels = data.patterns.shape[1] * data.patterns.shape[2]
    out = {"status": "ran", "version": version, "engine": "LSQML (Gaussian noise model), gradient position correction",
           "iterations": iterations, "batch": batch, "threads": 1, "counts_per_unit_beam": counts,
           "axes": "our (x, y) -> pty-chi (row, column)" if tuple(axes) == (0, 1) else "transposed",
           "data_error_is": "pty-chi's displayed loss of the last epoch: mean over pixels and batches of "
                            "(sqrt(model) - sqrt(measured))^2, in counts; data_error_normalised divides it by the "
                            "mean counts per pixel (our data_error's normalisation)",
           "notes": "pty-chi's defaults otherwise (object and probe refined; position step 0.3, update limit "
                    "0.1 px per epoch; affine constraint without translation, weights every 10 epochs); its "
                    "first epoch only rescales the probe intensity, so data_error_first is the same for every run; "
                    "torchvision's nms/qnms schemas are defined in the runner because PyPI's (CUDA) torchvision "
                    "0.28.0 cannot import beside the CPU torch otherwise",
           "rmse_pm_nominal": position_rmse(data.nominal, data.truth) * 100}
    for name, found in answer.items():
        positions = np.asarray(found.pop("positions"))  # Angstrom, (x, y), our scan order
        out[name] = found | {"data_error_normalised": found["data_error"] * pixels / mean_counts,
                             "rmse_pm": position_rmse(positions, data.truth) * 100}
    return out


PTYRAD_VERSION = "1.0.0"
# As pty-chi's: torch first, on its own, so that pip takes the CPU wheel; PtyRAD needs torchvision too.
PTYRAD_INSTALL = (["torch==2.13.0"], ["torch==2.13.0", "torchvision==0.28.0", f"ptyrad=={PTYRAD_VERSION}"])

# PtyRAD has no affine (or other global) constraint on its position correction: its scan affine
# (init_params.pos_scan_affine) is applied once to the starting grid, and its hypertune mode can search those four
# numbers with Optuna over whole reconstructions; its one position constraint, pos_recenter, only removes the mean
# shift. So three runs, not pty-chi's four.
PTYRAD_RUNS = {name: PTYCHI_RUNS[name] for name in
               ("nominal, positions fixed", "true positions, fixed (oracle)", "position correction")}


# PtyRAD's default learning rates (per Adam step: object amplitude and phase, probe, positions in pixels), and the one
# factor the runs use. Its defaults suit its demonstrations' many steps per iteration (16384 patterns in batches of 32:
# 512 steps); here 1024 patterns in batches of 64 give 16, so 40 iterations are 640 steps, in which Adam moves the
# object phase by at most about 0.3 rad (ours reaches 1.3 rad) and a position by at most 0.3 px (the nominal grid is
# 1.5 px RMS from the truth). With them the fixed-position fits at the nominal grid and at the truth hardly differ
# (the setup check fails); with all four rates ten times larger they do. The factor was chosen on those two fits, not
# on position errors; the runs with the defaults are recorded beside.
PTYRAD_LEARNING_RATES = {"obja": 5.0e-4, "objp": 5.0e-4, "probe": 1.0e-4, "probe_pos_shifts": 5.0e-4}
PTYRAD_LEARNING_RATE_FACTOR = 10.0


def run_ptyrad(scale: str, iterations: int, batch: int = 64, axes: tuple[int, int] = (0, 1),
               runs: dict | None = None, factor: float = PTYRAD_LEARNING_RATE_FACTOR,
               defaults_too: bool = True) -> dict:
    """PtyRAD (automatic differentiation, Adam, its gradient position correction) in its own environment, or why it
    could not run; the same runs as pty-chi's but the affine one (it has no such constraint), from the same patterns,
    nominal grid and nominal probe as ours, with its learning rates times ``factor`` (and, if ``defaults_too``, the
    same runs with its default learning rates beside). ``axes`` (0, 1) feeds our x as PtyRAD's row axis, (1, 0) the
    transposed convention."""
    try:
        python, version = anchor_python(PTYRAD_VENV, PTYRAD_INSTALL, "ptyrad")
    except RuntimeError as error:
        return {"status": "install failed", "why": str(error)}
    path, data = anchor_input("ptyrad", scale)
    runs = PTYRAD_RUNS if runs is None else runs

    def solve(rates: dict) -> dict:
        options = {"iterations": iterations, "batch": batch, "axes": list(axes), "runs": runs, "learning_rates": rates,
                   "output_dir": str(ROOT / "_build" / "ptycho" / "ptyrad_output")}
        answer = run_runner(python, ANCHORS / "ptyrad_runner.py", path, options)
        for found in answer.values():
            positions = np.asarray(found.pop("positions"))  # Angstrom, (x, y), our scan order
            found["rmse_pm"] = position_rmse(positions, data.truth) * 100
        return answer

    rates = {key: rate * factor for key, rate in PTYRAD_LEARNING_RATES.items()}
    try:
        answer = solve(rates)
        defaults = solve(PTYRAD_LEARNING_RATES) if defaults_too else None
    except RuntimeError as error:
        return {"status": "PtyRAD run failed", "why": str(error)}
    out = {"status": "ran", "version": version,
           "engine": "automatic differentiation, Adam, loss_single (Gaussian noise model), gradient position "
                     "correction",
           "iterations": iterations, "batch": batch, "threads": 1,
           "axes": "our (x, y) -> PtyRAD (row, column)" if tuple(axes) == (0, 1) else "transposed",
           "learning_rates": rates, "learning_rates_default": PTYRAD_LEARNING_RATES,
           "data_error_is": "PtyRAD's loss_single averaged over the batches of the last iteration: "
                            "sqrt(mean((sqrt(model) - sqrt(measured))^2)) / mean(sqrt(measured)) per batch, a "
                            "normalised RMSE of amplitudes (so not our data_error's normalisation), measured during "
                            "the iteration; data_error_first is the first iteration's",
           "notes": f"learning rates {factor:g} x PtyRAD's defaults (see learning_rates; per Adam step, and here an "
                    "iteration is 16 steps, not the 512 its defaults are made for: with the defaults the fixed fits "
                    "at the nominal grid and at the truth hardly differ, see 'with default learning rates'); "
                    "PtyRAD's defaults otherwise (Adam; random groups; constraints fix_probe_int, obj_rblur (std "
                    "0.4 px), pos_recenter, ortho_pmode, obj_zblur (nothing to do on one slice)) except its "
                    "starting-position jitter (pos_scan_rand_std 0.15 px), off; single slice, one probe mode, our "
                    "nominal probe, patterns as given (it normalises them itself); one untimed warm-up iteration "
                    "before the runs; seconds_per_iteration is the wall time of its solver run (set-up included) "
                    "over the iterations, seconds_per_iteration_loop its own timer of the iterations alone; no "
                    "fourth (affine) run: PtyRAD has no affine constraint on position correction (pos_scan_affine "
                    "only transforms the starting grid and its hypertune mode searches it over whole "
                    "reconstructions; its pos_recenter constraint only removes the mean shift); two workarounds in "
                    "the runner: torchvision's nms/qnms schemas as for pty-chi, and ptyrad/plotting/basic.py line "
                    "295 (Python 3.12 f-string syntax, though it says it needs >= 3.10) compiled with its inner "
                    "quotes changed",
           "rmse_pm_nominal": position_rmse(data.nominal, data.truth) * 100}
    out |= answer
    if defaults is not None:
        out["with default learning rates"] = defaults
    return out

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=["quick", "full"], default="quick")
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--py4dstem", action="store_true", help="also try py4DSTEM in a separate venv")
    parser.add_argument("--py4dstem-iterations", type=int, default=40)
    parser.add_argument("--ptychi", action="store_true", help="also try pty-chi in a separate venv")
    parser.add_argument("--ptychi-iterations", type=int, default=40)
    parser.add_argument("--ptyrad", action="store_true", help="also try PtyRAD in a separate venv")
    parser.add_argument("--ptyrad-iterations", type=int, default=40)
    parser.add_argument("--no-ours", action="store_true", help="keep the recorded timing of ours, do not rerun it")
    args = parser.parse_args(argv)
    path = results_dir() / "ptycho_speed.json"
    result = json.loads(path.read_text()) if path.exists() else {}
    if result.get("scale") != args.scale:
        if args.no_ours:
            parser.error(f"--no-ours needs a recorded result at scale {args.scale!r}")
        result = {}
    command = " ".join(["python benchmarks/ptycho_speed.py", *(sys.argv[1:] if argv is None else argv)])
    stamp = measured(command)  # each entry rerun says when, where and how; entries kept keep theirs
    if not args.no_ours:
        result |= {"scale": args.scale, "iterations": args.iterations,
                   "ours": time_ours(args.scale, args.iterations) | {"measured": stamp}}
    if args.py4dstem:
        result["py4dstem"] = run_py4dstem(args.scale, args.py4dstem_iterations) | {"measured": stamp}
    if args.ptychi:
        result["ptychi"] = run_ptychi(args.scale, args.ptychi_iterations) | {"measured": stamp}
    if args.ptyrad:
        result["ptyrad"] = run_ptyrad(args.scale, args.ptyrad_iterations) | {"measured": stamp}
    result = write_result("ptycho_speed", result, command)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
