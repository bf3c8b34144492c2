"""Shot and read noise at the speed the paper's ~55 M patches need (paper §4, Fig. S8).

``numpy.random.Generator.poisson`` costs about 56 ns a pixel here, which alone made the
paper's scale a two-hour feature run. :func:`detector_noise` turns intensities into
electron counts, draws their shot noise and adds a read noise of standard deviation
``read_sigma``, in one compiled function (numba) of short loops that the compiler turns
into SIMD code where they have no branch.

Random words are **counter-based**: pixel ``p`` (its index in the C-order output) takes
the words ``splitmix64(key + (p + 1) g)`` and ``splitmix64(key2 + (p + 1) g)``, with ``g``
the golden-ratio increment and ``key``, ``key2`` two words of the caller's generator:
SplitMix64's own output stream (Steele, Lea and Flood 2014; Vigna's reference C code),
read at the pixel's position. A pixel's noise therefore depends on its position alone,
not on which other pixels were drawn, and the words of a row are computed eight at a
time.

* where the expected count ``rate`` is below ``exact_below``, the count is drawn
  **exactly**: ``rate = rate0 + rest``, with ``rate0`` on a grid of step 1/8 electron and
  ``0 <= rest < 1/8``, and a Poisson count is the sum of independent Poisson counts of
  ``rate0`` and of ``rest``. The count of ``rate0`` is drawn by Walker's alias method
  (Vose's construction): the top bits of the first word pick one of ``K`` equally likely
  buckets (``K`` a power of 2 beyond which the law has less than 2^-53 of its mass), and
  the second word's top 53 bits, a uniform number, choose between the bucket's own count
  and its alias: one table read and no loop, exact to double rounding. The count of
  ``rest`` is 0 when bits 16-55 of the first word, a uniform number, lie below
  ``1 - rest <= exp(-rest)`` (at least 7 pixels in 8), else the inverse of its
  distribution there;
* where it is ``exact_below`` or more, the count is ``rate + sqrt(rate) z``, where ``z``
  is one of the 65,536 equal-probability quantiles of the standard normal law (indexed
  by bits 16-31, rescaled to variance 1). This has the Poisson's mean and variance
  exactly; its skewness (``1 / sqrt(rate)``, at most 0.18 at the default 30) is not kept,
  and ``|z|`` stops at 4.3;
* the read noise is ``read_sigma z'`` with ``z'`` the quantile indexed by bits 0-15,
  independent of the bits the count used.

(Before 2026-12-04 the words were numpy's SFC64 stream in pixel order and the exact
counts were read from cumulative distributions through a guide table: the same laws, two
thirds of the speed, other bytes.) ``tests/test_noise.py`` checks the counts against
``scipy.stats.poisson`` and the words against a plain-Python SplitMix64.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit
from scipy import stats
from scipy.special import ndtri

#: Default expected count (electrons a pixel) below which counts are drawn exactly.
EXACT_BELOW = 30.0
#: The largest ``exact_below`` allowed (electrons): its alias tables take about 2.5 MB.
EXACT_BELOW_MAX = 100.0
#: Grid step of the tabulated rates, electrons (a power of 2: the grid is exact in binary).
_STEP = 0.125
_LEVELS = 65536
#: SplitMix64's increment (the golden ratio x 2^64).
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
#: Pixels drawn together, about (whole images of the stack): their buffers fit the L1 and L2 caches.
_BLOCK_PIXELS = 2048


def _normal_quantiles(levels: int = _LEVELS) -> np.ndarray:
    """Equal-probability quantiles of the standard normal law, rescaled to mean 0 and variance 1 exactly."""
    z = ndtri((np.arange(levels) + 0.5) / levels)
    return (z / np.sqrt(np.mean(z**2))).astype(np.float32)


_QUANTILES = _normal_quantiles()


@lru_cache(maxsize=4)
def _poisson_tables(exact_below: float) -> tuple[np.ndarray, np.ndarray]:
    """Alias tables (Walker 1977, Vose 1991) of the Poisson laws at the rates ``0, 1/8, 2/8, ...`` up to ``exact_below``.

    Returns
    -------
    threshold : numpy.ndarray, float64, (rates, K)
        A uniform number ``u`` in bucket ``i`` gives the count ``i`` where ``u <
        threshold[g, i]``, else ``alias[g, i]``; ``K`` is the smallest power of 2 with
        ``P(count >= K) < 2^-53`` at the largest rate.
    alias : numpy.ndarray, int32, (rates, K)
    """
    rates = np.arange(int(np.ceil(exact_below / _STEP)) + 1) * _STEP
    buckets = 2 ** int(np.ceil(np.log2(stats.poisson.isf(2.0**-53, rates[-1]) + 1)))
    pmf = stats.poisson.pmf(np.arange(buckets)[None], rates[:, None])
    pmf /= pmf.sum(axis=1, keepdims=True)
    threshold = np.ones((len(rates), buckets))
    alias = np.tile(np.arange(buckets, dtype=np.int32), (len(rates), 1))
    for g, law in enumerate(pmf * buckets):
        small = [i for i in range(buckets) if law[i] < 1.0]
        large = [i for i in range(buckets) if law[i] >= 1.0]
        while small and large:
            i, j = small.pop(), large[-1]
            threshold[g, i], alias[g, i] = law[i], j
            law[j] -= 1.0 - law[i]
            if law[j] < 1.0:
                small.append(large.pop())
    return threshold, alias


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
def _splitmix64(z):  # pragma: no cover - compiled
    """SplitMix64's output function (Vigna's ``splitmix64.c``) of the state ``z``."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def _draw(intensity, shifts, start, electrons, read_sigma, where, fill, keys, quantiles, threshold, alias,
          exact_below, out):  # pragma: no cover - compiled
    """Noisy intensities, a few images (of ``H`` rows) at a time.

    ``intensity`` is (R, M, H, nx); row ``r`` of ``out`` is its row ``(ri, m, i)`` in C
    order, read at ``x - shifts[r]`` for ``x = start, start + 1, ...`` (linear
    interpolation, rounded to float32; beyond the row, its edge value), with
    ``electrons[ri]`` a unit and read noise ``read_sigma[ri]``. Pixel ``p`` of ``out``
    (C order) takes the words ``splitmix64(keys[k] + (p + 1) g)``; where ``where[i, x]`` is
    False and ``fill`` is too, it is 0.
    """
    motifs, height, nx = intensity.shape[1], intensity.shape[2], intensity.shape[3]
    width = out.shape[1]
    flat = out.reshape(-1)
    images = max(1, _BLOCK_PIXELS // (height * width))  # images of a block
    size = images * height * width
    keep = np.empty(size, np.bool_)
    for t in range(size):
        keep[t] = fill or where[(t // width) % height, t % width]
    rates = np.empty(size, np.float64)
    roots = np.empty(size, np.float64)
    words = np.empty(size, np.uint64)
    second = np.empty(size, np.uint64)
    shot = np.empty(size, np.float32)
    read = np.empty(size, np.float32)
    exact = np.empty(size, np.int64)
    bucket_shift = np.uint64(64 - int(np.log2(threshold.shape[1])))
    for index in range(intensity.shape[0]):
        scale = electrons[index]
        per_electron = 1.0 / scale
        sigma = read_sigma[index]
        for m0 in range(0, motifs, images):
            r0 = (index * motifs + m0) * height
            rows = min(images, motifs - m0) * height
            n = rows * width
            for b in range(rows):  # the rates, each row read at its shift
                r = r0 + b
                row = intensity[index, m0 + b // height, b % height]
                offset = start - np.float64(shifts[r])
                first = int(np.floor(offset))
                weight = offset - first
                into = rates[b * width:(b + 1) * width]
                if first >= 0 and first + width < nx:
                    segment = row[first:first + width + 1]
                    for j in range(width):
                        into[j] = max(np.float32(segment[j] * (1 - weight) + segment[j + 1] * weight) * scale, 0.0)
                else:
                    for j in range(width):
                        left, right = min(max(first + j, 0), nx - 1), min(max(first + j + 1, 0), nx - 1)
                        into[j] = max(np.float32(row[left] * (1 - weight) + row[right] * weight) * scale, 0.0)
            counter = np.uint64(r0 * width + 1) * _GOLDEN
            for t in range(n):  # SIMD: words and square roots
                step = counter + np.uint64(t) * _GOLDEN
                words[t] = _splitmix64(keys[0] + step)
                second[t] = _splitmix64(keys[1] + step)
                roots[t] = np.sqrt(rates[t])
            found = 0
            for t in range(n):  # the normal deviates (table reads); the exact pixels listed, without a branch
                word = words[t]
                shot[t] = quantiles[(word >> np.uint64(16)) & np.uint64(0xFFFF)]
                read[t] = quantiles[word & np.uint64(0xFFFF)]
                exact[found] = t
                found += (rates[t] < exact_below) & keep[t]
            target = flat[r0 * width:r0 * width + n]
            for t in range(n):  # SIMD: the normal branch and the read noise
                value = (rates[t] + roots[t] * shot[t]) * per_electron + sigma * read[t]
                target[t] = value if keep[t] else 0.0
            for e in range(found):  # the exact pixels
                t = exact[e]
                rate, word = rates[t], words[t]
                g = int(rate * 8.0)
                bucket = np.int64(word >> bucket_shift)
                uniform = np.float64(np.int64(second[t] >> np.uint64(11))) * (1.0 / 9007199254740992.0)
                k = bucket if uniform < threshold[g, bucket] else alias[g, bucket]
                rest = rate - g * 0.125
                uniform = np.float64(np.int64((word >> np.uint64(16)) & np.uint64(0xFFFFFFFFFF))) * (1.0 / 1099511627776.0)
                if uniform >= 1.0 - rest:  # else the rest's count is 0 (exp(-rest) >= 1 - rest)
                    k += _rest_count(rest, uniform)
                target[t] = float(k) * per_electron + sigma * read[t]


def detector_noise(intensity: np.ndarray, electrons: np.ndarray, rng: np.random.Generator, *,
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
        Two 64-bit words of it are the keys of the pixels' words (the same state gives
        the same noise).
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
        With ``where``, draw the other pixels too; with
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
    keys = rng.bit_generator.random_raw(2).astype(np.uint64)
    if where is None:
        mask = np.ones((height, out.shape[1]), np.bool_)
    else:
        mask = np.asarray(where)
        try:
            mask = np.ascontiguousarray(np.broadcast_to(mask, (height, out.shape[1])))
        except ValueError:
            mask = None
        if mask is None or mask.dtype != np.bool_:
            raise ValueError(f"where must be a boolean array that broadcasts to the output's last two axes "
                             f"({height}, {out.shape[1]}), got {np.asarray(where).dtype} {np.shape(where)}")
    if out.size:
        _draw(grid, shifts, first, electrons, sigma, mask, bool(fill), keys, _QUANTILES,
              *_poisson_tables(float(exact_below)), float(exact_below), out)
    if columns is None:
        return out.reshape(original)
    return out.reshape(*shape[:-1], stop - first)
