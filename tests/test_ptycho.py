"""Part II (ctxlib.ptycho): the forward model against abTEM, the constraint steps against analytic
results, the input checks, and checkpoint/resume of a reconstruction. Tiny grids throughout."""

import json
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ctxlib.ptycho.constraints import (
    Affine,
    Free,
    Lines,
    compose_affine,
    constrain,
    fit_affine,
    fit_lines,
    line_field,
    position_rmse,
    split_errors,
)
from ctxlib.ptycho.data import BenchmarkSettings, ScanErrors, generate, nominal_grid, simulate_case, true_positions
from ctxlib.ptycho.forward import Geometry, check_inputs, exit_waves, intensities
from ctxlib.ptycho.icgd import ICGD_ENGINE, ICGDSettings, schedule
from ctxlib.base.electrons import electron_wavelength
from ctxlib.ptycho.probe import probe_wave
from ctxlib.ptycho.reconstruct import EngineSettings, load_checkpoint, reconstruct

abtem = pytest.importorskip("abtem")

TINY = BenchmarkSettings(scan_shape=(5, 6), cells=(3, 2), fold=2, window=48, doses=(math.inf, 1e4))


def _mos2_cell():
    from ctxlib.ptycho.data import specimen

    return specimen(BenchmarkSettings(cells=(2, 1), vacancies=0))


def test_wavelength_at_80_kev():
    assert electron_wavelength(80) == pytest.approx(0.041757, rel=1e-4)


def test_forward_model_reproduces_abtem_single_slice_patterns():
    """Same probe, same (one-slice) object: our patterns equal abTEM's to 1e-5 of the brightest pixel."""
    atoms = _mos2_cell()
    potential = abtem.Potential(atoms, gpts=(48, 48), slice_thickness=atoms.cell[2, 2], projection="infinite",
                                parametrization="lobato")
    probe = abtem.Probe(energy=80e3, semiangle_cutoff=25, defocus=30)
    probe.grid.match(potential)
    positions = np.array([[1.23, 2.71], [3.05, 4.40], [0.0, 0.0], [5.9, 0.37]])
    with abtem.config.set({"diagnostics.progress_bar": False}):
        theirs = probe.scan(potential, scan=abtem.CustomScan(positions),
                            detectors=abtem.PixelatedDetector(max_angle=None)).compute(scheduler="synchronous")
        centre = np.array([[24 * potential.sampling[0], 24 * potential.sampling[1]]])
        wave = np.asarray(probe.build(scan=abtem.CustomScan(centre)).compute().array)[0]
        from abtem.antialias import AntialiasAperture

        transmission = AntialiasAperture().bandlimit(potential.build().transmission_function(80e3))
    wave = wave / np.linalg.norm(wave)
    ours = intensities(np.asarray(transmission.array)[0], wave, positions, potential.sampling)
    theirs = np.asarray(theirs.array)
    assert np.abs(ours - theirs).max() <= 1e-5 * theirs.max()
    # and our own probe is abTEM's up to its soft aperture edge
    mine = probe_wave((48, 48), potential.sampling, 80, 25, defocus=30)
    assert abs(np.vdot(wave, mine)) > 0.9999


def test_widened_window_reproduces_abtem_folded_patterns_where_the_default_window_cannot():
    """abTEM's single-slice patterns of the whole supercell, folded and cropped as the benchmark data, equal our
    model's on a window twice the side (which holds the probe) to 1e-5 of the brightest pixel; on the default
    window (which cuts the probe) they do not."""
    from ctxlib.ptycho.data import fold
    from ctxlib.ptycho.forward import crop_patterns

    base = BenchmarkSettings(scan_shape=(2, 2), cells=(3, 2), fold=2, window=24, crop=20, vacancies=0)
    wide = base.widened(2)
    assert (wide.fold, wide.window, wide.crop) == (1, 48, 40) and wide.sampling == base.sampling
    assert wide.window_side == pytest.approx(tuple(2 * s for s in base.window_side))
    from ctxlib.ptycho.data import specimen

    atoms = specimen(base)
    gpts = (base.fold * base.window,) * 2
    potential = abtem.Potential(atoms, gpts=gpts, slice_thickness=atoms.cell[2, 2], projection="infinite",
                                parametrization="lobato")
    probe = abtem.Probe(energy=80e3, semiangle_cutoff=25, defocus=40)
    probe.grid.match(potential)
    positions = np.array([[3.1, 4.2], [5.0, 6.65], [4.37, 5.5]])
    with abtem.config.set({"diagnostics.progress_bar": False}):
        full = probe.scan(potential, scan=abtem.CustomScan(positions),
                          detectors=abtem.PixelatedDetector(max_angle=None)).compute(scheduler="synchronous")
        centre = np.array([[gpts[0] // 2 * potential.sampling[0], gpts[1] // 2 * potential.sampling[1]]])
        whole = np.asarray(probe.build(scan=abtem.CustomScan(centre)).compute().array)[0]
        from abtem.antialias import AntialiasAperture

        transmission = np.asarray(AntialiasAperture().bandlimit(
            potential.build().transmission_function(80e3)).array)[0]
    whole = whole / np.linalg.norm(whole)
    errors = {}
    for name, bench in (("default", base), ("wide", wide)):
        lo = gpts[0] // 2 - bench.window // 2
        wave = whole[lo:lo + bench.window, lo:lo + bench.window]  # the probe as the window holds it
        theirs = crop_patterns(fold(np.asarray(full.array), bench), bench.sampling, bench.crop)[0]
        ours = crop_patterns(intensities(transmission, wave, positions, bench.sampling), bench.sampling,
                             bench.crop)[0]
        errors[name] = np.abs(ours - theirs).max() / theirs.max()
    assert errors["wide"] <= 1e-5
    assert errors["default"] > 1e-3


def test_widened_window_refuses_factors_that_do_not_divide_the_fold():
    with pytest.raises(ValueError, match="window factor = 3"):
        BenchmarkSettings().widened(3)
    with pytest.raises(ValueError, match="window factor = 0"):
        BenchmarkSettings().widened(0)
    with pytest.raises(ValueError, match="crop = 50"):
        BenchmarkSettings(crop=50)
    with pytest.raises(ValueError, match="fold = 0"):
        BenchmarkSettings(fold=0)


def test_true_positions_fit_the_abtem_data_better_than_the_nominal_grid():
    truth = true_positions(TINY, ScanErrors(rotation_deg=10.0, scale=1.1, drift=(0.3, 0.2), jitter_pm=20.0))
    patterns, transmission = simulate_case(TINY, truth)
    probe = probe_wave((TINY.window,) * 2, TINY.sampling, 80, 25, defocus=TINY.defocus)
    from ctxlib.ptycho.forward import data_error

    at_truth = data_error(patterns, intensities(transmission, probe, truth, TINY.sampling))
    at_nominal = data_error(patterns, intensities(transmission, probe, nominal_grid(TINY), TINY.sampling))
    assert at_truth < 0.05  # multislice data, single-slice model: a few per cent apart
    assert at_truth < 0.95 * at_nominal, (at_truth, at_nominal)


def test_generate_writes_a_manifest_of_every_setting(tmp_path):
    manifest = generate("tiny", tmp_path, settings=TINY)
    saved = json.loads((tmp_path / "tiny" / "manifest.json").read_text())
    assert saved == manifest
    assert saved["settings"]["scan_shape"] == [5, 6] and saved["settings"]["errors"]["affine"]["rotation_deg"] == 1.0
    assert sorted(saved["files"]) == sorted(f"{c}_{d}.npz" for c in ("affine", "lines") for d in ("inf", "1e+04"))
    assert generate("tiny", tmp_path, settings=TINY) == manifest  # cached: not simulated again


# --- bad input ---------------------------------------------------------------------------------

def test_counts_of_positions_and_patterns_must_match():
    with pytest.raises(ValueError, match="3 positions but 4 diffraction patterns"):
        check_inputs(np.ones((4, 8, 8)), np.zeros((3, 2)), np.ones((8, 8)))


def test_probe_larger_than_pattern_grid_is_refused():
    with pytest.raises(ValueError, match=r"probe of shape \(10, 10\) is larger than the pattern grid \(8, 8\)"):
        check_inputs(np.ones((4, 8, 8)), np.zeros((4, 2)), np.ones((10, 10)))


def test_nans_in_the_data_are_refused():
    patterns = np.ones((4, 8, 8))
    patterns[1, 2, 3] = np.nan
    with pytest.raises(ValueError, match="patterns contain 1 NaN"):
        check_inputs(patterns, np.zeros((4, 2)), np.ones((8, 8)))
    with pytest.raises(ValueError, match="patterns contain 1 NaN"):
        reconstruct(patterns, np.zeros((4, 2)), np.ones((8, 8)), (0.1, 0.1), 1)


@pytest.mark.parametrize("rotation", [180.5, -200.0, math.nan])
def test_rotation_outside_180_degrees_is_refused(rotation):
    with pytest.raises(ValueError, match="rotation_deg = .* outside"):
        compose_affine(rotation)
    with pytest.raises(ValueError, match="rotation_deg"):
        ScanErrors(rotation_deg=rotation)


def test_settings_refuse_bad_values():
    with pytest.raises(ValueError, match="free_clip_pm = -1"):
        ICGDSettings(free_clip_pm=-1)
    with pytest.raises(ValueError, match="method 'bogus'"):
        schedule("bogus", 0)
    for field, value in (("batch_size", 0), ("object_alpha", 1.5), ("position_momentum", 1.0), ("max_shift", -0.1)):
        with pytest.raises(ValueError, match=f"{field} = {value}"):
            EngineSettings(**{field: value})
    with pytest.raises(ValueError, match="engine must be an EngineSettings"):
        ICGDSettings(engine={"batch_size": 5})


# --- constraint steps against analytic results ---------------------------------------------------

GRID = (np.stack(np.meshgrid(np.arange(8.0), np.arange(6.0)), -1).reshape(-1, 2) * 0.35)


@settings(max_examples=40, deadline=None)
@given(st.floats(-170, 170), st.floats(0.9, 1.1), st.floats(0.9, 1.1), st.floats(-0.1, 0.1),
       st.tuples(st.floats(-2, 2), st.floats(-2, 2)))
def test_affine_fit_recovers_a_known_map_exactly(rotation, sx, sy, shear, shift):
    matrix = compose_affine(rotation, (sx, sy), shear=shear)
    fit = fit_affine(GRID, GRID @ matrix.T + np.array(shift))
    assert fit.rotation_deg == pytest.approx(rotation, abs=1e-9)
    assert fit.scale == pytest.approx((sx, sy), abs=1e-9)
    assert fit.shear == pytest.approx(shear, abs=1e-9)
    assert fit.translation == pytest.approx(shift, abs=1e-9)


def test_affine_rotation_sign_is_counter_clockwise_positive():
    quarter = fit_affine(GRID, GRID @ np.array([[0.0, -1.0], [1.0, 0.0]]).T)  # x -> y: +90 degrees
    assert quarter.rotation_deg == pytest.approx(90.0)
    assert fit_affine(GRID, GRID @ compose_affine(-1.0).T).rotation_deg == pytest.approx(-1.0)


def test_line_fit_recovers_injected_offsets_and_slopes():
    rng = np.random.default_rng(1)
    shape = (6, 8)
    offsets, slopes = rng.normal(0, 0.1, (6, 2)), rng.normal(0, 0.05, (6, 2))
    field = line_field(offsets, slopes, shape)
    found = fit_lines(field, shape)
    assert np.allclose(found[0], offsets) and np.allclose(found[1], slopes)
    # after an affine map, the line step takes exactly the injected line field
    matrix = compose_affine(1.0, (1.02, 1.02))
    positions = GRID @ matrix.T + field
    kept = constrain((Affine(), Lines()), GRID, positions, shape)
    assert np.allclose(kept, positions)
    parts = split_errors(GRID, positions, shape)
    assert np.allclose(parts["affine"] + parts["line"] + parts["residual"], positions - GRID)
    assert np.abs(parts["residual"]).max() < 1e-12


def test_affine_step_cannot_take_line_jumps_but_free_step_keeps_only_a_clipped_rest():
    shape = (6, 8)
    jumps = line_field(np.array([[0.2, 0], [0, 0], [-0.2, 0], [0, 0], [0.2, 0], [0, 0]]), np.zeros((6, 2)), shape)
    affine_only = constrain((Affine(),), GRID, GRID + jumps, shape)
    assert position_rmse(affine_only, GRID + jumps) > 0.1
    free = constrain((Free(largest=0.05),), GRID, GRID + jumps, shape)
    assert np.hypot(*(free - GRID).T).max() <= 0.05 + 1e-12
    assert np.abs((free - GRID).mean(axis=0)).max() < 0.01  # mean removed before the clip


def test_rmse_ignores_a_global_translation():
    assert position_rmse(GRID + [0.3, -0.1], GRID) == pytest.approx(0.0, abs=1e-12)
    assert position_rmse(GRID + np.array([[0.01, 0]] * 24 + [[-0.01, 0]] * 24), GRID) == pytest.approx(0.01)


# --- the engine -------------------------------------------------------------------------------

def _synthetic(seed=0):
    """A random phase object scanned 5 x 5 by our own model (no abTEM), with jittered positions."""
    rng = np.random.default_rng(seed)
    sampling = (0.2, 0.2)
    phase = np.fft.ifft2(np.fft.fft2(rng.normal(0, 1, (48, 48))) * (np.hypot(*np.meshgrid(
        np.fft.fftfreq(48), np.fft.fftfreq(48))) < 0.15)).real
    obj = np.exp(1j * 0.5 * phase / phase.std())
    probe = probe_wave((16, 16), sampling, 80, 25, defocus=20)
    nominal = nominal_grid(BenchmarkSettings(scan_shape=(5, 5), step=0.5, cells=(3, 2))) - 1.2
    truth = nominal + rng.normal(0, 0.05, nominal.shape)
    return intensities(obj, probe, truth, sampling), nominal, truth, probe, sampling


def test_position_gradient_moves_positions_toward_the_truth_and_data_error_falls():
    patterns, nominal, truth, probe, sampling = _synthetic()
    state = reconstruct(patterns, nominal, probe, sampling, 12,
                        rule=lambda it, p: constrain((Free(),), nominal, p, (5, 5)) if it >= 3 else nominal,
                        settings=EngineSettings(batch_size=5, probe_from=100))
    errors = [h["data_error"] for h in state.history]
    assert errors[-1] < 0.5 * errors[0]
    assert position_rmse(state.positions, truth) < position_rmse(nominal, truth)


def test_resumed_reconstruction_equals_an_uninterrupted_one(tmp_path):
    patterns, nominal, _, probe, sampling = _synthetic()
    rule = lambda it, p: constrain((Free(),), nominal, p, (5, 5))
    engine = EngineSettings(batch_size=5, probe_from=2)
    straight = reconstruct(patterns, nominal, probe, sampling, 6, rule=rule, settings=engine)
    path = tmp_path / "run.pt"
    stopped = reconstruct(patterns, nominal, probe, sampling, 6, rule=rule, settings=engine, checkpoint=path,
                          checkpoint_every=2,
                          stop_after=3)
    assert stopped.iteration == 3 and path.exists()
    resumed = reconstruct(patterns, nominal, probe, sampling, 6, rule=rule, settings=engine, checkpoint=path,
                          checkpoint_every=2)
    assert resumed.iteration == 6 and len(resumed.history) == 6
    assert torch.equal(resumed.obj, straight.obj) and torch.equal(resumed.probe, straight.probe)
    assert np.array_equal(resumed.positions, straight.positions)
    # a checkpoint of other data is not resumed
    other = reconstruct(patterns * 1.01, nominal, probe, sampling, 6, rule=rule, settings=engine, checkpoint=path,
                        stop_after=1)
    assert other.iteration == 1


def test_checkpoints_read_with_weights_only_and_an_old_pickled_one_starts_over(tmp_path):
    patterns, nominal, _, probe, sampling = _synthetic()
    rule = lambda it, p: constrain((Free(),), nominal, p, (5, 5))
    engine = EngineSettings(batch_size=5, probe_from=2)
    path = tmp_path / "run.pt"
    reconstruct(patterns, nominal, probe, sampling, 4, rule=rule, settings=engine, checkpoint=path, stop_after=2)
    saved = torch.load(path, weights_only=True)  # tensors, numbers and strings only
    assert saved["iteration"] == 2 and saved["history"][1]["positions"].shape == nominal.shape
    saved["positions"] = saved["positions"].numpy()  # as checkpoints were written before: numpy inside
    torch.save(saved, path)
    assert load_checkpoint(path, saved["key"]) is None
    restarted = reconstruct(patterns, nominal, probe, sampling, 4, rule=rule, settings=engine, checkpoint=path,
                            stop_after=1)
    assert restarted.iteration == 1


def test_exit_waves_follow_subpixel_positions_continuously():
    """Moving a position by a tenth of a pixel changes the exit wave by a tenth of a pixel's change."""
    rng = np.random.default_rng(2)
    obj = torch.as_tensor(np.exp(1j * rng.normal(0, 0.3, (32, 32))))
    probe = torch.as_tensor(probe_wave((16, 16), (0.2, 0.2), 80, 25, defocus=20))
    geometry = Geometry((32, 32), (16, 16), (0.2, 0.2))
    base = torch.tensor([[3.0, 3.1]], dtype=torch.float64)
    waves = [exit_waves(obj, probe, base + torch.tensor([[d, 0.0]]), geometry) for d in (0.0, 0.02, 0.2)]
    small, large = (waves[1] - waves[0]).abs().sum(), (waves[2] - waves[0]).abs().sum()
    assert 0.05 < float(small / large) < 0.2


def test_truth_drift_stays_at_the_truth_on_data_of_the_model_itself():
    """The diagnostic of notebook 07: started at the truth, the free steps on exact-model data stay there."""
    from ctxlib.ptycho.data import PtychoData
    from ctxlib.ptycho.icgd import truth_drift

    patterns, nominal, truth, probe, sampling = _synthetic()
    data = PtychoData(patterns.astype(np.float32), nominal, truth, (5, 5), sampling, probe, None, "synthetic",
                      math.inf, 0.6666666)
    curve = truth_drift(data, ICGDSettings(iterations=14, engine=replace(ICGD_ENGINE, batch_size=5, probe_from=100)), hold=8)
    start = position_rmse(nominal, truth) * 100  # pm
    assert curve[:8].max() == 0.0 and curve[-1] < 0.3 * start, (curve[-1], start)


def test_device_is_checked_and_a_checkpoint_resumes_on_the_device_asked_for(tmp_path):
    patterns, nominal, _, probe, sampling = _synthetic()
    engine = EngineSettings(batch_size=5)
    for bad in ("gpu", "cuda:x", 3.5):
        with pytest.raises(ValueError, match="is not a torch device"):
            reconstruct(patterns, nominal, probe, sampling, 1, rule=None, settings=engine, device=bad)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="'cuda' is not available here"):
            reconstruct(patterns, nominal, probe, sampling, 1, rule=None, settings=engine, device="cuda")
    straight = reconstruct(patterns, nominal, probe, sampling, 3, rule=None, settings=engine)
    path = tmp_path / "run.pt"
    reconstruct(patterns, nominal, probe, sampling, 3, rule=None, settings=engine, checkpoint=path, stop_after=1)
    other = "cuda" if torch.cuda.is_available() else "cpu"
    resumed = reconstruct(patterns, nominal, probe, sampling, 3, rule=None, settings=engine, checkpoint=path,
                          device=other)
    assert resumed.obj.device.type == other and resumed.iteration == 3
    assert torch.allclose(resumed.obj.cpu(), straight.obj, atol=1e-4)


# --- the page's scores ----------------------------------------------------------------------------

def _hand_result(method, positions, errors=None):
    """A Result of known positions per iteration (no reconstruction behind it)."""
    from types import SimpleNamespace

    from ctxlib.ptycho.icgd import Result

    positions = np.asarray(positions)
    errors = np.linspace(1, 0.5, len(positions)) if errors is None else errors
    return Result(method, SimpleNamespace(positions=positions[-1]), float(errors[-1]), errors, positions)


def _hand_data(truth):
    from ctxlib.ptycho.data import PtychoData

    return PtychoData(None, GRID, truth, (6, 8), (0.2, 0.2), None, None, "hand", math.inf)


def test_convergence_curves_are_the_rmse_by_hand_and_leave_the_oracle_out():
    from ctxlib.ptycho.icgd import convergence_curves, rmse_curve

    # iteration 1: every position 3 pm off along x (a translation: 0); iteration 2: alternately +-4 pm along y
    wobble = np.zeros_like(GRID)
    wobble[::2, 1], wobble[1::2, 1] = 0.04, -0.04
    free = _hand_result("free", [GRID + [0.03, 0.0], GRID + wobble + [1.0, 2.0]])
    oracle = _hand_result("oracle", [GRID, GRID])
    rmse, errors = convergence_curves(_hand_data(GRID), {"free": free, "oracle": oracle})
    assert list(rmse) == ["free"] and rmse["free"] == pytest.approx([0.0, 4.0], abs=1e-9)
    assert list(errors) == ["free", "oracle"] and errors["oracle"] is oracle.errors
    assert np.array_equal(rmse_curve(free.positions, GRID), rmse["free"])


def test_errors_left_split_the_error_each_method_leaves_and_part_rms_measures_a_part():
    from ctxlib.ptycho.constraints import part_rms
    from ctxlib.ptycho.icgd import errors_left

    rng = np.random.default_rng(4)
    affine = GRID @ (compose_affine(1.0, (1.02, 1.0)) - np.eye(2)).T  # 1 degree and 2 % along x
    jitter = rng.normal(0, 0.002, GRID.shape)
    truth = GRID + affine + [0.5, -0.2]
    found = {"free": _hand_result("free", [GRID + [0.1, 0.1]]),  # left: the whole affine map
             "icgd": _hand_result("icgd", [truth - jitter]),  # left: the jitter only
             "oracle": _hand_result("oracle", [truth])}
    left = errors_left(_hand_data(truth), found)
    assert list(left) == ["free", "icgd"] and set(left["free"]) == {"affine", "line", "residual"}
    assert np.allclose(left["free"]["affine"], affine - affine.mean(0), atol=1e-12)
    assert np.allclose(left["free"]["line"], 0, atol=1e-12) and np.allclose(left["free"]["residual"], 0, atol=1e-12)
    parts = left["icgd"]
    assert np.allclose(parts["affine"] + parts["line"] + parts["residual"], jitter - jitter.mean(0), atol=1e-12)
    rms = part_rms(left, "affine")
    by_hand = np.sqrt(np.mean(np.sum((affine - affine.mean(0)) ** 2, axis=1))) * 100  # pm
    assert list(rms) == ["free", "icgd"] and rms["free"] == pytest.approx(by_hand, abs=1e-8)
    assert rms["icgd"] < 0.2  # pm: jitter of 0.2 pm hardly has an affine part


def _tiny_icgd():
    return ICGDSettings(iterations=4, position_from=1, line_from=2, lowpass_from=3, free_from=3,
                        engine=replace(ICGD_ENGINE, batch_size=5, probe_from=100))


def _synthetic_case(dose=math.inf, seed=0):
    from ctxlib.ptycho.data import PtychoData

    patterns, nominal, truth, probe, sampling = _synthetic(seed)
    return PtychoData(patterns.astype(np.float32), nominal, truth, (5, 5), sampling, probe, None, "synthetic", dose,
                      0.6666666)


def test_seed_and_dose_scores_are_the_scores_of_each_run_in_order():
    from ctxlib.ptycho.icgd import dose_scores, run_methods, scores, seed_scores

    methods, tiny = ("free", "affine", "oracle"), _tiny_icgd()
    data = _synthetic_case()
    rows = seed_scores(data, [3, 5], methods=methods, settings=tiny)
    by_hand = [{"seed": s, **row} for s in (3, 5)
               for row in scores(data, run_methods(data, methods, settings=tiny.with_seed(s)))]
    assert rows == by_hand and [r["seed"] for r in rows] == [3, 3, 3, 5, 5, 5]
    assert list(rows[0]) == ["seed", "method", "RMSE (pm)", "data error", "data error / oracle",
                             "first iteration <= 10 pm"]
    assert rows[0]["RMSE (pm)"] != rows[3]["RMSE (pm)"]  # the seed sets the mini-batch order
    loaded = []

    def load(dose, *, seed):
        loaded.append((dose, seed))
        return _synthetic_case(dose, seed)

    sweep = dose_scores(load, [1e5, 1e4], [0, 1], methods=("affine", "oracle"), settings=tiny)
    assert loaded == [(1e5, 0), (1e5, 1), (1e4, 0), (1e4, 1)]
    assert [(r["dose"], r["seed"], r["method"]) for r in sweep] == [
        (d, s, m) for d in ("1e+05", "1e+04") for s in (0, 1) for m in ("affine", "oracle")]
    one = _synthetic_case(1e4, 1)
    expected = scores(one, run_methods(one, ("affine", "oracle"), settings=tiny.with_seed(1)))
    assert sweep[6:] == [{"dose": "1e+04", "seed": 1, **row} for row in expected]


# --- the iCGD record (benchmarks/icgd.py) and its reader ----------------------------------------------

def _icgd_record(cases=("affine", "lines")):
    """A hand-made record of two doses: iCGD 8 +- 1 pm at infinite dose (free 12 +- 1), 20 +- 5 at 1e+04 (affine 19)."""
    rmse = {("inf", "free"): (12, 1), ("inf", "affine"): (13, 1), ("inf", "affine+line"): (12.5, 1),
            ("inf", "icgd"): (8, 1), ("inf", "oracle"): (0, 0), ("1e+04", "free"): (40, 5),
            ("1e+04", "affine"): (19, 2), ("1e+04", "affine+line"): (21, 2), ("1e+04", "icgd"): (20, 5),
            ("1e+04", "oracle"): (0, 0)}
    rows = [{"case": case, "dose": dose, "method": method,
             "rmse_pm": {"mean": m, "std": s, "min": m - s, "max": m + s, "values": [m - s, m + s]},
             "data_error_over_oracle": {"mean": 1.0}, "seconds_per_iteration": 0.1, "rmse_curve_pm": [20.0, m]}
            for case in cases for (dose, method), (m, s) in rmse.items()]
    return {"engines": {"single slice": {"slices": {"count": 1, "thickness_angstrom": 0.0}, "rows": rows}},
            "truth_drift": {"hold": 2, "rows": [{"patterns": "abTEM", "engine": "single slice",
                                                   "curve_pm": [0.0, 0.0, 3.0, 4.0]}]}}


def test_icgd_reader_refuses_a_record_missing_a_case_or_an_engine():
    from ctxlib.book.records import icgd_rows

    with pytest.raises(ValueError, match=r"no rows for case \['lines'\]"):
        icgd_rows(_icgd_record(cases=("affine",)))
    with pytest.raises(ValueError, match="no engine '3 slices"):
        icgd_rows(_icgd_record(), engine="3 slices, 1.586 A apart")


def test_icgd_claim_says_where_icgd_is_best_and_by_how_much():
    from ctxlib.book.records import icgd_claim, icgd_curves, icgd_drift, icgd_summary

    claim = icgd_claim(_icgd_record())
    inf, low = claim.loc[("case 1 (affine)", "inf")], claim.loc[("case 1 (affine)", "1e+04")]
    assert inf["best other"] == "free" and inf["icgd best"] and inf["clearly"] and inf["target met"]
    assert low["best other"] == "affine" and not low["icgd best"] and not low["target met"]
    summary = icgd_summary(_icgd_record(), "lines")
    assert list(summary.columns) == ["dose", "method", "mean", "std"] and "oracle" not in set(summary["method"])
    assert list(icgd_curves(_icgd_record(), "affine", "inf")) == ["free", "affine", "affine+line", "icgd"]
    assert icgd_drift(_icgd_record(), at=(2, 4)).iloc[0].tolist() == [0.0, 4.0]


def test_icgd_numbers_and_engines_read_every_run():
    from ctxlib.book.records import icgd_engines, icgd_numbers

    record = _icgd_record()
    numbers = icgd_numbers(record)
    assert len(numbers) == 20 and numbers["rmse_icgd_affine_inf"] == "8.0 ± 1.0 pm"
    assert numbers["rmse_affine_line_lines_1e4"] == "21.0 ± 2.0 pm"
    assert icgd_numbers(record, prefix="p_")["p_rmse_icgd_affine_inf"] == "8.0 ± 1.0 pm"
    multi = json.loads(json.dumps(record["engines"]["single slice"]))
    multi["rows"] = [r | {"rmse_pm": r["rmse_pm"] | {"mean": r["rmse_pm"]["mean"] + 1}} for r in multi["rows"]
                     if r["dose"] == "inf"]
    record["engines"]["2 slices, 3 A apart"] = multi
    table = icgd_engines(record)
    assert list(table.columns) == ["single slice", "2 slices, 3 A apart"]
    assert table.loc[("affine", "icgd")].tolist() == [8.0, 9.0]
    assert list(icgd_engines(record, dose="1e+04").columns) == ["single slice"]


def test_an_engine_run_on_case_1_alone_is_read_when_asked_for_and_its_drift_by_key():
    from ctxlib.book.records import icgd_drift, icgd_engines, icgd_numbers, icgd_rows

    record = _icgd_record()
    record["engines"]["single slice, window 11.1 A"] = _icgd_record(cases=("affine",))["engines"]["single slice"]
    with pytest.raises(ValueError, match=r"no rows for case \['lines'\]"):
        icgd_rows(record, engine="single slice, window 11.1 A")
    rows = icgd_rows(record, engine="single slice, window 11.1 A", cases=("affine",))
    assert set(rows.index.get_level_values("case")) == {"affine"}
    numbers = icgd_numbers(record, engine="single slice, window 11.1 A", prefix="w_", cases=("affine",))
    assert len(numbers) == 10 and numbers["w_rmse_icgd_affine_inf"] == "8.0 ± 1.0 pm"
    table = icgd_engines(record)
    assert table.loc[("affine", "icgd"), "single slice, window 11.1 A"] == 8.0
    assert np.isnan(table.loc[("lines", "icgd"), "single slice, window 11.1 A"])
    with pytest.raises(ValueError, match="no truth_drift_window2 entry.*--window 2"):
        icgd_drift(record, key="truth_drift_window2")
    record["truth_drift_window2"] = record["truth_drift"] | {"rows": [{"patterns": "abTEM", "engine": "single slice",
                                                                      "curve_pm": [0.0, 0.0, 0.5, 0.9]}]}
    assert icgd_drift(record, at=(4,), key="truth_drift_window2").iloc[0].tolist() == [0.9]


def test_shipped_icgd_record_holds_every_case_dose_and_method():
    from ctxlib.base.paths import ROOT
    from ctxlib.book.records import icgd_rows

    record = json.loads((ROOT / "benchmarks" / "results" / "icgd.json").read_text())
    rows = icgd_rows(record)
    assert set(rows.index.get_level_values("case")) == {"affine", "lines"}
    assert len(record["engines"]["single slice"]["seeds"]) >= 3
    for case in ("affine", "lines"):
        assert set(rows.loc[case].index) == {(d, m) for d in ("inf", "1e+06", "1e+05", "1e+04", "1e+03")
                                             for m in ("free", "affine", "affine+line", "icgd", "oracle")}


def test_shipped_icgd_record_holds_the_wider_window_grid_and_drift():
    from ctxlib.base.paths import ROOT
    from ctxlib.book.records import icgd_drift, icgd_rows

    record = json.loads((ROOT / "benchmarks" / "results" / "icgd.json").read_text())
    wide = [name for name, entry in record["engines"].items() if entry.get("window", 1) == 2]
    assert len(wide) == 1 and "--window 2" in record["engines"][wide[0]]["measured"]["command"]
    rows = icgd_rows(record, engine=wide[0], cases=("affine",))
    assert {m for _, _, m in rows.index} == {"free", "affine", "affine+line", "icgd", "oracle"}
    assert len(record["engines"][wide[0]]["seeds"]) >= 3
    narrow, drift2 = icgd_drift(record, at=(60,)), icgd_drift(record, at=(60,), key="truth_drift_window2")
    assert record["truth_drift_window2"]["window"] == 2
    assert record["truth_drift_window2"]["probe_outside_window"] < record["truth_drift"]["probe_outside_window"]
    assert drift2.iloc[0, 0] < narrow.iloc[0, 0]  # the abTEM single-slice rows come first


def test_folded_patterns_equal_the_windowed_model_for_vacuum_and_differ_for_mos2():
    """Folding the whole probe's pattern onto the window is the window model with the probe folded onto the
    window (its translates by the window's side summed) for an object periodic on the window (vacuum), and not
    for a lattice that does not repeat over the window along x, as MoS2's does not."""
    from ctxlib.ptycho.data import PtychoData, folded_model_patterns, folded_probe, model_patterns, settings_for
    from ctxlib.ptycho.forward import crop_patterns

    bench = settings_for("quick")
    n, w = bench.fold * bench.window, bench.window
    truth = np.array([[10.0, 10.5], [11.37, 9.2]])
    vacuum = PtychoData(None, truth, truth, (1, 2), bench.sampling, None, np.ones((n, n), np.complex64), "v", math.inf)
    whole = probe_wave((n, n), bench.sampling, 80, 25, defocus=bench.defocus)
    by_hand = np.zeros((w, w), complex)
    for i in range(n):  # each pixel of the whole probe added to its place on the window (centre n // 2 -> w // 2)
        for j in range(n):
            by_hand[(i - n // 2 + w // 2) % w, (j - n // 2 + w // 2) % w] += whole[i, j]
    assert np.allclose(folded_probe(bench), by_hand, atol=1e-12)
    assert np.allclose(folded_model_patterns(vacuum), model_patterns(vacuum, fold_probe=True), rtol=0,
                       atol=1e-6 * model_patterns(vacuum).max())
    assert np.abs(model_patterns(vacuum) - model_patterns(vacuum, fold_probe=True)).max() > 1e-3  # the probes differ
    x = np.arange(n)[:, None] * bench.sampling[0]
    lattice = np.exp(1j * 0.5 * np.cos(2 * np.pi * x / bench.lattice)) * np.ones((1, n))
    mos2 = replace(vacuum, transmission=lattice.astype(np.complex64))
    folded, windowed = folded_model_patterns(mos2), model_patterns(mos2)
    assert np.abs(folded - windowed).max() > 0.01 * windowed.max()


# --- the scale pinned by a known lattice constant --------------------------------------------------

def test_known_scale_removes_a_pure_scale_error_that_the_affine_fit_keeps():
    """Truth: the nominal grid 2 % larger, rotated 1 degree. Proposed: the rotation found, the scale not (as the
    data leave it). The affine step keeps the scale error; the pinned step returns the truth exactly."""
    from ctxlib.ptycho.constraints import KnownScale, scale_from_lattice

    centre = GRID.mean(0)
    truth = centre + (GRID - centre) @ compose_affine(1.0, (1.02, 1.02)).T + [0.1, -0.05]
    proposed = centre + (GRID - centre) @ compose_affine(1.0).T + [0.1, -0.05]
    assert position_rmse(constrain((Affine(),), GRID, proposed, (6, 8)), truth) > 0.01  # > 1 pm left
    pin = scale_from_lattice((3.16 / 1.02, 5.473 / 1.02), (3.16, 5.473))
    pinned = constrain((KnownScale(pin),), GRID, proposed, (6, 8))
    assert np.allclose(pinned, truth, atol=1e-9)
    fit = fit_affine(GRID, pinned)
    assert fit.scale == pytest.approx((1.02, 1.02)) and fit.rotation_deg == pytest.approx(1.0)


def test_scale_pin_replaces_every_affine_step_and_refuses_bad_values():
    from ctxlib.ptycho.constraints import KnownScale

    pinned = ICGDSettings(scale_pin=(1.02, 1.04))
    for method in ("affine", "affine+line", "icgd"):
        steps = schedule(method, 30, settings=pinned)
        assert steps[0] == KnownScale((1.02, 1.04)) and Affine() not in steps, method
    assert schedule("free", 30, settings=pinned) == (Free(),)
    with pytest.raises(ValueError, match=r"scale = \(1.02, 3.0\)"):
        ICGDSettings(scale_pin=(1.02, 3.0))
    with pytest.raises(ValueError, match="scale_pin = 1.02 must be None or a pair"):
        ICGDSettings(scale_pin=1.02)
