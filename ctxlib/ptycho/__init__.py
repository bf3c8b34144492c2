"""Part II: scan-position correction for electron ptychography (the iCGD protocol).

In: 4D-STEM diffraction patterns (N, n, n), a nominal scan grid (N, 2) in Angstrom with
its shape (lines, points per line), a starting probe and the real-space sampling in
Angstrom per pixel; the benchmark data (``data``) are simulated here with abTEM from
monolayer 1H-MoS2 at 80 keV and 25 mrad. Out: the reconstructed object, probe and scan
positions of free gradient descent, of the affine and affine-plus-line constraints and
of the iCGD schedule (``icgd``), each with its data error and position history, and
the split of a position-error field into affine, line and residual parts
(``constraints``). The object is one slice or several separated by Fresnel propagation
(``multislice``), a setting of the engine. Imports only :mod:`ctxlib.base`; only :mod:`ctxlib.book` imports it.
"""

from ctxlib.base.lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "probe": ["spatial_frequencies", "bandlimit_mask", "probe_wave", "BANDLIMIT"],
        "forward": ["check_inputs", "pad_probe", "Geometry", "shifted_probes", "exit_waves", "far_field",
                    "intensities", "data_error"],
        "multislice": ["Slices", "fresnel_kernel", "propagators", "slice_kernels", "propagate", "layers", "transmit",
                       "send_back", "shift_derivatives"],
        "reconstruct": ["EngineSettings", "State", "initial_state", "iterate", "reconstruct", "final_error",
                        "object_phase", "save_checkpoint", "load_checkpoint"],
        "constraints": ["AffineFit", "compose_affine", "decompose_affine", "fit_affine", "fit_lines", "line_field",
                        "lowpass", "clip", "Affine", "KnownScale", "scale_from_lattice", "Lines", "LowPass", "HighPass",
                        "Free", "constrain",
                        "split_errors", "position_rmse"],
        "icgd": ["METHODS", "ICGDSettings", "schedule", "stage_table", "Result", "run_method", "run_methods",
                 "dose_tag", "scores", "affine_rows", "truth_drift"],
        "data": ["CASES", "ScanErrors", "ERRORS", "BenchmarkSettings", "settings_for", "nominal_grid",
                 "true_positions", "specimen", "simulate_case", "add_noise", "PtychoData", "generate", "model_patterns",
                 "fold", "folded_probe", "folded_model_patterns", "load_case"],
    },
)
