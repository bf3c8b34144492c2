"""Shot and read noise at the speed the paper's ~55 M patches need (paper §4, Fig. S8).

``numpy.random.Generator.poisson`` costs about 56 ns a pixel here, which alone made the
paper's scale a two-hour feature run. :func:`detector_noise` takes one 64-bit random
word per pixel from the generator (``bit_generator.random_raw``) and, in one compiled
pass (numba), turns intensities into electron counts, draws their shot noise, and adds
a read noise of standard deviation ``read_sigma``:

* where the expected count is below ``exact_below``, the count is drawn **exactly**:
  the word's top 48 bits are a uniform number, inverted through the Poisson cumulative
  distribution (about ``mean + 1`` steps);
* where it is ``exact_below`` or more, the count is ``mean + sqrt(mean) z``, where ``z``
  is one of the 65,536 equal-probability quantiles of the standard normal law (indexed
  by bits 16-31, rescaled to variance 1). This has the Poisson's mean and variance
  exactly; its skewness (``1 / sqrt(mean)``, at most 0.18 at the default 30) is not kept,
  and ``|z|`` stops at 4.3;
* the read noise is ``read_sigma z'`` with ``z'`` the quantile indexed by bits 0-15,
  independent of the bits the count used.

``tests/test_noise.py`` checks the counts against ``scipy.stats.poisson``.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy.special import ndtri

#: Default expected count (electrons a pixel) below which counts are drawn exactly.
EXACT_BELOW = 30.0
_LEVELS = 65536


def _normal_quantiles(levels: int = _LEVELS) -> np.ndarray:
    """Equal-probability quantiles of the standard normal law, rescaled to mean 0 and variance 1 exactly."""
    z = ndtri((np.arange(levels) + 0.5) / levels)
    return (z / np.sqrt(np.mean(z**2))).astype(np.float32)


_QUANTILES = _normal_quantiles()
_RECIPROCALS = 1.0 / np.maximum(np.arange(1024), 1.0)


@njit(cache=True)
def _draw(intensity, electrons, read_sigma, words, quantiles, reciprocals, exact_below, out):  # pragma: no cover
    """Noisy intensities from one random word per pixel; row r has ``electrons[r]`` a unit and read noise ``read_sigma[r]``."""
    limit = reciprocals.size - 1
    for r in range(intensity.shape[0]):
        scale = electrons[r]
        for i in range(intensity.shape[1]):
            rate = max(intensity[r, i] * scale, 0.0)
            word = words[r, i]
            if rate < exact_below:
                uniform = (word >> np.uint64(16)) * (1.0 / 281474976710656.0)
                term = np.exp(-rate)
                total = term
                k = 0
                while uniform > total and k < limit:
                    k += 1
                    term *= rate * reciprocals[k]
                    total += term
                count = float(k)
            else:
                count = rate + np.sqrt(rate) * quantiles[(word >> np.uint64(16)) & np.uint64(0xFFFF)]
            out[r, i] = count / scale + read_sigma[r] * quantiles[word & np.uint64(0xFFFF)]


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
        Gives one 64-bit word per pixel (the same generator state gives the same noise).
    read_sigma : float or numpy.ndarray, (R,)
        Read-noise standard deviation, in units of intensity.
    exact_below : float
        Expected electrons below which counts are drawn exactly, from it on from the normal
        law with the Poisson's mean and variance; at most 1000 (the exact branch sums at
        most 1023 terms of the distribution).

    Returns
    -------
    numpy.ndarray, float32, the shape of ``intensity``
        ``counts / electrons + read noise``.
    """
    if not 0 <= exact_below <= 1000:
        raise ValueError(f"exact_below must lie in [0, 1000] electrons, got {exact_below}")
    intensity = np.ascontiguousarray(intensity, dtype=np.float32)
    rows = intensity.reshape(intensity.shape[0] if intensity.ndim else 1, -1)
    electrons = np.broadcast_to(np.asarray(electrons, dtype=np.float64), rows.shape[:1]).copy()
    sigma = np.broadcast_to(np.asarray(read_sigma, dtype=np.float64), rows.shape[:1]).copy()
    if not np.all(np.isfinite(electrons) & (electrons > 0)):
        raise ValueError(f"electrons per unit intensity must be finite and > 0, got {electrons}")
    if not np.all(np.isfinite(sigma) & (sigma >= 0)):
        raise ValueError(f"read_sigma must be finite and >= 0, got {read_sigma}")
    out = np.empty(rows.shape, np.float32)
    words = rng.bit_generator.random_raw(rows.size).reshape(rows.shape)
    _draw(rows, electrons, sigma, words, _QUANTILES, _RECIPROCALS, float(exact_below), out)
    return out.reshape(intensity.shape)
