"""Shot and read noise at the speed the paper's ~55 M patches need (paper §4, Fig. S8).

``numpy.random.Generator.poisson`` costs about 56 ns a pixel here, which alone made the
paper's scale a two-hour feature run. :func:`detector_noise` takes one 64-bit random
word per pixel from an SFC64 generator seeded by one word of the caller's generator, and,
in one compiled pass (numba), turns intensities into electron counts, draws their shot
noise, and adds a read noise of standard deviation ``read_sigma``. The words are those of
numpy's ``SFC64(seed).random_raw()``, in the pixels' order, but made inside the pass from
the generator's four-word state (no array of words is written and read back):

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
    cdf : numpy.ndarray, float64, (rates, K + 1)
        ``cdf[g, k + 1] = P(count <= k)`` at rate ``g / 8``, and ``cdf[g, 0] = 0`` (so a count's
        step of the distribution is ``cdf[g, k]`` to ``cdf[g, k + 1]``, without a branch at 0);
        the last column is 1 (the mass beyond it is below 2^-53).
    guide : numpy.ndarray, int32, (rates, 128)
        ``guide[g, j]`` is the smallest ``k`` with ``cdf[g, k + 1] > j / 128``.
    """
    rates = np.arange(int(np.ceil(exact_below / _STEP)) + 1) * _STEP
    width = int(np.ceil(rates[-1] + 14 * np.sqrt(rates[-1]) + 40))
    cdf = stats.poisson.cdf(np.arange(width)[None], rates[:, None])
    cdf[:, -1] = 1.0
    guide = np.stack([np.searchsorted(row, np.arange(_GUIDE) / _GUIDE, side="right") for row in cdf])
    return np.concatenate([np.zeros((len(rates), 1)), cdf], axis=1), guide.astype(np.int32)


@njit(cache=True, inline="never")
def _rest_count(rest, uniform):  # pragma: no cover - compiled
    """The Poisson count of rate ``rest`` at the uniform number ``uniform`` (inverse distribution, from 0).

    Called for about one exact pixel in twenty (where the count may exceed 0); kept out of
    the pixel loop, which it would otherwise slow for every pixel.
    """
    term = np.exp(-rest)
    total = term
    extra = 0
    while uniform >= total and extra < 20:
        extra += 1
        term *= rest / extra
        total += term
    return extra


@njit(cache=True, inline="always")
def _sfc64_next(a, b, c, counter):  # pragma: no cover - compiled
    """One step of numpy's SFC64 (``sfc64_next`` of its C source): the word, then the next state."""
    word = a + b + counter
    rotated = (c << np.uint64(24)) | (c >> np.uint64(40))
    return word, b ^ (b >> np.uint64(11)), c + (c << np.uint64(3)), rotated + word, counter + np.uint64(1)


@njit(cache=True)
def _draw(intensity, shifts, start, electrons, read_sigma, where, fill, state, other_state, quantiles, cdf, guide,
          exact_below, out):  # pragma: no cover - compiled
    """Noisy intensities, one random word per pixel, row by row.

    ``intensity`` is (R, M, H, nx); row ``r`` of ``out`` is its row ``(ri, m,
    i)`` in C order, read at ``x - shifts[r]`` for ``x = start, start + 1, ...`` (linear
    interpolation, rounded to float32; beyond the row, its edge value), with
    ``electrons[ri]`` a unit and read noise ``read_sigma[ri]``. Pixel ``(r, x)`` takes its
    word from ``state`` where ``where[i, x]``, else from ``other_state`` if ``fill``, else it
    is 0. A state is the four words of numpy's SFC64 (``bit_generator.state``: a, b, c and a
    counter), advanced by :func:`_sfc64_next`.
    """
    a, b, c, counter = state[0], state[1], state[2], state[3]
    a2, b2, c2, counter2 = other_state[0], other_state[1], other_state[2], other_state[3]
    motifs, height, nx = intensity.shape[1], intensity.shape[2], intensity.shape[3]
    for r in range(out.shape[0]):
        index = r // (motifs * height)
        i = r % height
        row = intensity[index, (r // height) % motifs, i]
        scale = electrons[index]
        per_electron = 1.0 / scale
        sigma = read_sigma[index]
        offset = start - np.float64(shifts[r])
        first = int(np.floor(offset))
        weight = offset - first
        mask = where[i]
        for j in range(out.shape[1]):
            if mask[j]:
                word, a, b, c, counter = _sfc64_next(a, b, c, counter)
            elif fill:
                word, a2, b2, c2, counter2 = _sfc64_next(a2, b2, c2, counter2)
            else:
                out[r, j] = 0.0
                continue
            left = first + j
            if left < 0:
                value = row[0]
            elif left >= nx - 1:
                value = row[nx - 1]
            elif weight == 0.0:
                value = row[left]
            else:
                value = np.float32(row[left] * (1 - weight) + row[left + 1] * weight)
            rate = max(value * scale, 0.0)
            if rate < exact_below:
                uniform = np.float64(np.int64(word >> np.uint64(16))) * (1.0 / 281474976710656.0)
                g = int(rate * 8.0)
                k = guide[g, np.int64(word >> np.uint64(57))]  # the top 7 bits: int(uniform * 128)
                while uniform >= cdf[g, k + 1]:
                    k += 1
                lower = cdf[g, k]
                step = cdf[g, k + 1] - lower
                rest = rate - g * 0.125
                if uniform - lower >= (1.0 - rest) * step:  # else the rest's count is 0 (exp(-rest) >= 1 - rest)
                    k += _rest_count(rest, (uniform - lower) / step)
                count = float(k)
            else:
                count = rate + np.sqrt(rate) * quantiles[(word >> np.uint64(16)) & np.uint64(0xFFFF)]
            out[r, j] = count * per_electron + sigma * quantiles[word & np.uint64(0xFFFF)]


def detector_noise(intensity: np.ndarray, electrons: np.ndarray, rng: np.random.Generator,
                   read_sigma: np.ndarray | float = 0.0, exact_below: float = EXACT_BELOW,
                   row_shifts: np.ndarray | None = None, columns: slice | None = None,
                   where: np.ndarray | None = None, fill: bool = True) -> np.ndarray:
    """Shot noise of ``intensity x electrons`` expected electrons a pixel, plus Gaussian read noise, float32.

    With ``row_shifts``, each row (along the last axis) is first read at ``x - shift``: the
    scan distortion of a STEM image, whose rows were recorded with the probe displaced
    (linear interpolation between pixels; beyond the row, its edge value).

    Parameters
    ----------
    intensity : numpy.ndarray, (R, ..., nx)
        Clean intensities (negative values count as 0).
    electrons : numpy.ndarray, (R,)
        Electrons a pixel per unit of intensity (dose x pixel area), > 0, one per leading index.
    rng : numpy.random.Generator
        One 64-bit word of it seeds the pixels' generator (the same state gives the same
        noise); with ``where``, a second word seeds the other pixels' generator.
    read_sigma : float or numpy.ndarray, (R,)
        Read-noise standard deviation, in units of intensity.
    exact_below : float
        Expected electrons below which counts are drawn exactly, from it on from the normal
        law with the Poisson's mean and variance; at most :data:`EXACT_BELOW_MAX`.
    row_shifts : numpy.ndarray, (R, ...), optional
        Shift of each row along x, pixels (``intensity.shape[:-1]``, or broadcast to it); default none.
    columns : slice, optional
        The output columns, of step 1 (default: all).
    where : numpy.ndarray of bool, broadcast to the output's last two axes, optional
        The pixels (of every image of the stack) whose noise a caller needs: they take
        the same words whatever ``fill`` is, so what is computed from them does not
        depend on it. Default: all.
    fill : bool
        With ``where``, draw the other pixels too (from the second generator); with
        ``False`` they are 0 and cost nothing.

    Returns
    -------
    numpy.ndarray, float32, (R, ..., columns)
        ``counts / electrons + read noise``; the shape of ``intensity`` without ``columns``.
    """
    if not 0 <= exact_below <= EXACT_BELOW_MAX:
        raise ValueError(f"exact_below must lie in [0, {EXACT_BELOW_MAX:g}] electrons, got {exact_below}")
    intensity = np.ascontiguousarray(intensity, dtype=np.float32)  # numba reads C order fastest (a copy is cheaper)
    original = intensity.shape
    if intensity.ndim < 2:
        intensity = intensity.reshape(-1, 1)
    shape = intensity.shape
    height, nx = (shape[-2] if intensity.ndim >= 3 else 1), shape[-1]
    grid = intensity.reshape(shape[0], -1, height, nx)  # (R, M, H, nx), a view
    rows = grid.shape[0] * grid.shape[1] * height
    electrons = np.broadcast_to(np.asarray(electrons, dtype=np.float64), shape[:1]).copy()
    sigma = np.broadcast_to(np.asarray(read_sigma, dtype=np.float64), shape[:1]).copy()
    if not np.all(np.isfinite(electrons) & (electrons > 0)):
        raise ValueError(f"electrons per unit intensity must be finite and > 0, got {electrons}")
    if not np.all(np.isfinite(sigma) & (sigma >= 0)):
        raise ValueError(f"read_sigma must be finite and >= 0, got {read_sigma}")
    if row_shifts is None:
        shifts = np.zeros(rows, np.float32)
    else:
        shifts = np.ascontiguousarray(np.broadcast_to(row_shifts, shape[:-1]), dtype=np.float32).ravel()
        if not np.all(np.isfinite(shifts)):
            raise ValueError("row_shifts contain NaN or inf")
    first, stop, step = (columns or slice(None)).indices(nx)
    if step != 1 or (columns is not None and stop <= first):
        raise ValueError(f"columns must be a non-empty slice of step 1 within {nx} columns, got {columns}")
    out = np.empty((rows, stop - first), np.float32)
    state = np.random.SFC64(rng.bit_generator.random_raw()).state["state"]["state"].astype(np.uint64)
    if where is None:
        mask, other_state = np.ones((height, out.shape[1]), np.bool_), state
    else:
        mask = np.asarray(where)
        try:
            mask = np.ascontiguousarray(np.broadcast_to(mask, (height, out.shape[1])))
        except ValueError:
            mask = None
        if mask is None or mask.dtype != np.bool_:
            raise ValueError(f"where must be a boolean array that broadcasts to the output's last two axes "
                             f"({height}, {out.shape[1]}), got {np.asarray(where).dtype} {np.shape(where)}")
        other_state = np.random.SFC64(rng.bit_generator.random_raw()).state["state"]["state"].astype(np.uint64)
    if out.size:
        _draw(grid, shifts, first, electrons, sigma, mask, bool(fill), state, other_state, _QUANTILES,
              *_poisson_tables(float(exact_below)), float(exact_below), out)
    if columns is None:
        return out.reshape(original)
    return out.reshape(*shape[:-1], stop - first)
