"""Part II, the multislice forward model and engine: against abTEM's own multislice, against the single-slice
model (one slice, or slices that do nothing), and the settings' checks. Small grids throughout."""

import math
from dataclasses import replace

import numpy as np
import pytest

from ctxlib.ptycho.constraints import Free, constrain, position_rmse
from ctxlib.ptycho.data import BenchmarkSettings, PtychoData, nominal_grid, specimen
from ctxlib.ptycho.forward import intensities
from ctxlib.ptycho.icgd import ICGD_ENGINE, ICGDSettings, run_method
from ctxlib.ptycho.multislice import Slices, intensities as multislice_intensities
from ctxlib.ptycho.probe import probe_wave
from ctxlib.ptycho.reconstruct import EngineSettings, object_phase, reconstruct

abtem = pytest.importorskip("abtem")


def _random_object(shape, seed, strength=0.5):
    rng = np.random.default_rng(seed)
    kx, ky = np.meshgrid(np.fft.fftfreq(shape[0]), np.fft.fftfreq(shape[1]), indexing="ij")
    phase = np.fft.ifft2(np.fft.fft2(rng.normal(0, 1, shape)) * (np.hypot(kx, ky) < 0.15)).real
    return np.exp(1j * strength * phase / phase.std())


def test_multislice_reproduces_abtem_multislice_patterns():
    """abTEM's own slices of MoS2 (sliced as data.py slices them) through our multislice model: abTEM's patterns
    to 1e-5 of the brightest pixel, where the single-slice model of the same specimen is far off."""
    from abtem.antialias import AntialiasAperture

    atoms = specimen(BenchmarkSettings(cells=(2, 1), vacancies=0))
    planes = np.unique(np.round(atoms.positions[:, 2], 3))
    edges = np.concatenate([[0.0], planes - 0.01, [atoms.cell[2, 2]]])  # as data.simulate_case
    potential = abtem.Potential(atoms, gpts=(48, 48), slice_thickness=tuple(np.diff(edges)), projection="infinite",
                                parametrization="lobato")
    probe = abtem.Probe(energy=80e3, semiangle_cutoff=25, defocus=40)
    probe.grid.match(potential)
    positions = np.array([[1.23, 2.71], [3.05, 4.40], [5.9, 0.37]])
    with abtem.config.set({"diagnostics.progress_bar": False, "device": "cpu"}):
        theirs = np.asarray(probe.scan(potential, scan=abtem.CustomScan(positions),
                                       detectors=abtem.PixelatedDetector(max_angle=None))
                            .compute(scheduler="synchronous").array)
        centre = np.array([[24 * potential.sampling[0], 24 * potential.sampling[1]]])
        wave = np.asarray(probe.build(scan=abtem.CustomScan(centre)).compute().array)[0]
        slices = np.asarray(AntialiasAperture().bandlimit(potential.build().transmission_function(80e3)).array)
    wave = wave / np.linalg.norm(wave)
    assert len(slices) == 4
    ours = multislice_intensities(slices, wave, positions, potential.sampling, thickness=np.diff(edges)[:-1],
                                  energy_kev=80)
    assert np.abs(ours - theirs).max() <= 1e-5 * theirs.max()
    single = intensities(np.prod(slices, axis=0), wave, positions, potential.sampling)
    assert np.abs(single - theirs).max() > 100 * np.abs(ours - theirs).max()  # the test can tell them apart


def test_one_slice_is_the_single_slice_model_and_empty_slices_change_nothing():
    obj = _random_object((40, 40), 1)
    probe = probe_wave((16, 16), (0.2, 0.2), 80, 25, defocus=20)
    positions = np.array([[2.0, 3.1], [4.33, 4.0]])
    single = intensities(obj, probe, positions, (0.2, 0.2))
    assert np.array_equal(multislice_intensities(obj[None], probe, positions, (0.2, 0.2), thickness=1.0,
                                                 energy_kev=80), single)
    # a vacuum slice after the object only propagates the exit wave: the intensities stay
    stack = np.stack([obj, np.ones_like(obj)])
    vacuum = multislice_intensities(stack, probe, positions, (0.2, 0.2), thickness=2.0, energy_kev=80)
    assert np.allclose(vacuum, single, atol=1e-12 * single.max())
    # two slices 0 Angstrom apart are their product (objects of low frequencies on the window's own periodic grid,
    # so that the band limit between the slices takes nothing)
    rng = np.random.default_rng(3)
    kx, ky = np.meshgrid(np.fft.fftfreq(16), np.fft.fftfreq(16), indexing="ij")
    smooth = [1 + 0.3 * np.fft.ifft2(np.fft.fft2(rng.normal(0, 1, (16, 16)) + 1j * rng.normal(0, 1, (16, 16)))
                                     * (np.hypot(kx, ky) < 0.1)) for _ in range(2)]
    touching = multislice_intensities(np.stack(smooth), probe, positions, (0.2, 0.2), thickness=0.0, energy_kev=80)
    product = intensities(smooth[0] * smooth[1], probe, positions, (0.2, 0.2))
    assert np.allclose(touching, product, rtol=0, atol=1e-12 * product.max())
    other = _random_object((40, 40), 2)
    touching = multislice_intensities(np.stack([obj, other]), probe, positions, (0.2, 0.2), thickness=0.0,
                                      energy_kev=80)
    apart = multislice_intensities(np.stack([obj, other]), probe, positions, (0.2, 0.2), thickness=5.0, energy_kev=80)
    assert np.abs(apart - touching).max() > 0.01 * touching.max()  # 5 Angstrom of propagation shows


def test_slices_settings_refuse_bad_values():
    for kwargs, message in (({"count": 0}, "count = 0"), ({"count": 2.5}, "count = 2.5"),
                            ({"thickness": -1.0}, "thickness = -1.0"), ({"thickness": math.nan}, "thickness = nan")):
        with pytest.raises(ValueError, match=message):
            Slices(**kwargs)
    with pytest.raises(ValueError, match="slices = 3 must be a Slices"):
        EngineSettings(slices=3)
    with pytest.raises(TypeError):
        EngineSettings(64, 1.0, 1.0, 0.1, 5, 1.0, 0.1, 1.0, 0, 0.0, Slices(2, 1.0))  # keyword only
    with pytest.raises(ValueError, match="slices need the beam energy"):
        multislice_intensities(np.ones((2, 16, 16)), np.ones((8, 8)), np.zeros((1, 2)), (0.2, 0.2), thickness=1.0,
                               energy_kev=None)


def _scan(stack, thickness, seed=0):
    """A 5 x 5 scan of a random object stack by our own multislice model, with jittered positions."""
    rng = np.random.default_rng(seed)
    sampling = (0.2, 0.2)
    probe = probe_wave((16, 16), sampling, 80, 25, defocus=20)
    nominal = nominal_grid(BenchmarkSettings(scan_shape=(5, 5), step=0.5, cells=(3, 2))) - 1.2
    truth = nominal + rng.normal(0, 0.05, nominal.shape)
    patterns = multislice_intensities(stack, probe, truth, sampling, thickness=thickness, energy_kev=80)
    return patterns, nominal, truth, probe, sampling


def test_one_slice_engine_is_todays_engine():
    """The engine with ``Slices(1)`` reproduces the single-slice engine's numbers (pinned before multislice)."""
    rng = np.random.default_rng(0)  # the object and positions of test_ptycho's _synthetic(0)
    phase = np.fft.ifft2(np.fft.fft2(rng.normal(0, 1, (48, 48))) * (np.hypot(*np.meshgrid(
        np.fft.fftfreq(48), np.fft.fftfreq(48))) < 0.15)).real
    sampling, probe = (0.2, 0.2), probe_wave((16, 16), (0.2, 0.2), 80, 25, defocus=20)
    nominal = nominal_grid(BenchmarkSettings(scan_shape=(5, 5), step=0.5, cells=(3, 2))) - 1.2
    truth = nominal + rng.normal(0, 0.05, nominal.shape)
    patterns = multislice_intensities(np.exp(1j * 0.5 * phase / phase.std())[None], probe, truth, sampling,
                                      thickness=0.0, energy_kev=80)
    rule = lambda it, p: constrain((Free(),), nominal, p, (5, 5))
    state = reconstruct(patterns, nominal, probe, sampling, 6, rule=rule,
                        settings=EngineSettings(batch_size=5, probe_from=2, slices=Slices(1, 2.0)))
    assert state.obj.ndim == 2
    assert [h["data_error"] for h in state.history][:3] == pytest.approx([0.0812985, 0.0126113, 0.0060983], rel=1e-4)
    assert state.positions[:2] == pytest.approx(np.array([[2.50109045, 3.31958375], [2.96402085, 3.25548867]]),
                                                abs=1e-5)


def test_multislice_engine_fits_multislice_data_and_finds_positions():
    """Two slices 10 Angstrom apart: the two-slice engine fits the data several times better than the one-slice
    engine, and its position steps (the forward-mode derivative through the slices) move the positions toward the
    truth, where the one-slice engine's end further away."""
    stack = np.stack([_random_object((48, 48), 3, 0.4), _random_object((48, 48), 4, 0.4)])
    patterns, nominal, truth, probe, sampling = _scan(stack, 10.0)
    engine = EngineSettings(batch_size=5, probe_from=100)
    fixed = {n: reconstruct(patterns, truth, probe, sampling, 30, settings=replace(engine, slices=Slices(n, 10.0)),
                            energy_kev=80) for n in (1, 2)}
    errors = {n: s.history[-1]["data_error"] for n, s in fixed.items()}
    assert errors[2] < 0.3 * errors[1], errors
    assert fixed[2].obj.shape[0] == 2 and object_phase(fixed[2]).shape == fixed[2].obj.shape[1:]
    rule = lambda it, p: constrain((Free(),), nominal, p, (5, 5)) if it >= 3 else nominal
    moved = {n: position_rmse(reconstruct(patterns, nominal, probe, sampling, 30, rule=rule,
                                          settings=replace(engine, slices=Slices(n, 10.0)), energy_kev=80).positions,
                              truth) for n in (1, 2)}
    assert moved[2] < 0.8 * position_rmse(nominal, truth) and moved[2] < 0.7 * moved[1], moved


def test_every_method_runs_multislice_through_its_settings():
    stack = np.stack([_random_object((48, 48), 5, 0.3), _random_object((48, 48), 6, 0.3)])
    patterns, nominal, truth, probe, sampling = _scan(stack, 3.0)
    data = PtychoData(patterns.astype(np.float32), nominal, truth, (5, 5), sampling, probe, None, "synthetic",
                      math.inf, 0.6666666, energy_kev=80.0)
    settings = ICGDSettings(iterations=3, position_from=1, line_from=1, lowpass_from=2, free_from=2,
                            engine=replace(ICGD_ENGINE, batch_size=5, probe_from=100)).with_slices(Slices(2, 3.0))
    for method in ("free", "affine", "affine+line", "icgd", "oracle"):
        result = run_method(data, method, settings=settings)
        assert result.state.obj.shape[0] == 2 and math.isfinite(result.data_error), method
    with pytest.raises(ValueError, match="energy_kev = None: 2 slices need the beam energy"):
        run_method(replace(data, energy_kev=None), "affine", settings=settings)
