"""Shot noise: exact Poisson counts where the count is small, the Poisson's mean and variance above, at the doses of the augmentation ranges."""

import numpy as np
import pytest
from scipy import stats

from ctxlib.simulation.augmentation import AugmentationSettings
from ctxlib.simulation.noise import EXACT_BELOW, detector_noise

N = 200_000


def _counts(rate, exact_below=EXACT_BELOW, seed=0, read_sigma=0.0):
    intensity = np.full((1, N), rate, np.float32)
    return detector_noise(intensity, np.array([1.0]), np.random.default_rng(seed), read_sigma=read_sigma,
                          exact_below=exact_below)[0]


def _assert_poisson(counts, rate):
    """Chi-square of the counts against scipy's Poisson law (cells expecting fewer than 5 pooled)."""
    assert np.array_equal(counts, np.round(counts)) and counts.min() >= 0
    n = len(counts)
    k = np.arange(int(counts.max()) + 1)
    observed = np.bincount(counts.astype(int), minlength=len(k))
    expected = stats.poisson.pmf(k, rate) * n
    expected[-1] += stats.poisson.sf(k[-1], rate) * n
    keep = expected > 5  # chi-square cells; the rest pooled into one
    observed = np.append(observed[keep], observed[~keep].sum())
    expected = np.append(expected[keep], expected[~keep].sum())
    if expected[-1] < 5:
        observed, expected = observed[:-1], expected[:-1] * observed[:-1].sum() / expected[:-1].sum()
    assert stats.chisquare(observed, expected).pvalue > 1e-3


# Rates on the tables' grid of 1/8 electron, just below and above it, and between (float32-exact values).
@pytest.mark.parametrize("rate", [0.02, 0.124, 0.125, 0.7, 3.2, 7.999, 12.5, 29.9])
def test_small_counts_follow_the_poisson_distribution_exactly(rate):
    _assert_poisson(_counts(rate), float(np.float32(rate)))


def test_pixels_of_different_rates_in_one_row_each_follow_their_own_law():
    rates = np.array([0.3, 2.06, 9.51, 17.0, 28.77], np.float32)
    intensity = np.tile(rates, N // 5)[None] / 4.0
    counts = detector_noise(intensity, np.array([4.0]), np.random.default_rng(8))[0] * 4.0
    for k, rate in enumerate(rates):
        _assert_poisson(np.round(counts[k::5], 3), float(rate))


def test_a_larger_exact_range_stays_exact_and_its_alias_tables_hold_the_whole_law():
    from ctxlib.simulation.noise import _STEP, EXACT_BELOW_MAX, _poisson_tables

    _assert_poisson(_counts(77.3, exact_below=EXACT_BELOW_MAX), float(np.float32(77.3)))
    for exact_below in (EXACT_BELOW, EXACT_BELOW_MAX):
        threshold, alias = _poisson_tables(exact_below)
        buckets = threshold.shape[1]
        assert buckets & (buckets - 1) == 0 and np.all((threshold >= 0) & (threshold <= 1))
        # the law an alias table draws: bucket i keeps threshold[i] of its 1/K and gives the rest to alias[i]
        law = np.zeros_like(threshold)
        for g in range(len(threshold)):
            np.add.at(law[g], np.arange(buckets), threshold[g] / buckets)
            np.add.at(law[g], alias[g], (1 - threshold[g]) / buckets)
        rates = np.arange(len(threshold)) * _STEP
        expected = stats.poisson.pmf(np.arange(buckets)[None], rates[:, None])
        assert np.abs(law - expected).max() < 1e-14
        assert np.all(stats.poisson.sf(buckets - 1, rates) < 2.0**-53)


@pytest.mark.parametrize("rate", [30.0, 250.0, 8e3, 1.5e5])
def test_large_counts_have_the_poisson_mean_and_variance(rate):
    counts = _counts(rate).astype(np.float64)
    assert abs(counts.mean() - rate) < 5 * np.sqrt(rate / N)
    assert abs(counts.var() / rate - 1) < 5 * np.sqrt(2 / N)


def test_every_dose_of_the_augmentation_ranges_has_poisson_moments():
    """Clean HAADF and MAADF intensities (fraction of the beam) at the dose range's ends and middle."""
    dose = AugmentationSettings().dose
    area = 0.258 * 0.274
    rng = np.random.default_rng(3)
    for d in (dose.low, np.sqrt(dose.low * dose.high), dose.high):
        for intensity in (4e-4, 2e-3, 0.025, 0.05, 0.19):
            electrons = d * area
            noisy = detector_noise(np.full((1, N), intensity, np.float32), np.array([electrons]), rng)[0] * electrons
            rate = intensity * electrons
            assert abs(noisy.mean() - rate) < 5 * np.sqrt(rate / N), (d, intensity)
            assert abs(noisy.var() / rate - 1) < 5 * np.sqrt(2 / N) + 1 / (rate * N) ** 0.5, (d, intensity)


def test_read_noise_adds_its_variance_and_the_same_state_gives_the_same_noise():
    counts = _counts(50.0, read_sigma=3.0)
    assert counts.var() == pytest.approx(50 + 9, rel=0.02)
    assert np.array_equal(_counts(5.0, seed=4), _counts(5.0, seed=4))
    assert not np.array_equal(_counts(5.0, seed=4), _counts(5.0, seed=5))


def test_the_exact_branch_reaches_the_normal_branch_continuously():
    below, above = _counts(29.999).astype(np.float64), _counts(30.0).astype(np.float64)
    assert abs(below.mean() - above.mean()) < 0.05 and abs(below.var() - above.var()) < 0.6


def test_bad_input():
    with pytest.raises(ValueError, match="exact_below must lie in \\[0, 100\\] electrons, got 2000"):
        detector_noise(np.ones((1, 3)), np.ones(1), np.random.default_rng(0), exact_below=2000)
    with pytest.raises(ValueError, match="electrons per unit intensity must be finite and > 0"):
        detector_noise(np.ones((1, 3)), np.zeros(1), np.random.default_rng(0))
    with pytest.raises(ValueError, match="read_sigma must be finite and >= 0"):
        detector_noise(np.ones((1, 3)), np.ones(1), np.random.default_rng(0), read_sigma=-1.0)
    with pytest.raises(ValueError, match="row_shifts contain NaN or inf"):
        detector_noise(np.ones((1, 3)), np.ones(1), np.random.default_rng(0), row_shifts=np.array([np.nan]))
    with pytest.raises(ValueError, match="columns must be a non-empty slice of step 1 within 3 columns, got"):
        detector_noise(np.ones((1, 3)), np.ones(1), np.random.default_rng(0), columns=slice(0, 3, 2))
    with pytest.raises(ValueError, match="columns must be a non-empty slice"):
        detector_noise(np.ones((1, 3)), np.ones(1), np.random.default_rng(0), columns=slice(2, 2))


def _splitmix64(state: int) -> int:
    """Vigna's ``splitmix64.c`` ``next()``, on Python integers: the state's increment, then the output."""
    mask = 2**64 - 1
    z = (state + 0x9E3779B97F4A7C15) & mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return z ^ (z >> 31)


def test_a_pixels_words_are_splitmix64_at_its_position():
    """Above ``exact_below`` a pixel is ``rate + sqrt(rate) q[bits 16-31] + sigma q[bits 0-15]`` of its word, and
    pixel ``p``'s word is SplitMix64's output after ``p + 1`` steps from the first key (rebuilt here in plain
    Python): the noise must match to float32 rounding, whatever the row."""
    from ctxlib.simulation.noise import _QUANTILES

    rates = np.random.default_rng(3).uniform(40.0, 900.0, (3, 517))
    electrons, sigma = np.array([1.0, 2.0, 0.5]), np.array([0.0, 0.3, 1.5])
    intensity = (rates / electrons[:, None]).astype(np.float32)
    noisy = detector_noise(intensity, electrons, np.random.default_rng(11), read_sigma=sigma)
    key = int(np.random.default_rng(11).bit_generator.random_raw())
    words = np.array([_splitmix64((key + p * 0x9E3779B97F4A7C15) & (2**64 - 1)) for p in range(rates.size)],
                     np.uint64).reshape(rates.shape)
    rate = intensity.astype(np.float64) * electrons[:, None]
    shot = _QUANTILES[((words >> np.uint64(16)) & np.uint64(0xFFFF)).astype(np.int64)]
    read = _QUANTILES[(words & np.uint64(0xFFFF)).astype(np.int64)]
    expected = (rate + np.sqrt(rate) * shot) / electrons[:, None] + sigma[:, None] * read
    np.testing.assert_allclose(noisy, expected, rtol=2e-6, atol=1e-6)
    assert not np.allclose(noisy, (rate + np.sqrt(rate) * np.roll(shot, 1)) / electrons[:, None]
                           + sigma[:, None] * np.roll(read, 1), rtol=2e-6, atol=1e-6)


def test_a_pixels_noise_depends_on_its_position_not_on_the_rest_of_the_stack():
    intensity = np.random.default_rng(2).uniform(0.0, 60.0, (4, 6, 11)).astype(np.float32)
    electrons = np.array([1.0, 0.5, 2.0, 3.0])
    whole = detector_noise(intensity, electrons, np.random.default_rng(5), read_sigma=0.2)
    brighter = intensity.copy()
    brighter[[0, 3]] *= 2  # other images, before and after (other branches, exact or not)
    assert np.array_equal(detector_noise(brighter, electrons, np.random.default_rng(5), read_sigma=0.2)[1:3], whole[1:3])


def test_pixels_outside_where_cost_nothing_and_do_not_change_the_others():
    rng = np.random.default_rng(4)
    intensity = rng.uniform(0.0, 40.0, (6, 3, 5, 7)).astype(np.float32)
    electrons, sigma = rng.uniform(0.5, 2.0, 6), rng.uniform(0.0, 0.2, 6)
    where = rng.random((5, 7)) < 0.6
    kept = detector_noise(intensity, electrons, np.random.default_rng(9), read_sigma=sigma, where=where, fill=False)
    full = detector_noise(intensity, electrons, np.random.default_rng(9), read_sigma=sigma, where=where)
    assert np.array_equal(kept[..., where], full[..., where])
    assert np.all(kept[..., ~where] == 0) and np.all(full[..., ~where] != 0)
    everywhere = detector_noise(intensity, electrons, np.random.default_rng(9), read_sigma=sigma,
                                where=np.ones((5, 7), bool))
    assert np.array_equal(everywhere, detector_noise(intensity, electrons, np.random.default_rng(9), read_sigma=sigma))
    # a mask of one row applies to every row (broadcast); the filled pixels follow the same law
    counts = detector_noise(np.full((1, N // 2, 2), 6.5, np.float32), np.ones(1), np.random.default_rng(1),
                            where=np.array([[True, False]]))[0]
    _assert_poisson(counts[:, 0], 6.5)
    _assert_poisson(counts[:, 1], 6.5)


def test_where_must_fit_the_output():
    with pytest.raises(ValueError, match=r"broadcasts to the output's last two axes \(4, 3\), got bool \(3, 3\)"):
        detector_noise(np.ones((2, 4, 3)), np.ones(2), np.random.default_rng(0), where=np.ones((3, 3), bool))
    with pytest.raises(ValueError, match="where must be a boolean"):
        detector_noise(np.ones((2, 4, 3)), np.ones(2), np.random.default_rng(0), where=np.ones((4, 3)))


def test_a_transposed_stack_gives_the_noise_of_its_copy():
    base = np.random.default_rng(6).uniform(0.0, 60.0, (3, 5, 4, 9)).astype(np.float32)
    view = base.transpose(0, 2, 1, 3)  # (3, 4, 5, 9), not contiguous
    shifts = np.random.default_rng(7).normal(0, 1.5, view.shape[:-1])
    args = dict(read_sigma=np.array([0.1, 0.0, 2.0]), row_shifts=shifts, columns=slice(2, 8),
                where=np.random.default_rng(8).random((5, 6)) < 0.7, fill=False)
    electrons = np.array([1.0, 3.0, 0.2])
    assert np.array_equal(detector_noise(view, electrons, np.random.default_rng(1), **args),
                          detector_noise(np.ascontiguousarray(view), electrons, np.random.default_rng(1), **args))
