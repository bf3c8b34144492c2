"""Effects of real micrographs, applied to whole stand-in fields to measure what each costs the classifier.

The stand-ins of section 6 (:mod:`ctxlib.simulation.standins`) are abTEM fields with known truth,
degraded in one fixed experiment-like way (:class:`~ctxlib.simulation.standins.ExperimentLike`).
Real micrographs have more. Each effect here is one of them, at one stated strength, added to that
degradation of a stand-in's clean field, so that the classifier's score with and without it says
what the effect costs, one effect at a time:

Probe (before the shot noise)
    ``astigmatism``: residual two-fold astigmatism of a corrected probe, an elliptical Gaussian of
    standard deviations 0.35 and 0.10 Angstrom with its long axis 30 degrees from the scan's x;
    ``coma``: a comet tail, 20 % of the intensity moved into a Gaussian of 0.3 Angstrom standard
    deviation centred 0.5 Angstrom from the column, 30 degrees from x.
Detector and scan (after it)
    ``line offsets``: every scan row offset by a Gaussian amount of 2 % of the mean signal
    (detector gain drift, flyback); ``1/f noise``: noise whose power falls as 1 / |spatial frequency|,
    standard deviation 3 % of the mean signal (slow detector and stage instabilities).
Export
    ``8-bit export``: the image rescaled so its 0.1-99.9th percentiles span 0-255, clipped and
    rounded (what a TIFF or PNG export does); ``smoothing``: a Gaussian of 1 pixel standard
    deviation a user applied to see the columns better.
Sampling
    ``finer pixels``: the field scanned at half the pixel size (0.1 instead of 0.2 Angstrom; the
    classifier resamples every patch to its trained grid).
All
    ``all at once``: every effect but the finer pixels, in the order above.

The strengths are ours, chosen to be clearly visible but common in practice. What no effect here
holds: thickness, strain, contamination islands and beam damage, and any effect's real
spatial variation across a field.

Examples
--------
>>> list(REAL_EFFECTS)[:3]
['none', 'astigmatism', 'coma']
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy import ndimage

from ctxlib.simulation.augmentation import pink_noise
from ctxlib.simulation.standins import ExperimentLike, TestMicrograph, degrade_field

#: Effect name -> what it does, at the strength :func:`with_effect` applies (see the module docstring).
REAL_EFFECTS: dict[str, str] = {
    "none": "the stand-in as section 6 scores it",
    "astigmatism": "elliptical probe, Gaussian sigma 0.35 x 0.10 A, long axis 30 deg from x",
    "coma": "20 % of the probe in a tail, Gaussian sigma 0.3 A centred 0.5 A away, 30 deg from x",
    "line offsets": "each scan row offset by a Gaussian 2 % of the mean signal",
    "1/f noise": "noise with power ~ 1/|k|, sigma 3 % of the mean signal",
    "8-bit export": "0.1-99.9th percentiles rescaled to 0-255, clipped, rounded",
    "smoothing": "a user's Gaussian smoothing, sigma 1 pixel",
    "finer pixels": "scanned at half the pixel size (0.1 A)",
    "all at once": "every effect above but the finer pixels, in the order listed",
}
#: Effects that act on the probe, before the shot noise, and those on the recorded image, in the order applied.
_PROBE = ("astigmatism", "coma")
_RECORDED = ("line offsets", "1/f noise", "smoothing", "8-bit export")
_ANGLE = np.deg2rad(30.0)


def with_effect(micrograph: TestMicrograph, effect: str, *, params: ExperimentLike = ExperimentLike(),
                seed: int = 0) -> TestMicrograph:
    """A stand-in degraded again from its clean field with one real-micrograph effect added.

    Parameters
    ----------
    micrograph : TestMicrograph
        A stand-in (its ``clean`` field and ``truth`` are used; its ``degraded`` field is replaced).
    effect : str
        A key of :data:`REAL_EFFECTS` (``"none"``: the stand-in's own degradation, drawn again).
    params : ExperimentLike
        The stand-in's degradation, which every effect is added to.
    seed : int
        Seeds the noise: the same seed gives every effect the same shot noise draw.

    Returns
    -------
    TestMicrograph
        The new ``degraded`` field (both detectors), with ``pixel_size`` and ``truth`` moved where the
        effect resamples the field.

    Examples
    --------
    >>> from ctxlib.simulation.standins import TestMicrograph
    >>> import pandas as pd
    >>> field = np.full((2, 40, 40), 0.01, np.float32)
    >>> truth = pd.DataFrame({"row": [10.0], "col": [12.0]})
    >>> m = TestMicrograph("V", field, field, (0.2, 0.2), truth)
    >>> with_effect(m, "finer pixels").degraded.shape, with_effect(m, "finer pixels").truth["col"].item()
    ((2, 80, 80), 24.5)
    """
    if effect not in REAL_EFFECTS:
        raise ValueError(f"unknown effect {effect!r}; choose one of {', '.join(REAL_EFFECTS)}")
    rng = np.random.default_rng([seed, 7])
    pixel = micrograph.pixel_size
    steps = _PROBE + _RECORDED if effect == "all at once" else (effect,)
    clean = micrograph.clean
    for step in (s for s in _PROBE if s in steps):
        clean = np.stack([_probe_effect(image, pixel, step) for image in clean])
    degraded = degrade_field(clean, pixel, params, rng)
    for step in (s for s in _RECORDED if s in steps):
        degraded = np.stack([_detector_effect(image, step, rng) for image in degraded])
    truth = micrograph.truth
    if effect == "finer pixels":
        degraded = np.stack([ndimage.zoom(image, 2.0, order=3, mode="grid-wrap", grid_mode=True)
                             for image in degraded])
        pixel = (pixel[0] / 2, pixel[1] / 2)
        truth = truth.assign(row=2 * truth["row"] + 0.5, col=2 * truth["col"] + 0.5)
    return replace(micrograph, degraded=degraded.astype(np.float32), pixel_size=pixel, truth=truth)


def _probe_effect(image: np.ndarray, pixel: tuple[float, float], effect: str) -> np.ndarray:
    """Convolve a periodic clean field with the effect's probe kernel (its Fourier transform)."""
    ky = np.fft.fftfreq(image.shape[0], pixel[0])[:, None]
    kx = np.fft.fftfreq(image.shape[1], pixel[1])[None]
    along = kx * np.cos(_ANGLE) + ky * np.sin(_ANGLE)  # 1/Angstrom along the effect's direction
    across = -kx * np.sin(_ANGLE) + ky * np.cos(_ANGLE)
    if effect == "astigmatism":
        kernel = np.exp(-2 * np.pi ** 2 * ((0.35 * along) ** 2 + (0.10 * across) ** 2))
    else:  # coma: a shifted Gaussian tail
        tail = np.exp(-2 * np.pi ** 2 * 0.3 ** 2 * (along ** 2 + across ** 2)) * np.exp(-2j * np.pi * 0.5 * along)
        kernel = 0.8 + 0.2 * tail
    return np.real(np.fft.ifft2(np.fft.fft2(image) * kernel))


def _detector_effect(image: np.ndarray, effect: str, rng: np.random.Generator) -> np.ndarray:
    """The effects that act on the recorded image (a no-op for the others)."""
    mean = float(image.mean())
    if effect == "line offsets":
        return image + rng.normal(0.0, 0.02 * mean, (image.shape[0], 1))
    if effect == "1/f noise":
        return image + pink_noise(rng, image.shape) * 0.03 * mean
    if effect == "8-bit export":
        low, high = np.percentile(image, [0.1, 99.9])
        return np.round(np.clip((image - low) / (high - low), 0, 1) * 255)
    if effect == "smoothing":
        return ndimage.gaussian_filter(image, 1.0, mode="wrap")
    return image
