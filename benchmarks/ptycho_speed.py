"""Time per iteration of the Part II reconstruction on the CPU, and optionally py4DSTEM's beside it.

    python benchmarks/ptycho_speed.py [--scale quick] [--iterations 3] [--py4dstem [--py4dstem-iterations 40]]

Times ``ctxlib.ptycho.reconstruct`` per iteration (object only, and object + positions with
the iCGD schedule's affine step) on the benchmark data of ``scale`` and writes
``benchmarks/results/ptycho_speed.json``. With ``--py4dstem`` it also tries to create a
separate virtual environment under ``_build/py4dstem-venv`` and ``pip install py4DSTEM``
there, then runs py4DSTEM's single-slice ptychography with position correction on the same
patterns in that environment (never a dependency of ctxlib); if the install fails, the
result says so.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import venv

import numpy as np

from ctxlib.base.files import atomic_write
from ctxlib.base.paths import ROOT
from ctxlib.ptycho.constraints import position_rmse
from ctxlib.ptycho.data import load_case, settings_for
from ctxlib.ptycho.icgd import ICGDSettings, run_method

PY4DSTEM_VENV = ROOT / "_build" / "py4dstem-venv"
PY4DSTEM_SCRIPT = r"""
import json, sys, time, numpy as np, py4DSTEM
d = np.load(sys.argv[1])
options = json.loads(sys.argv[2])
patterns, lines, points = d["patterns"], int(d["lines"]), int(d["points"])
# the scan as recorded: (Rx, Ry) = (line, point), patterns in our scan order; the patterns' own axes
# are (kx, ky). The positions are given explicitly, in Angstrom, (x, y) and in the same order, so
# py4DSTEM's first real-space axis is x, matching its first diffraction axis kx: no rotation, no transpose.
data = py4DSTEM.DataCube(patterns.reshape(lines, points, *patterns.shape[1:]))
data.calibration.set_R_pixel_size(float(d["step"])); data.calibration.set_R_pixel_units("A")
data.calibration.set_Q_pixel_size(float(d["dk"])); data.calibration.set_Q_pixel_units("A^-1")
out = {}
for name, run in options["runs"].items():
    ptycho = py4DSTEM.process.phase.SingleslicePtychography(
        datacube=data, energy=float(d["energy"]), semiangle_cutoff=float(d["semiangle"]),
        defocus=float(d["defocus"]), initial_scan_positions=d[run["start"]], device="cpu", verbose=False)
    ptycho = ptycho.preprocess(plot_center_of_mass=False, plot_rotation=False, plot_probe_overlaps=False,
                               force_com_rotation=0, force_com_transpose=False)
    start = time.perf_counter()
    ptycho = ptycho.reconstruct(num_iter=options["iterations"], max_batch_size=options["batch"], seed_random=0,
                                fix_positions=run["fix_positions"],
                                global_affine_transformation=run["affine"], progress_bar=False)
    seconds = (time.perf_counter() - start) / options["iterations"]
    out[name] = {"seconds_per_iteration": seconds, "data_error": float(ptycho.error),
                 "positions": np.asarray(ptycho.positions).reshape(-1, 2).tolist()}
print(json.dumps(out))
"""


def time_ours(scale: str, iterations: int) -> dict:
    """Seconds per iteration of our engine, object only and with the affine position step."""
    data = load_case("affine", scale=scale)
    out = {}
    for method in ("oracle", "affine"):
        start = time.perf_counter()
        result = run_method(data, method, ICGDSettings(iterations=iterations, position_from=0))
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


def run_py4dstem(scale: str, iterations: int, batch: int = 64) -> dict:
    """py4DSTEM in its own environment, or why it could not run: its fixed-position reconstruction at the
    nominal grid and at the truth (checks of the setup), and its position correction with and without its
    global affine step, all from the same patterns, calibration and nominal grid as ours."""
    python = PY4DSTEM_VENV / "bin" / "python"
    if not python.exists():
        venv.create(PY4DSTEM_VENV, with_pip=True)
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "py4DSTEM"], capture_output=True,
                             text=True, check=False)
    if install.returncode:
        return {"status": "pip install py4DSTEM failed", "stderr": install.stderr[-2000:]}
    version = subprocess.run([str(python), "-c", "import py4DSTEM; print(py4DSTEM.__version__)"],
                             capture_output=True, text=True, check=False).stdout.strip()
    data = load_case("affine", scale=scale)
    bench = settings_for(scale)
    path = ROOT / "_build" / "ptycho" / f"py4dstem_input_{scale}.npz"
    dk = 1 / (data.patterns.shape[1] * data.sampling[0])
    atomic_write(path, lambda h: np.savez(h, patterns=data.patterns, nominal=data.nominal, truth=data.truth,
                                          lines=data.scan_shape[0], points=data.scan_shape[1], step=bench.step,
                                          dk=dk, energy=bench.energy_kev * 1e3, semiangle=bench.semiangle_mrad,
                                          defocus=bench.defocus))
    options = {"iterations": iterations, "batch": batch, "runs": PY4DSTEM_RUNS}
    run = subprocess.run([str(python), "-c", PY4DSTEM_SCRIPT, str(path), json.dumps(options)], capture_output=True,
                         text=True, check=False, env=os.environ | {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    if run.returncode:
        return {"status": "py4DSTEM run failed", "stderr": run.stderr[-2000:]}
    answer = json.loads(run.stdout.strip().splitlines()[-1])
    out = {"status": "ran", "version": version, "iterations": iterations, "batch": batch,
           "rmse_pm_nominal": position_rmse(data.nominal, data.truth) * 100}
    for name, found in answer.items():
        positions = np.asarray(found.pop("positions"))  # Angstrom, (x, y), our scan order, offset by its padding
        out[name] = found | {"rmse_pm": position_rmse(positions, data.truth) * 100}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=["quick", "full"], default="quick")
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--py4dstem", action="store_true", help="also try py4DSTEM in a separate venv")
    parser.add_argument("--py4dstem-iterations", type=int, default=40)
    args = parser.parse_args(argv)
    result = {"scale": args.scale, "iterations": args.iterations, "ours": time_ours(args.scale, args.iterations)}
    if args.py4dstem:
        result["py4dstem"] = run_py4dstem(args.scale, args.py4dstem_iterations)
    target = ROOT / "benchmarks" / "results" / "ptycho_speed.json"
    atomic_write(target, lambda h: h.write(json.dumps(result, indent=1).encode()))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
