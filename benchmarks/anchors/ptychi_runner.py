"""pty-chi's runner for benchmarks/ptycho_speed.py, run in pty-chi's own environment:
``python ptychi_runner.py INPUT.npz OPTIONS_JSON``; prints one JSON line."""
from torch_preamble import json, np, sys, time, torch  # noqa: F401 (one thread, torchvision loaded)

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
