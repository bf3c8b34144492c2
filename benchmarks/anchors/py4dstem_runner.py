"""py4DSTEM's runner for benchmarks/ptycho_speed.py, run in py4DSTEM's own environment:
``python py4dstem_runner.py INPUT.npz OPTIONS_JSON``; prints one JSON line."""

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
