"""Shot and read noise at the speed the paper's ~55 M patches need (paper §4, Fig. S8).

``numpy.random.Generator.poisson`` costs about 56 ns a pixel here, which alone made the
paper's scale a two-hour feature run. :func:`detector_noise` takes one 64-bit random
word per pixel (``random_raw`` of numpy's SFC64 generator, seeded by one word of the
caller's generator: 2.5 times as fast as its PCG64 here) and, in one compiled pass
(numba), turns intensities into electron counts, draws their shot noise, and adds a
read noise of standard deviation ``read_sigma``:

* where the expected count ``rate`` is below ``exact_below``, the count is drawn
  **exactly**, in a few steps whatever the rate: ``rate = rate0 + rest``, with ``rate0``
  on a grid of step 1/8 electron and ``0 <= rest < 1/8``, and a Poisson count is the sum
  of independent Poisson counts of ``rate0`` and of ``rest``. The word's top 48 bits are a
  uniform number ``u``; the count of ``rate0`` is the inverse of its cumulative distribution
  at ``u``, read from a precomputed table through a guide table (Chen and Asau 1974: about
  one comparison); where ``u`` fell within that count's step of the distribution, rescaled
  to [0, 1), is a second uniform number independent of the first count (exact up to the 48
  bits of ``u``), and it is inverted through the distribution of ``rest``, which is 0 with
  probability ``exp(-rest) > 0.88``;
* where it is ``exact_below`` or more, the count is ``rate + sqrt(rate) z``, where ``z``
  is one of the 65,536 equal-probability quantiles of the standard normal law (indexed
  by bits 16-31, rescaled to variance 1). This has the Poisson's mean and variance
  exactly; its skewness (``1 / sqrt(rate)``, at most 0.18 at the default 30) is not kept,
  and ``|z|`` stops at 4.3;
* the read noise is ``read_sigma z'`` with ``z'`` the quantile indexed by bits 0-15,
  independent of the bits the count used.

(Before 2026-12-04 the exact branch summed the distribution from 0 at each pixel's own
rate, ``rate + 1`` steps on average and 25-55 ns a pixel; the counts have the same law, and
other bytes.) ``tests/test_noise.py`` checks the counts against ``scipy.stats.poisson``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit
from scipy import stats
from scipy.special import ndtri

#: Default expected count (electrons a pixel) below which counts are drawn exactly.
EXACT_BELOW = 30.0
#: The largest ``exact_below`` allowed (electrons): its tables take about 2 MB.
EXACT_BELOW_MAX = 100.0
#: Grid step of the tabulated rates, electrons (a power of 2: the grid is exact in binary).
_STEP = 0.125
_GUIDE = 128
_LEVELS = 65536


def _normal_quantiles(levels: int = _LEVELS) -> np.ndarray:
    """Equal-probability quantiles of the standard normal law, rescaled to mean 0 and variance 1 exactly."""
    z = ndtri((np.arange(levels) + 0.5) / levels)
    return (z / np.sqrt(np.mean(z**2))).astype(np.float32)


_QUANTILES = _normal_quantiles()


@lru_cache(maxsize=4)
def _poisson_tables(exact_below: float) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative distributions of Poisson counts at the rates ``0, 1/8, 2/8, ...`` below ``exact_below``, and their
    guide tables.

    Returns
    -------
    cdf : numpy.ndarray, float64, (rates, K)
        ``cdf[g, k] = P(count <= k)`` at rate ``g / 8``; the last column is 1 (the mass beyond it is below 2^-53).
    guide : numpy.ndarray, int32, (rates, 128)
        ``guide[g, j]`` is the smallest ``k`` with ``cdf[g, k] > j / 128``.
    """
    rates = np.arange(int(np.ceil(exact_below / _STEP)) + 1) * _STEP
    width = int(np.ceil(rates[-1] + 14 * np.sqrt(rates[-1]) + 40))
    cdf = stats.poisson.cdf(np.arange(width)[None], rates[:, None])
    cdf[:, -1] = 1.0
    guide = np.stack([np.searchsorted(row, np.arange(_GUIDE) / _GUIDE, side="right") for row in cdf])
    return cdf, guide.astype(np.int32)


@njit(cache=True)
def _draw(intensity, electrons, read_sigma, words, quantiles, cdf, guide, exact_below, out):  # pragma: no cover
    """Noisy intensities from one random word per pixel; row r has ``electrons[r]`` a unit and read noise ``read_sigma[r]``."""
    for r in range(intensity.shape[0]):
        scale = electrons[r]
        per_electron = 1.0 / scale
        for i in range(intensity.shape[1]):
            rate = max(intensity[r, i] * scale, 0.0)
            word = words[r, i]
            if rate < exact_below:
                uniform = (word >> np.uint64(16)) * (1.0 / 281474976710656.0)
                g = int(rate * 8.0)
                k = guide[g, int(uniform * 128.0)]
                while uniform >= cdf[g, k]:
                    k += 1
                lower = cdf[g, k - 1] if k > 0 else 0.0
                step = cdf[g, k] - lower
                rest = rate - g * 0.125
                if uniform - lower >= (1.0 - rest) * step:  # else the rest's count is 0 (exp(-rest) >= 1 - rest)
                    rest_uniform = (uniform - lower) / step
                    term = np.exp(-rest)
                    total = term
                    extra = 0
                    while rest_uniform >= total and extra < 20:
                        extra += 1
                        term *= rest / extra
                        total += term
                    k += extra
                count = float(k)
            else:
                count = rate + np.sqrt(rate) * quantiles[(word >> np.uint64(16)) & np.uint64(0xFFFF)]
            out[r, i] = count * per_electron + read_sigma[r] * quantiles[word & np.uint64(0xFFFF)]


def detector_noise(intensity: np.ndarray, electrons: np.ndarray, rng: np.random.Generator,
                   read_sigma: np.ndarray | float = 0.0, exact_below: float = EXACT_BELOW) -> np.ndarray:
    """Shot noise of ``intensity x electrons`` expected electrons a pixel, plus Gaussian read noise, float32.

    Parameters
    ----------
    intensity : numpy.ndarray, (R, ...)
        Clean intensities (negative values count as 0).
    electrons : numpy.ndarray, (R,)
        Electrons a pixel per unit of intensity (dose x pixel area), > 0, one per leading index.
    rng : numpy.random.Generator
        One 64-bit word of it seeds the pixels' generator (the same state gives the same noise).
    read_sigma : float or numpy.ndarray, (R,)
        Read-noise standard deviation, in units of intensity.
    exact_below : float
        Expected electrons below which counts are drawn exactly, from it on from the normal
        law with the Poisson's mean and variance; at most :data:`EXACT_BELOW_MAX`.

    Returns
    -------
    numpy.ndarray, float32, the shape of ``intensity``
        ``counts / electrons + read noise``.
    """
    if not 0 <= exact_below <= EXACT_BELOW_MAX:
        raise ValueError(f"exact_below must lie in [0, {EXACT_BELOW_MAX:g}] electrons, got {exact_below}")
    intensity = np.ascontiguousarray(intensity, dtype=np.float32)
    rows = intensity.reshape(intensity.shape[0] if intensity.ndim else 1, -1)
    electrons = np.broadcast_to(np.asarray(electrons, dtype=np.float64), rows.shape[:1]).copy()
    sigma = np.broadcast_to(np.asarray(read_sigma, dtype=np.float64), rows.shape[:1]).copy()
    if not np.all(np.isfinite(electrons) & (electrons > 0)):
        raise ValueError(f"electrons per unit intensity must be finite and > 0, got {electrons}")
    if not np.all(np.isfinite(sigma) & (sigma >= 0)):
        raise ValueError(f"read_sigma must be finite and >= 0, got {read_sigma}")
    out = np.empty(rows.shape, np.float32)
    words = np.random.SFC64(rng.bit_generator.random_raw()).random_raw(rows.size).reshape(rows.shape)
    _draw(rows, electrons, sigma, words, _QUANTILES, *_poisson_tables(float(exact_below)), float(exact_below), out)
    return out.reshape(intensity.shape)
