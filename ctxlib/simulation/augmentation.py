"""Experiment-like degradations of clean simulated images (paper §4, Figs. 4e, S8).

One *realisation* imitates one micrograph of a context: a single set of parameters
(drawn from the ranges of :class:`AugmentationSettings`) is applied to all 34 motifs of the
context, in this order:

1. the probe's spread: a Gaussian of standard deviation ``blur`` x the probe FWHM (source
   size, vibration, a user's smoothing; the probe FWHM is ``0.51 lambda / alpha``, so the
   blur scales with the probe at each beam energy), elongated by residual two-fold
   astigmatism (its standard deviations along y and x are ``sqrt(1 + astigmatism)`` times and
   ``1 / sqrt(1 + astigmatism)`` times that: long over short axis ``1 + astigmatism``, along the
   image axes; the Zernike moments kept are rotation invariant), of which a share ``tail`` is spread
   instead by a broad Gaussian halo of standard deviation ``tail_width`` (Angstrom): the
   probe tails of a real corrected probe, which carry intensity to the neighbouring columns
   and the hollow sites (drawn log-uniform, the halos of many realisations together make a
   heavy-tailed, Lorentzian-like family; one realisation has one halo);
2. detector afterglow along the fast scan (x): the signal decays over ``afterglow``
   (Angstrom) after the probe has passed, a causal exponential along every scan row;
3. a smooth additive background (amorphous carbon, contamination): each motif gets an
   offset ``background x u`` (``u`` uniform in [0, 1], one a motif) and a ramp across its
   window of a tenth of that, in units of the pristine mean intensity, added before the
   shot noise (it is scattered electrons, and counts as such);
4. scan distortion: every scan row shifted along x by a Gaussian random amount of
   standard deviation ``jitter`` (Angstrom);
5. Poisson noise at ``dose`` electrons per square Angstrom, the same for every motif:
   counts = Poisson(intensity x dose x pixel area), so the relative intensity of the
   motifs is kept (abTEM's ``poisson_noise`` rescales each image to its own mean dose);
   drawn exactly where a pixel expects fewer than ``exact_poisson_below`` electrons, from
   the normal law with the Poisson's mean and variance above (:mod:`ctxlib.simulation.noise`);
6. Gaussian noise of standard deviation ``read_noise`` x the pristine mean intensity;
7. what the recorded image adds: every scan row offset by a Gaussian amount of standard
   deviation ``line_offset`` x the pristine mean (detector gain drift, flyback), noise with
   power falling as 1 / |spatial frequency| of standard deviation ``pink_noise`` x the
   pristine mean (slow detector and stage instabilities), and rounding to steps of
   ``quantisation`` x the pristine mean (an 8-bit export spans a few pristine means in 256
   steps: about 0.01).

The paper does not give its ranges (NOTES); ours are the defaults of
:class:`AugmentationSettings`, and the book's section on real micrographs says how they were
measured against real images and stand-ins with the effects of real micrographs
(:mod:`ctxlib.simulation.realism`), and what they still lack (coma and other odd aberrations,
thickness, strain).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from numba import njit

from ctxlib.base.settings import Range, check_number
from ctxlib.materials.catalog import CONVERGENCE_MRAD
from ctxlib.simulation.noise import EXACT_BELOW, EXACT_BELOW_MAX, detector_noise
from ctxlib.simulation.scans import electron_wavelength

#: The widest range each parameter may be given (a range outside is refused).
AUGMENTATION_BOUNDS: dict[str, tuple[float, float]] = {
    "blur": (0.0, 3.0), "tail": (0.0, 0.9), "tail_width": (0.05, 10.0), "afterglow": (0.0, 2.0),
    "background": (0.0, 2.0), "jitter": (0.0, 1.0), "dose": (1.0, 1e10), "read_noise": (0.0, 1.0),
    "astigmatism": (0.0, 3.0), "line_offset": (0.0, 0.5), "pink_noise": (0.0, 0.5), "quantisation": (0.0, 0.2),
}
#: Parameters added after the first trainings: drawn only where their range is not one value, so that settings
#: which leave them at one value draw the same realisations, noise and features as before they existed.
ADDED_LATER: tuple[str, ...] = ("astigmatism", "line_offset", "pink_noise", "quantisation")
#: A motif's background ramp across its window, as a share of its offset's scale.
RAMP_SHARE = 0.1


@dataclass(frozen=True)
class AugmentationSettings:
    """The ranges realisations are drawn from (Fig. S8); our choice, the paper gives none.

    Attributes
    ----------
    blur : Range
        Gaussian blur sigma, x the probe FWHM.
    tail : Range
        Share of the intensity in the probe's broad halo.
    tail_width : Range
        The halo's Gaussian sigma, Angstrom (log-uniform).
    afterglow : Range
        Decay length of the detector's afterglow along the fast scan, Angstrom.
    background : Range
        Scale of each motif's smooth additive background, x the pristine mean intensity. Off by
        default: the encoder subtracts a micrograph's local background
        (:attr:`ctxlib.encoding.features.EncodingSettings.local_background`), and training with it
        (tried to 0.2 and 0.5) cost the single vacancies of the sulfide stand-ins a tenth of their F1.
    jitter : Range
        Row-to-row x shift, standard deviation, Angstrom.
    dose : Range
        Electrons / Angstrom^2 (log-uniform).
    read_noise : Range
        Additive Gaussian sigma, x the pristine mean intensity.
    astigmatism : Range
        The probe core's long over short axis, minus 1.
    line_offset : Range
        Scan-row offset sigma, x the pristine mean intensity.
    pink_noise : Range
        Sigma of the 1/f noise, x the pristine mean intensity.
    quantisation : Range
        Rounding step of the recorded intensities, x the pristine mean intensity.
        These four are off by default: one at a time, the stand-ins with these effects of real
        micrographs (:mod:`ctxlib.simulation.realism`) are classified about as well as without them by
        models trained without them, and one training with them (ranges in the comment below) scored
        the single vacancies lower than any run without them. Drawn only where their range is not
        one value (:data:`ADDED_LATER`).
    exact_poisson_below : float
        Expected electrons a pixel below which shot noise is drawn exactly (electrons).
    """

    blur: Range = Range(0.2, 1.0)
    tail: Range = Range(0.0, 0.3)
    tail_width: Range = Range(0.5, 3.0, "log")
    afterglow: Range = Range(0.0, 0.2)
    background: Range = Range(0.0, 0.0)  # off: the encoder subtracts the local background instead
    jitter: Range = Range(0.0, 0.1)
    dose: Range = Range(5e3, 2e6, "log")
    read_noise: Range = Range(0.0, 0.05)
    # off: one quick training with astigmatism 0-1, line offsets 0-0.03, 1/f noise 0-0.04 and quantisation 0-0.015
    # scored single vacancies of the stand-ins lower (F1 0.87 against 0.91-0.95 for three runs without them)
    astigmatism: Range = Range(0.0, 0.0)
    line_offset: Range = Range(0.0, 0.0)
    pink_noise: Range = Range(0.0, 0.0)
    quantisation: Range = Range(0.0, 0.0)
    exact_poisson_below: float = EXACT_BELOW

    def __post_init__(self) -> None:
        for name, (lowest, highest) in AUGMENTATION_BOUNDS.items():
            value = getattr(self, name)
            if not isinstance(value, Range):
                raise TypeError(f"{name} must be a Range, got {value!r}")
            value.check_within(name, lowest, highest)
        check_number("exact_poisson_below", self.exact_poisson_below, 0, EXACT_BELOW_MAX)

    def ranges(self) -> dict[str, Range]:
        """Parameter name -> its range, in the order of :class:`Degradation`."""
        return {name: getattr(self, name) for name in AUGMENTATION_BOUNDS}

    def table(self) -> pd.DataFrame:
        """The ranges with what each parameter means (the book's Fig. S8 table)."""
        return pd.DataFrame([{"parameter": k, "low": r.low, "high": r.high, "drawn": r.scale,
                              "meaning": AUGMENTATION_DESCRIPTIONS[k]} for k, r in self.ranges().items()]
                            ).set_index("parameter")



#: The four degradations the paper names (blur, scan jitter, shot and read noise) at the ranges the
#: training used before the real-image measurements of the book's section on real micrographs
#: (blur 0.2-0.6 x the probe FWHM; no halo, afterglow or background): kept to show that gap.
PAPER_DEGRADATIONS = AugmentationSettings(blur=Range(0.2, 0.6), tail=Range(0.0, 0.0), afterglow=Range(0.0, 0.0),
                                          background=Range(0.0, 0.0), astigmatism=Range(0.0, 0.0),
                                          line_offset=Range(0.0, 0.0), pink_noise=Range(0.0, 0.0),
                                          quantisation=Range(0.0, 0.0))

#: What each parameter means, for the book's table (Fig. S8).
AUGMENTATION_DESCRIPTIONS: dict[str, str] = {
    "blur": "Gaussian blur sigma, in units of the probe FWHM 0.51 lambda/alpha",
    "tail": "share of the intensity spread by the probe's broad Gaussian halo",
    "tail_width": "the halo's sigma, Angstrom",
    "afterglow": "decay length of the detector afterglow along the fast scan, Angstrom",
    "background": "scale of a motif's additive background (offset, 1/10 as a ramp), x the pristine mean intensity",
    "jitter": "scan-row x displacement, standard deviation, Angstrom",
    "dose": "electron dose, e/A^2 (Poisson counts = intensity x dose x pixel area)",
    "read_noise": "additive Gaussian noise sigma, in units of the pristine mean intensity",
    "astigmatism": "the probe core's long over short axis, minus 1 (residual two-fold astigmatism)",
    "line_offset": "scan-row offset sigma (gain drift, flyback), in units of the pristine mean intensity",
    "pink_noise": "sigma of noise with power ~ 1/|k| (slow instabilities), in units of the pristine mean intensity",
    "quantisation": "rounding step of the recorded image (8-bit export ~ 0.01), in units of the pristine mean intensity",
}


def probe_fwhm(energy_kev: float, convergence_mrad: float = CONVERGENCE_MRAD) -> float:
    """FWHM of the aberration-free probe intensity (Airy disc), Angstrom: 0.51 lambda / alpha."""
    return 0.51 * electron_wavelength(energy_kev) / (convergence_mrad * 1e-3)


@dataclass(frozen=True)
class Degradation:
    """One realisation's parameters (see the module docstring for units)."""

    blur: float
    tail: float
    tail_width: float
    afterglow: float
    background: float
    jitter: float
    dose: float
    read_noise: float
    astigmatism: float = 0.0
    line_offset: float = 0.0
    pink_noise: float = 0.0
    quantisation: float = 0.0

    def __post_init__(self):
        for name in AUGMENTATION_BOUNDS:
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value}")
        if self.dose <= 0:
            raise ValueError(f"dose must be > 0 electrons/A^2, got {self.dose}")
        if self.tail >= 1:
            raise ValueError(f"tail must be a share below 1, got {self.tail}")
        if self.tail > 0 and self.tail_width <= 0:
            raise ValueError(f"tail_width must be > 0 Angstrom where tail > 0, got {self.tail_width}")


def draw_degradations(
    rng: np.random.Generator, n: int, *, settings: AugmentationSettings = AugmentationSettings()
) -> list[Degradation]:
    """Draw ``n`` parameter sets uniformly (or log-uniformly) within the ranges of ``settings``."""
    values = {}
    for name, r in settings.ranges().items():
        if name in ADDED_LATER and r.high == r.low:
            values[name] = np.full(n, r.low)
            continue
        if r.scale == "log":
            values[name] = np.exp(rng.uniform(np.log(r.low), np.log(r.high), n))
        else:
            values[name] = rng.uniform(r.low, r.high, n)
    return [Degradation(**{k: float(v[i]) for k, v in values.items()}) for i in range(n)]


def one_at_a_time(settings: AugmentationSettings = AugmentationSettings(), *,
                  clean_dose: float = 1e12) -> dict[str, Degradation]:
    """Each degradation the settings use alone at the top of its range, and the dose at both ends (Fig. S8's rows).

    ``"clean"`` has every degradation off and a dose of ``clean_dose`` electrons/Angstrom^2 (no
    visible noise); the halo is shown at its largest share with its widest sigma.

    Examples
    --------
    >>> list(one_at_a_time())[:3]
    ['clean', 'blur = 1', 'tail = 0.3']
    """
    ranges = settings.ranges()
    off = {name: 0.0 for name in ranges} | {"dose": clean_dose, "tail_width": ranges["tail_width"].high}
    cases = {"clean": off}
    for name, r in ranges.items():
        if name not in ("tail_width", "dose") and r.high > 0:  # a degradation the settings leave off is not shown
            cases[f"{name} = {r.high:g}"] = {**off, name: r.high}
    for dose in (ranges["dose"].high, ranges["dose"].low):
        cases[f"dose = {dose:g} e/A^2"] = {**off, "dose": dose}
    return {name: Degradation(**values) for name, values in cases.items()}


def degrade(
    images: np.ndarray,
    pixel_size: tuple[float, float],
    energy_kev: float,
    reference_mean: float,
    params: Degradation | Sequence[Degradation],
    rng: np.random.Generator,
    *,
    window: tuple[slice, slice] | None = None,
    exact_below: float = EXACT_BELOW,
    where: np.ndarray | None = None,
    fill: bool = True,
) -> np.ndarray:
    """Apply realisations to a stack of clean images of one context.

    The probe's spread and the afterglow are linear, so they are matrix products per
    realisation (two where the realisation has a halo), and only the pixels of ``window``
    are made: a patch reads about a third of a motif window, so the noise (the costly step)
    is drawn for those pixels alone. The row shift is read in the same compiled pass as the
    noise (:func:`ctxlib.simulation.noise.detector_noise`). The spread reads the whole image
    (edges "nearest", as ``ndimage.gaussian_filter``); the row shift reads up to 8 standard
    deviations beyond the window's sides.

    Parameters
    ----------
    images : numpy.ndarray, (..., ny, nx)
        Clean intensities, fraction of the incident beam.
    pixel_size : (float, float)
        (y, x) Angstrom per pixel.
    energy_kev : float
        Beam energy, keV (sets the probe size).
    reference_mean : float
        Mean intensity of the pristine lattice (scales the read noise and the background).
    params : Degradation or sequence of Degradation
        One realisation, or several (a leading axis of the result).
    rng : numpy.random.Generator
    window : (slice, slice), optional
        The rows and columns to return (default: all).
    exact_below : float
        Expected electron counts below which shot noise is drawn exactly (see :mod:`ctxlib.simulation.noise`).
    where : numpy.ndarray of bool, (h, w), optional
        The pixels of the window the caller needs; their noise does not depend on ``fill``
        (:func:`ctxlib.simulation.noise.detector_noise`).
    fill : bool
        With ``where``: noise for the other pixels too (else they are 0).

    Returns
    -------
    numpy.ndarray, float32
        Degraded intensities, fraction of the beam: (..., h, w) for one Degradation,
        (R, ..., h, w) for a sequence of R.

    Examples
    --------
    >>> image = np.zeros((1, 41, 41)); image[0, 20, 20] = 1.0
    >>> sharp = Degradation(blur=0.3, tail=0.0, tail_width=1.0, afterglow=0.0, background=0.0,
    ...                     jitter=0.0, dose=1e10, read_noise=0.0)
    >>> out = degrade(image, (0.1, 0.1), 80, 1.0, sharp, np.random.default_rng(0))
    >>> out.shape, round(float(out.sum()), 3)
    ((1, 41, 41), 1.0)
    """
    single = isinstance(params, Degradation)
    params = [params] if single else list(params)
    images = np.asarray(images, dtype=np.float32)
    if not np.all(np.isfinite(images)):
        raise ValueError("images contain NaN or inf")
    *stack, ny, nx = images.shape
    flat = images.reshape(-1, ny, nx)
    rows, cols = window or (slice(0, ny), slice(0, nx))
    rows, cols = slice(*rows.indices(ny)[:2]), slice(*cols.indices(nx)[:2])
    jitter_px = np.array([p.jitter for p in params]) / pixel_size[1]
    margin = int(np.ceil(8 * jitter_px.max())) + 1 if jitter_px.max() > 0 else 0
    wide = slice(max(cols.start - margin, 0), min(cols.stop + margin, nx))
    out = _spread(flat, pixel_size, energy_kev, params, rows, wide)
    out = _add_background(out, params, reference_mean, rng)
    shifts = rng.standard_normal(out.shape[:-1], dtype=np.float32) if margin else np.zeros(out.shape[:-1], np.float32)
    shifts *= jitter_px[:, None, None].astype(np.float32)
    electrons = np.array([p.dose for p in params]) * pixel_size[0] * pixel_size[1]
    read = np.array([p.read_noise for p in params]) * reference_mean
    out = detector_noise(out, electrons, rng, read_sigma=read, exact_below=exact_below, row_shifts=shifts,
                         columns=slice(cols.start - wide.start, cols.stop - wide.start), where=where, fill=fill)
    out = _record(out, params, reference_mean, rng)
    out = out.reshape(len(params), *stack, *out.shape[-2:])
    return out[0] if single else out


def _spread(flat: np.ndarray, pixel_size: tuple[float, float], energy_kev: float, params: list[Degradation],
            rows: slice, cols: slice) -> np.ndarray:
    """Step 1-2: the probe's core and halo, then the afterglow, of a stack (M, ny, nx): (R, M, rows, cols), float32."""
    m, ny, nx = flat.shape
    pixel = np.asarray(pixel_size, dtype=np.float64)
    stretch = np.sqrt(1 + np.array([p.astigmatism for p in params]))[:, None] ** np.array([1.0, -1.0])
    core = np.array([p.blur for p in params])[:, None] * stretch * probe_fwhm(energy_kev) / pixel
    halo = np.array([p.tail_width for p in params])[:, None] / pixel
    tail = np.array([p.tail for p in params])
    glow = _afterglow_matrices(nx, np.array([p.afterglow for p in params]) / pixel[1])
    by_rows = flat.transpose(1, 0, 2).reshape(ny, -1)  # (ny, M * nx): one product per realisation and axis
    out = np.zeros((len(params), m, rows.stop - rows.start, cols.stop - cols.start), np.float32)
    for sigma, weight in ((core, 1 - tail), (halo, tail)):
        along_rows = _blur_matrices(ny, sigma[:, 0])[:, rows]
        along_cols = glow[:, cols] @ _blur_matrices(nx, sigma[:, 1])
        for r in np.flatnonzero(weight > 0):
            spread = (along_rows[r] @ by_rows).reshape(-1, nx) @ along_cols[r].T
            out[r] += np.float32(weight[r]) * spread.reshape(out.shape[2], m, -1).transpose(1, 0, 2)
    return out


def _afterglow_matrices(n: int, lengths: np.ndarray) -> np.ndarray:
    """Causal exponential decays along a scan row of ``n`` samples, one (n, n) matrix per decay length (pixels).

    Sample ``i`` reads ``(1 - q) q^k`` of sample ``i - k`` (``q = exp(-1 / length)``), renormalised
    where the row starts; a length of 0 is the identity.
    """
    lag = np.arange(n)[:, None] - np.arange(n)[None]
    matrices = np.zeros((len(lengths), n, n))
    for r, length in enumerate(lengths):
        if length <= 0:
            matrices[r] = np.eye(n)
            continue
        weights = np.where(lag >= 0, np.exp(-np.maximum(lag, 0) / length), 0.0)
        matrices[r] = weights / weights.sum(axis=1, keepdims=True)
    return matrices.astype(np.float32)


def _add_background(out: np.ndarray, params: list[Degradation], reference_mean: float,
                    rng: np.random.Generator) -> np.ndarray:
    """Step 3: each image of each realisation (R, M, h, w) gets its own offset and ramp (never below 0 intensity)."""
    scale = np.array([p.background for p in params]) * reference_mean
    if not scale.any():
        return out
    n_real, m, h, w = out.shape
    offset = rng.uniform(0.0, 1.0, (n_real, m)) * scale[:, None]
    angle = rng.uniform(0.0, 2 * np.pi, (n_real, m))
    y = np.linspace(-0.5, 0.5, h)[:, None]
    x = np.linspace(-0.5, 0.5, w)[None]
    ramp = RAMP_SHARE * scale[:, None, None, None] * (np.sin(angle)[..., None, None] * y + np.cos(angle)[..., None, None] * x)
    out += (offset[..., None, None] + ramp).astype(np.float32)
    return np.maximum(out, 0, out=out)


def _record(out: np.ndarray, params: list[Degradation], reference_mean: float, rng: np.random.Generator) -> np.ndarray:
    """Step 7: scan-row offsets, 1/f noise and rounding of each realisation's images (R, M, h, w), in place."""
    n_real, m, h, w = out.shape
    offsets = np.array([p.line_offset for p in params]) * reference_mean
    pink = np.array([p.pink_noise for p in params]) * reference_mean
    steps = np.array([p.quantisation for p in params]) * reference_mean
    if offsets.any():
        out += (rng.standard_normal((n_real, m, h, 1)) * offsets[:, None, None, None]).astype(np.float32)
    if pink.any():
        out += pink_noise(rng, (n_real, m, h, w)) * pink[:, None, None, None].astype(np.float32)
    for r in np.flatnonzero(steps > 0):
        out[r] = np.round(out[r] / steps[r]) * steps[r]
    return out


def pink_noise(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Noise of zero mean and unit standard deviation whose power falls as 1 / |spatial frequency| over the last two
    axes (each image on its own), float32.

    Examples
    --------
    >>> noise = pink_noise(np.random.default_rng(0), (64, 128, 128))
    >>> noise.shape, round(float(noise.std()), 1)
    ((64, 128, 128), 1.0)
    """
    h, w = shape[-2:]
    k = np.hypot(np.fft.fftfreq(h)[:, None], np.fft.rfftfreq(w)[None])
    amplitude = np.where(k > 0, 1 / np.sqrt(np.maximum(k, 1e-12)), 0.0)
    counted = np.full(k.shape[1], 2.0)  # a half-spectrum column stands for itself and its mirror ...
    counted[0] = 1.0  # ... but the zero frequency
    if w % 2 == 0:
        counted[-1] = 1.0  # ... and the Nyquist frequency of an even length
    amplitude *= np.sqrt(h * w / np.sum(counted[None] * amplitude ** 2))
    noise = np.fft.irfft2(np.fft.rfft2(rng.standard_normal(shape, dtype=np.float32)) * amplitude, s=(h, w))
    return noise.astype(np.float32)


def _blur_matrices(n: int, sigmas: np.ndarray) -> np.ndarray:
    """Gaussian blurs along an axis of ``n`` samples as matrices (R, n, n), one per sigma (pixels).

    The operator of ``ndimage.gaussian_filter1d`` (kernel truncated at 4 sigma, edges
    "nearest"): ``blurred = matrix @ samples``.
    """
    sigmas = np.asarray(sigmas, dtype=np.float64)
    radius = (4.0 * sigmas + 0.5).astype(int)
    offsets = np.arange(-radius.max(), radius.max() + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        weights = np.exp(-0.5 * (offsets[None] / sigmas[:, None]) ** 2)
    weights[np.abs(offsets)[None] > radius[:, None]] = 0
    weights[sigmas == 0] = offsets == 0
    weights /= weights.sum(axis=1, keepdims=True)
    matrices = np.zeros((len(sigmas), n, n))
    _fill_blur(weights, offsets, matrices)
    return matrices.astype(np.float32)


@njit(cache=True)
def _fill_blur(weights, offsets, matrices):  # pragma: no cover - compiled
    """``matrices[r, i, clip(i + offsets[j])] += weights[r, j]``, offsets in order (edges "nearest")."""
    n = matrices.shape[1]
    for r in range(matrices.shape[0]):
        for j in range(offsets.shape[0]):
            for i in range(n):
                matrices[r, i, min(max(i + offsets[j], 0), n - 1)] += weights[r, j]
