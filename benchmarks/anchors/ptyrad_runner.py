"""PtyRAD's runner for benchmarks/ptycho_speed.py, run in PtyRAD's own environment:
``python ptyrad_runner.py INPUT.npz OPTIONS_JSON``; prints one JSON line."""
from torch_preamble import json, np, sys, time, torch  # noqa: F401 (one thread, torchvision loaded)

import importlib.machinery, logging


class _PlottingBasicFor311(importlib.machinery.SourceFileLoader):
    # PtyRAD 1.0.0 says it needs Python >= 3.10, but line 295 of ptyrad/plotting/basic.py (imported by its solver)
    # nests the same quotes inside an f-string, which only Python 3.12 parses (PEP 701): a SyntaxError here. The
    # loader compiles that module with the inner quotes changed, nothing else.
    def source_to_code(self, data, path, *, _optimize=-1):
        text = data.decode().replace("{lr_iters['niter'][-1]}", '{lr_iters["niter"][-1]}')
        return compile(text, path, "exec", dont_inherit=True, optimize=_optimize)


class _Finder:
    def find_spec(self, name, path=None, target=None):
        if name != "ptyrad.plotting.basic":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        spec.loader = _PlottingBasicFor311(name, spec.origin)
        return spec


if sys.version_info < (3, 12):
    sys.meta_path.insert(0, _Finder())
from ptyrad.params.ptyrad_params import PtyRADParams
from ptyrad.solver import PtyRADSolver

logging.getLogger("ptyrad").setLevel(logging.WARNING)
d = np.load(sys.argv[1])
options = json.loads(sys.argv[2])
# PtyRAD's arrays are (row, column) = its (y, x): its probe and patterns (N, ky, kx), its positions (N, 2) the (row,
# column) pixel of the probe window's corner on the object canvas. Our patterns (centred, as its forward model's
# fftshift makes them) and probe are indexed (kx, ky) and (x, y), so our x (pattern axis 0) is its row and our y its
# column; positions go in as pixels of those axes, centred on the nominal grid's middle and moved onto its canvas as
# PtyRAD places simulated scans. Its pixel size dx is a single number (square pixels), used only for the multislice
# propagator and plots: a single slice with a given probe and positions given in pixels of each axis is exact for our
# slightly non-square pixels. It normalises the patterns itself (mean pattern's maximum at one), so no scale to
# counts. options["axes"] = [1, 0] feeds the transposed convention instead (a check of the setup).
patterns = d["patterns"].astype(np.float32)
sampling = d["sampling"]  # Angstrom per pixel along pattern axes 0 and 1
row_axis, col_axis = options["axes"]
centre = d["nominal"].mean(axis=0)
window = np.array(patterns.shape[1:])


def to_pixels(positions):
    q = positions - centre
    return np.column_stack([q[:, row_axis] / sampling[0], q[:, col_axis] / sampling[1]])


def from_pixels(pixels):
    out = np.empty((len(pixels), 2))
    rows, cols = pixels[:, 0] - offset[0], pixels[:, 1] - offset[1]
    out[:, row_axis], out[:, col_axis] = rows * sampling[0], cols * sampling[1]
    return out + centre


nominal = to_pixels(d["nominal"])
canvas = (1.2 * np.ceil(nominal.max(0) - nominal.min(0) + window)).astype(int)  # PtyRAD's own rule for its canvas
offset = canvas // 2 - window // 2
probe = d["probe"].astype(np.complex64)[None]
rates = options["learning_rates"]  # per Adam step: obja, objp, probe, probe_pos_shifts
out = {}
# one untimed iteration first: the first solver run in a process pays a few seconds of one-time set-up
for name, run in [("warm-up", next(iter(options["runs"].values())))] + list(options["runs"].items()):
    iterations = 1 if name == "warm-up" else options["iterations"]
    params = {
        "init_params": {
            "probe_kv": float(d["energy_kev"]), "probe_conv_angle": float(d["semiangle"]),
            "meas_Npix": int(patterns.shape[1]), "pos_N_scans": len(patterns),
            "pos_N_scan_slow": int(d["lines"]), "pos_N_scan_fast": int(d["points"]),
            "pos_scan_step_size": float(d["step"]),
            "meas_calibration": {"mode": "dx", "value": float(sampling[0])},
            "probe_pmode_max": 1, "obj_omode_max": 1, "obj_Nlayer": 1, "obj_slice_thickness": 1.0,
            "pos_scan_rand_std": None,  # its default jitters the start by 0.15 px
            "meas_source": "custom", "meas_params": patterns,
            "probe_source": "custom", "probe_params": probe.copy(),
            "pos_source": "custom", "pos_params": to_pixels(d[run["start"]]) + offset,
            # a uniform start on the same canvas for every run (its 'simu' source with a given shape, [1, 1, Ny, Nx],
            # fails in 1.0.0: _simulate_obj then reads omode before assigning it, an UnboundLocalError)
            "obj_source": "custom", "obj_params": np.ones((1, 1, *canvas), dtype=np.complex64),
        },
        "model_params": {"update_params": {
            **{key: {"start_iter": 1, "lr": rates[key]} for key in ("obja", "objp", "probe")},
            "probe_pos_shifts": {"start_iter": 1 if run["correct"] else None,
                                 "lr": rates["probe_pos_shifts"] if run["correct"] else 0.0}}},
        "recon_params": {"NITER": iterations, "BATCH_SIZE": {"size": options["batch"], "grad_accumulation": 1},
                         "SAVE_ITERS": None, "copy_params": False, "convergence_monitor": None,
                         "output_dir": options["output_dir"]},
    }
    params = PtyRADParams(**params).model_dump()
    solver = PtyRADSolver(params, device="cpu", seed=0)
    start = time.perf_counter()
    solver.run()
    seconds = (time.perf_counter() - start) / iterations
    if name == "warm-up":
        continue
    model = solver.reconstruct_results
    loss = [value for _, value in model.loss_iters]
    found = from_pixels((model.crop_pos + model.opt_probe_pos_shifts).detach().numpy().astype(np.float64))
    out[name] = {"seconds_per_iteration": seconds, "seconds_per_iteration_loop": float(np.mean(model.iter_times)),
                 "data_error": float(loss[-1]), "data_error_first": float(loss[0]), "positions": found.tolist()}
print(json.dumps(out))
