"""Augmentation: noise statistics, probe-scaled blur, row distortion, parameter checks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from ctxlib.base.settings import Range
from ctxlib.simulation.augmentation import (
    AugmentationSettings,
    Degradation,
    degrade,
    draw_degradations,
    one_at_a_time,
    probe_fwhm,
)
from ctxlib.simulation.noise import detector_noise

OFF = dict(blur=0.0, tail=0.0, tail_width=1.0, afterglow=0.0, background=0.0, jitter=0.0, dose=1e5, read_noise=0.0)


def _shift_rows(rows, shifts, columns=None):
    """Rows read at x - shift by the noise pass, at 1e15 electrons a unit (noise below 2e-7 of a unit)."""
    rows = np.asarray(rows, np.float32)
    return detector_noise(rows, np.full(len(rows), 1e15), np.random.default_rng(0), row_shifts=shifts, columns=columns)


def test_probe_fwhm_scales_with_wavelength():
    # Airy FWHM 0.51 lambda / alpha: 0.69 A at 80 keV, 31 mrad
    assert probe_fwhm(80) == pytest.approx(0.51 * 0.041757 / 0.031, rel=1e-4)
    assert probe_fwhm(60) > probe_fwhm(80) > probe_fwhm(100)


def test_poisson_noise_keeps_relative_intensities_and_has_shot_noise_variance():
    """Two flat 'motifs' at 1 and 3 units: their ratio survives, and variance = mean / (dose x pixel area)."""
    clean = np.stack([np.full((64, 64), 0.002), np.full((64, 64), 0.006)])
    pixel, dose = (0.25, 0.3), 2e5
    electrons = dose * pixel[0] * pixel[1]  # 15,000 a unit: 30 and 90 expected electrons
    for exact_below in (100.0, 30.0):  # every count exact; both drawn from the normal law with Poisson moments
        noisy = degrade(clean, pixel, 80, 0.004, Degradation(**{**OFF, "dose": dose}), np.random.default_rng(1),
                        exact_below=exact_below)
        assert noisy[1].mean() / noisy[0].mean() == pytest.approx(3.0, rel=0.02)
        assert noisy[0].var() == pytest.approx(0.002 / electrons, rel=0.1)
        counts = noisy * electrons
        assert np.allclose(counts, np.round(counts), atol=1e-3) == (exact_below == 100.0)  # whole electrons


def test_blur_width_follows_the_probe():
    """A delta image blurred by k x FWHM has second moment (k FWHM / pixel)^2 per axis."""
    image = np.zeros((1, 81, 81))
    image[0, 40, 40] = 1.0
    pixel = (0.1, 0.1)
    params = Degradation(**{**OFF, "blur": 0.5, "dose": 1e14})
    out = degrade(image, pixel, 60, 1.0, params, np.random.default_rng(0))[0]
    y = np.arange(81) - 40
    variance = (out.sum(axis=1) * y**2).sum() / out.sum()
    assert np.sqrt(variance) * pixel[0] == pytest.approx(0.5 * probe_fwhm(60), rel=0.02)


@settings(deadline=None)  # the first call loads the compiled kernel
@given(st.floats(-3, 3), st.integers(5, 20))
def test_row_shift_of_a_linear_ramp_is_exact_away_from_the_edges(shift, nx):
    ramp = np.tile(np.arange(nx, dtype=float), (3, 1))
    out = _shift_rows(ramp, np.full(3, shift))
    inside = (np.arange(nx) - shift >= 0) & (np.arange(nx) - shift <= nx - 1)
    assert np.allclose(out[:, inside], (np.arange(nx) - shift)[inside], atol=1e-5)  # float32


@settings(deadline=None)
@given(st.integers(2, 30), st.floats(-40, 40, width=32), st.integers(0, 10_000), st.data())
def test_row_shift_is_numpys_interpolation_with_edge_values(nx, shift, seed, data):
    rows = np.random.default_rng(seed).random((4, nx)).astype(np.float32)
    shifts = np.array([shift, np.round(shift), -shift, 0.0], np.float32)
    start = data.draw(st.integers(0, nx - 1))
    stop = data.draw(st.integers(start + 1, nx))
    out = _shift_rows(rows, shifts, slice(start, stop))
    assert out.shape == (4, stop - start)
    for row, s, got in zip(rows, shifts, out):
        expected = np.interp(np.arange(start, stop) - np.float64(s), np.arange(nx), row.astype(np.float64))
        assert np.allclose(got, expected, rtol=0, atol=1e-6)


def test_a_window_is_the_same_pixels_as_the_whole_image():
    """Blur and row shift of a cropped window equal the whole image's, cropped (same draws without jitter)."""
    rng = np.random.default_rng(0)
    clean = rng.random((3, 35, 35)) * 0.01
    params = [Degradation(**{**OFF, "blur": 0.4, "dose": 1e10})] * 2
    window = (slice(6, 29), slice(7, 28))
    whole = degrade(clean, (0.26, 0.27), 80, 0.004, params, np.random.default_rng(1), exact_below=0)
    part = degrade(clean, (0.26, 0.27), 80, 0.004, params, np.random.default_rng(1), window=window, exact_below=0)
    assert part.shape == (2, 3, 23, 21)
    clean_blur = ndimage.gaussian_filter(clean, (0, 0.4 * probe_fwhm(80) / 0.26, 0.4 * probe_fwhm(80) / 0.27), mode="nearest")
    assert np.allclose(part, clean_blur[:, window[0], window[1]], rtol=4e-3, atol=1e-6)  # 1e10 e/A^2: noise below 1e-3
    assert np.allclose(whole[..., window[0], window[1]], clean_blur[:, window[0], window[1]], rtol=4e-3, atol=1e-6)


def test_zero_shift_is_no_shift():
    image = np.random.default_rng(0).random((4, 7, 9)).astype(np.float32)
    electrons = np.array([10.0, 100.0, 1e3, 1e4])
    plain = detector_noise(image, electrons, np.random.default_rng(2), read_sigma=0.01)
    assert np.array_equal(detector_noise(image, electrons, np.random.default_rng(2), read_sigma=0.01,
                                         row_shifts=np.zeros((4, 7))),
                          plain)
    assert not np.array_equal(detector_noise(image, electrons, np.random.default_rng(2), read_sigma=0.01,
                                             row_shifts=0.5), plain)


def test_draws_stay_in_range_and_are_seeded():
    a = draw_degradations(np.random.default_rng(3), 200)
    b = draw_degradations(np.random.default_rng(3), 200)
    assert a == b
    for name, r in AugmentationSettings().ranges().items():
        values = [getattr(d, name) for d in a]
        assert r.low <= min(values) and max(values) <= r.high


def test_settings_refuse_ranges_outside_their_bounds_and_drive_the_draws():
    with pytest.raises(ValueError, match=r"jitter range \[0, 2\] lies outside the allowed \[0, 1\]"):
        AugmentationSettings(jitter=Range(0.0, 2.0))
    with pytest.raises(ValueError, match="low <= high"):
        Range(0.5, 0.2)
    with pytest.raises(ValueError, match="log range needs low > 0"):
        Range(0.0, 1.0, "log")
    narrow = AugmentationSettings(blur=Range(0.3, 0.3), dose=Range(1e4, 1e4, "log"))
    draws = draw_degradations(np.random.default_rng(0), 20, settings=narrow)
    assert {d.blur for d in draws} == {0.3} and np.allclose([d.dose for d in draws], 1e4)


def test_bad_parameters_and_images():
    with pytest.raises(ValueError, match="dose must be > 0"):
        Degradation(**{**OFF, "dose": 0.0})
    with pytest.raises(ValueError, match="blur must be a finite number >= 0, got nan"):
        Degradation(**{**OFF, "blur": float("nan")})
    with pytest.raises(ValueError, match="NaN"):
        degrade(np.full((1, 4, 4), np.nan), (0.2, 0.2), 80, 1.0, Degradation(**OFF), np.random.default_rng(0))


def _delta(n=81):
    image = np.zeros((1, n, n))
    image[0, n // 2, n // 2] = 1.0
    return image


def _second_moment(out, axis, pixel):
    profile = out.sum(axis=axis)
    offsets = np.arange(len(profile)) - (len(profile) - 1) / 2
    return (profile * offsets**2).sum() / profile.sum() * pixel**2


def test_the_probe_halo_keeps_the_intensity_and_adds_its_own_width():
    """Core sigma s and a halo of share t and sigma w: variance (1 - t) s^2 + t w^2 (Angstrom^2), sum unchanged."""
    pixel, share, width = 0.1, 0.25, 0.8
    params = Degradation(**{**OFF, "blur": 0.3, "tail": share, "tail_width": width, "dose": 1e14})
    out = degrade(_delta(), (pixel, pixel), 80, 1.0, params, np.random.default_rng(0))[0]
    core = 0.3 * probe_fwhm(80)
    assert out.sum() == pytest.approx(1.0, rel=1e-4)
    for axis in (0, 1):
        assert _second_moment(out, axis, pixel) == pytest.approx((1 - share) * core**2 + share * width**2, rel=0.02)
    halo_only = degrade(_delta(), (pixel, pixel), 80, 1.0, Degradation(**{**OFF, "tail": share, "tail_width": width,
                                                                              "dose": 1e14}), np.random.default_rng(0))[0]
    assert halo_only.max() == pytest.approx(1 - share, abs=1e-3)  # the core stays a delta: the halo moved only t


def test_afterglow_trails_along_the_fast_scan_only():
    """An exponential of decay length L pixels moves the centroid by q / (1 - q), q = exp(-1/L), along +x only."""
    pixel, length = 0.1, 0.15
    params = Degradation(**{**OFF, "afterglow": length, "dose": 1e14})
    out = degrade(_delta(), (pixel, pixel), 80, 1.0, params, np.random.default_rng(0))[0]
    q = np.exp(-pixel / length)
    x = np.arange(81) - 40
    assert (out.sum(axis=0) * x).sum() == pytest.approx(q / (1 - q), rel=1e-3)
    assert np.allclose(out.sum(axis=1), _delta()[0].sum(axis=1), atol=1e-6)  # rows keep their sums
    assert out[:, :40].max() == 0  # nothing before the probe arrives


def test_astigmatism_stretches_the_core_along_y_and_shrinks_it_along_x():
    """Core sigma s and astigmatism A: variances s^2 (1 + A) along y and s^2 / (1 + A) along x; sum unchanged."""
    pixel, blur, astigmatism = 0.1, 0.3, 0.8
    params = Degradation(**{**OFF, "blur": blur, "astigmatism": astigmatism, "dose": 1e14})
    out = degrade(_delta(), (pixel, pixel), 80, 1.0, params, np.random.default_rng(0))[0]
    core = blur * probe_fwhm(80)
    assert out.sum() == pytest.approx(1.0, rel=1e-4)
    assert _second_moment(out, 1, pixel) == pytest.approx(core**2 * (1 + astigmatism), rel=0.02)  # along y
    assert _second_moment(out, 0, pixel) == pytest.approx(core**2 / (1 + astigmatism), rel=0.02)  # along x


def test_recorded_image_gets_row_offsets_pink_noise_and_rounding():
    flat = np.full((40, 50, 60), 0.5)
    lined = degrade(flat, (0.1, 0.1), 80, 2.0, Degradation(**{**OFF, "line_offset": 0.02, "dose": 1e14}),
                    np.random.default_rng(0)) - 0.5
    assert lined.mean(axis=2).std() == pytest.approx(0.02 * 2.0, rel=0.05)  # one offset a scan row ...
    assert np.abs(lined - lined.mean(axis=2, keepdims=True)).max() < 1e-5  # ... the same along it
    pink = degrade(flat, (0.1, 0.1), 80, 2.0, Degradation(**{**OFF, "pink_noise": 0.03, "dose": 1e14}),
                   np.random.default_rng(0)) - 0.5
    assert pink.std() == pytest.approx(0.03 * 2.0, rel=0.05)
    step = 0.01 * 2.0
    rounded = degrade(flat + np.linspace(0, 0.1, 60), (0.1, 0.1), 80, 2.0,
                      Degradation(**{**OFF, "quantisation": 0.01, "dose": 1e14}), np.random.default_rng(0))
    assert np.allclose(rounded / step, np.round(rounded / step), atol=1e-3) and len(np.unique(rounded)) <= 7


def test_background_is_one_offset_and_a_small_ramp_per_image():
    clean = np.full((200, 20, 30), 0.5)
    params = Degradation(**{**OFF, "background": 0.4, "dose": 1e14})
    out = degrade(clean, (0.1, 0.1), 80, 2.0, params, np.random.default_rng(0)) - 0.5
    offsets = out.mean(axis=(1, 2))  # the ramp averages out over its window
    assert offsets.min() >= 0 and offsets.max() <= 0.8  # background x reference mean
    assert offsets.mean() == pytest.approx(0.4, abs=0.04)  # uniform in [0, 0.8]
    assert np.ptp(out, axis=(1, 2)).max() <= 0.1 * 0.8 * np.sqrt(2) + 1e-3  # the ramp: a tenth of the scale
    assert len(np.unique(offsets.round(6))) == len(offsets)


def test_each_degradation_alone_for_the_book():
    cases = one_at_a_time()
    ranges = AugmentationSettings().ranges()
    assert cases["clean"].blur == 0 and cases["clean"].tail == 0 and cases["clean"].dose == 1e12
    assert not any(name.startswith("background") for name in cases)  # off by default: not shown
    assert cases[f"tail = {ranges['tail'].high:g}"].tail_width == ranges["tail_width"].high
    assert {f"dose = {ranges['dose'].low:g} e/A^2", f"dose = {ranges['dose'].high:g} e/A^2"} <= set(cases)
    assert not any(name.startswith("tail_width") for name in cases)


def test_parameters_added_later_and_left_off_change_no_draw():
    """Settings that leave the later parameters at one value draw what they drew before those existed."""
    from ctxlib.simulation.augmentation import ADDED_LATER

    first, second = np.random.default_rng(5), np.random.default_rng(5)
    draws = draw_degradations(first, 30)
    for name, r in AugmentationSettings().ranges().items():  # the draws as made before the later parameters
        if name in ADDED_LATER:
            continue
        expected = np.exp(second.uniform(np.log(r.low), np.log(r.high), 30)) if r.scale == "log" else \
            second.uniform(r.low, r.high, 30)
        assert np.array_equal([getattr(d, name) for d in draws], expected), name
    assert first.random() == second.random()  # the same state after: the noise that follows is the same
    on = draw_degradations(np.random.default_rng(5), 30, settings=AugmentationSettings(astigmatism=Range(0.0, 1.0)))
    assert len({d.astigmatism for d in on}) == 30 and {d.line_offset for d in on} == {0.0}
