"""Time per iteration of the Part II reconstruction on the CPU, and optionally py4DSTEM's and pty-chi's beside it.

    python benchmarks/ptycho_speed.py [--scale quick] [--iterations 3] [--no-ours]
        [--py4dstem [--py4dstem-iterations 40]] [--ptychi [--ptychi-iterations 40]]

Times ``ctxlib.ptycho.reconstruct`` per iteration (object only, and object + positions with
the iCGD schedule's affine step) on the benchmark data of ``scale`` and writes
``benchmarks/results/ptycho_speed.json``. With ``--py4dstem`` it also tries to create a
separate virtual environment under ``_build/py4dstem-venv`` and ``pip install py4DSTEM``
there, then runs py4DSTEM's single-slice ptychography with position correction on the same
patterns in that environment (never a dependency of ctxlib); if the install fails, the
result says so. ``--ptychi`` does the same with Argonne's pty-chi (``ptychi``, its LSQML
engine) in ``_build/ptychi-venv``. The results file is merged, not replaced: entries not
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

import numpy as np

from ctxlib.base.files import atomic_write
from ctxlib.base.paths import ROOT
from ctxlib.ptycho.constraints import position_rmse
from ctxlib.ptycho.data import load_case, settings_for
from ctxlib.ptycho.icgd import ICGDSettings, run_method
from ctxlib.ptycho.probe import electron_wavelength

PY4DSTEM_VENV = ROOT / "_build" / "py4dstem-venv"
PTYCHI_VENV = ROOT / "_build" / "ptychi-venv"
RESULTS = ROOT / "benchmarks" / "results" / "ptycho_speed.json"
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


PTYCHI_VERSION = "2.2.0"
# pty-chi needs torchvision; 0.28.0 is the release paired with torch 2.13. torch is installed first, on its own, so
# that pip takes the CPU wheel the main environment uses rather than a second, CUDA, multi-GB torch.
PTYCHI_INSTALL = (["torch==2.13.0"], ["torch==2.13.0", "torchvision==0.28.0", f"ptychi=={PTYCHI_VERSION}"])
PTYCHI_SCRIPT = r"""
import json, sys, time, numpy as np, torch
torch.set_num_threads(1)
try:
    import torchvision  # noqa: F401  (pty-chi's utils import torchvision.transforms.GaussianBlur)
except RuntimeError as error:
    # PyPI's torchvision 0.28.0 is built against CUDA torch: beside the CPU torch its C ops do not load, which it
    # allows for (every other fake kernel is registered only when they did), but it registers fake kernels for
    # nms and qnms unconditionally, and that fails. Define those two schemas (unused by pty-chi) and import again.
    if "torchvision::nms" not in str(error):
        raise
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
    _schemas = torch.library.Library("torchvision", "FRAGMENT")
    for op in ("nms", "qnms"):
        _schemas.define(op + "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    import torchvision  # noqa: F401
import ptychi.api as api
from ptychi.api.task import PtychographyTask
from ptychi.utils import get_suggested_object_size

d = np.load(sys.argv[1])
options = json.loads(sys.argv[2])
# Our patterns are centred intensities indexed (kx, ky), a fraction of the beam per pixel; pty-chi wants them
# centred too (fft_shift=True) and, with its eps terms, in counts. Its arrays are (row, column) = its (y, x), so our
# x (pattern axis 0) is its row and our y its column; positions go in as pixels of those axes, centred on the
# nominal grid's middle. options["axes"] = [1, 0] feeds the transposed convention instead (a check of the setup).
patterns = d["patterns"] * float(options["counts"])
sampling = d["sampling"]  # Angstrom per pixel along pattern axes 0 and 1
row_axis, col_axis = options["axes"]
centre = d["nominal"].mean(axis=0)


def to_pixels(positions):
    q = positions - centre
    return q[:, row_axis] / sampling[0], q[:, col_axis] / sampling[1]


def from_pixels(rows, cols):
    out = np.empty((len(rows), 2))
    out[:, row_axis], out[:, col_axis] = rows * sampling[0], cols * sampling[1]
    return out + centre


rows, cols = to_pixels(d["nominal"])
shape = get_suggested_object_size(np.column_stack([rows, cols]), patterns.shape[1:], extra=24)
probe = torch.as_tensor(d["probe"].astype(np.complex64))[None, None]
out = {}
for name, run in options["runs"].items():
    o = api.LSQMLOptions()
    o.data_options.wavelength_m = float(d["wavelength"]) * 1e-10
    o.data_options.fft_shift = True
    o.object_options.pixel_size_m = float(sampling[1]) * 1e-10  # pixel width (column)
    o.object_options.pixel_size_aspect_ratio = float(sampling[1] / sampling[0])  # width / height
    o.probe_position_options.optimizable = run["correct"]
    o.probe_position_options.affine_transform_constraint.enabled = run["affine"]
    o.reconstructor_options.num_epochs = options["iterations"]
    o.reconstructor_options.batch_size = options["batch"]
    o.reconstructor_options.default_device = api.Devices.CPU
    o.reconstructor_options.random_seed = 0
    start_rows, start_cols = to_pixels(d[run["start"]])
    task = PtychographyTask(o, diffraction_data=patterns, object_data=torch.ones((1, *shape), dtype=torch.complex64),
                            probe_data=probe.clone(), probe_position_x_px=start_cols, probe_position_y_px=start_rows)
    start = time.perf_counter()
    task.run()
    seconds = (time.perf_counter() - start) / options["iterations"]
    loss = task.reconstructor.loss_tracker.table["loss"].to_numpy(dtype=float)
    found = from_pixels(task.get_probe_positions_y(as_numpy=True), task.get_probe_positions_x(as_numpy=True))
    out[name] = {"seconds_per_iteration": seconds, "data_error": float(loss[-1]), "data_error_first": float(loss[0]),
                 "positions": found.tolist()}
print(json.dumps(out))
"""

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
    python = PTYCHI_VENV / "bin" / "python"
    if not python.exists():
        venv.create(PTYCHI_VENV, with_pip=True)
    for packages in PTYCHI_INSTALL:
        install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", *packages], capture_output=True,
                                 text=True, check=False)
        if install.returncode:
            return {"status": "install failed", "why": f"pip install {' '.join(packages)}: {install.stderr[-2000:]}"}
    version = subprocess.run([str(python), "-m", "pip", "show", "ptychi"], capture_output=True, text=True,
                             check=False).stdout
    version = next((line.split(":", 1)[1].strip() for line in version.splitlines() if line.startswith("Version:")), "")
    data = load_case("affine", scale=scale)
    bench = settings_for(scale)
    path = ROOT / "_build" / "ptycho" / f"ptychi_input_{scale}.npz"
    atomic_write(path, lambda h: np.savez(h, patterns=data.patterns, nominal=data.nominal, truth=data.truth,
                                          sampling=np.asarray(data.sampling), probe=data.probe,
                                          wavelength=electron_wavelength(bench.energy_kev)))
    runs = PTYCHI_RUNS if runs is None else runs
    options = {"iterations": iterations, "batch": batch, "counts": counts, "axes": list(axes), "runs": runs}
    run = subprocess.run([str(python), "-c", PTYCHI_SCRIPT, str(path), json.dumps(options)], capture_output=True,
                         text=True, check=False, env=os.environ | {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    if run.returncode:
        return {"status": "pty-chi run failed", "why": run.stderr[-2000:]}
    answer = json.loads(run.stdout.strip().splitlines()[-1])
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=["quick", "full"], default="quick")
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--py4dstem", action="store_true", help="also try py4DSTEM in a separate venv")
    parser.add_argument("--py4dstem-iterations", type=int, default=40)
    parser.add_argument("--ptychi", action="store_true", help="also try pty-chi in a separate venv")
    parser.add_argument("--ptychi-iterations", type=int, default=40)
    parser.add_argument("--no-ours", action="store_true", help="keep the recorded timing of ours, do not rerun it")
    args = parser.parse_args(argv)
    result = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if result.get("scale") != args.scale:
        if args.no_ours:
            parser.error(f"--no-ours needs a recorded result at scale {args.scale!r}")
        result = {}
    if not args.no_ours:
        result |= {"scale": args.scale, "iterations": args.iterations, "ours": time_ours(args.scale, args.iterations)}
    if args.py4dstem:
        result["py4dstem"] = run_py4dstem(args.scale, args.py4dstem_iterations)
    if args.ptychi:
        result["ptychi"] = run_ptychi(args.scale, args.ptychi_iterations)
    atomic_write(RESULTS, lambda h: h.write(json.dumps(result, indent=1).encode()))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
