"""Experiment-like degradations of clean simulated images (paper §4, Figs. 4e, S8).

One *realisation* imitates one micrograph of a context: a single set of parameters
(drawn from the ranges of :class:`AugmentationSettings`) is applied to all 34 motifs of the context, in
this order:

1. Gaussian blur of standard deviation ``blur`` x the probe FWHM (source size,
   vibration); the probe FWHM is ``0.51 lambda / alpha``, so the blur scales with the
   probe at each beam energy;
2. scan distortion: every scan row shifted along x by a Gaussian random amount of
   standard deviation ``jitter`` (Angstrom);
3. Poisson noise at ``dose`` electrons per square Angstrom, the same for every motif:
   counts = Poisson(intensity x dose x pixel area), so the relative intensity of the
   motifs is kept (abTEM's ``poisson_noise`` rescales each image to its own mean dose);
4. Gaussian noise of standard deviation ``read_noise`` x the pristine mean intensity.

The paper does not give its ranges (NOTES); ours are the defaults of :class:`AugmentationSettings`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import ndimage

from ctxlib.base.settings import Range
from ctxlib.materials.catalog import CONVERGENCE_MRAD
from ctxlib.simulation.scans import electron_wavelength

#: The widest range each parameter may be given (a range outside is refused).
AUGMENTATION_BOUNDS: dict[str, tuple[float, float]] = {
    "blur": (0.0, 3.0), "jitter": (0.0, 1.0), "dose": (1.0, 1e10), "read_noise": (0.0, 1.0),
}


@dataclass(frozen=True)
class AugmentationSettings:
    """The ranges realisations are drawn from (Fig. S8); our choice, the paper gives none.

    Attributes
    ----------
    blur : Range
        Gaussian blur sigma, x the probe FWHM.
    jitter : Range
        Row-to-row x shift, standard deviation, Angstrom.
    dose : Range
        Electrons / Angstrom^2 (log-uniform).
    read_noise : Range
        Additive Gaussian sigma, x the pristine mean intensity.
    """

    blur: Range = Range(0.2, 0.6)
    jitter: Range = Range(0.0, 0.1)
    dose: Range = Range(5e3, 2e6, "log")
    read_noise: Range = Range(0.0, 0.05)

    def __post_init__(self) -> None:
        for name, (lowest, highest) in AUGMENTATION_BOUNDS.items():
            value = getattr(self, name)
            if not isinstance(value, Range):
                raise TypeError(f"{name} must be a Range, got {value!r}")
            value.check_within(name, lowest, highest)

    def ranges(self) -> dict[str, Range]:
        """Parameter name -> its range, in the order of :class:`Degradation`."""
        return {name: getattr(self, name) for name in AUGMENTATION_BOUNDS}

    def table(self) -> pd.DataFrame:
        """The ranges with what each parameter means (the book's Fig. S8 table)."""
        return pd.DataFrame([{"parameter": k, "low": r.low, "high": r.high, "drawn": r.scale,
                              "meaning": AUGMENTATION_DESCRIPTIONS[k]} for k, r in self.ranges().items()]
                            ).set_index("parameter")


#: What each parameter means, for the book's table (Fig. S8).
AUGMENTATION_DESCRIPTIONS: dict[str, str] = {
    "blur": "Gaussian blur sigma, in units of the probe FWHM 0.51 lambda/alpha",
    "jitter": "scan-row x displacement, standard deviation, Angstrom",
    "dose": "electron dose, e/A^2 (Poisson counts = intensity x dose x pixel area)",
    "read_noise": "additive Gaussian noise sigma, in units of the pristine mean intensity",
}


def probe_fwhm(energy_kev: float, convergence_mrad: float = CONVERGENCE_MRAD) -> float:
    """FWHM of the aberration-free probe intensity (Airy disc), Angstrom: 0.51 lambda / alpha."""
    return 0.51 * electron_wavelength(energy_kev) / (convergence_mrad * 1e-3)


@dataclass(frozen=True)
class Degradation:
    """One realisation's parameters (see the module docstring for units)."""

    blur: float
    jitter: float
    dose: float
    read_noise: float

    def __post_init__(self):
        for name in AUGMENTATION_BOUNDS:
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value}")
        if self.dose <= 0:
            raise ValueError(f"dose must be > 0 electrons/A^2, got {self.dose}")


def draw_degradations(
    rng: np.random.Generator, n: int, settings: AugmentationSettings = AugmentationSettings()
) -> list[Degradation]:
    """Draw ``n`` parameter sets uniformly (or log-uniformly) within the ranges of ``settings``."""
    values = {}
    for name, r in settings.ranges().items():
        if r.scale == "log":
            values[name] = np.exp(rng.uniform(np.log(r.low), np.log(r.high), n))
        else:
            values[name] = rng.uniform(r.low, r.high, n)
    return [Degradation(**{k: float(v[i]) for k, v in values.items()}) for i in range(n)]


def degrade(
    images: np.ndarray,
    pixel_size: tuple[float, float],
    energy_kev: float,
    reference_mean: float,
    params: Degradation,
    rng: np.random.Generator,
) -> np.ndarray:
    """Apply one realisation to a stack of clean images of one context.

    Parameters
    ----------
    images : numpy.ndarray, (..., ny, nx)
        Clean intensities, fraction of the incident beam.
    pixel_size : (float, float)
        (y, x) Angstrom per pixel.
    energy_kev : float
        Beam energy (sets the probe size).
    reference_mean : float
        Mean intensity of the pristine lattice (scales the read noise).
    params : Degradation
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray
        Degraded intensities, fraction of the beam, same shape, float64.
    """
    images = np.asarray(images, dtype=np.float64)
    if not np.all(np.isfinite(images)):
        raise ValueError("images contain NaN or inf")
    sigma = params.blur * probe_fwhm(energy_kev) / np.asarray(pixel_size)
    spatial = (0,) * (images.ndim - 2) + tuple(sigma)
    out = ndimage.gaussian_filter(images, spatial, mode="nearest")
    if params.jitter > 0:
        out = _shift_rows(out, rng.normal(0, params.jitter / pixel_size[1], out.shape[:-1]))
    electrons_per_pixel = params.dose * pixel_size[0] * pixel_size[1]
    out = rng.poisson(np.clip(out, 0, None) * electrons_per_pixel) / electrons_per_pixel
    if params.read_noise > 0:
        out = out + rng.normal(0, params.read_noise * reference_mean, out.shape)
    return out


def _shift_rows(images: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Shift every row of ``images`` (..., ny, nx) along x by ``shifts`` (..., ny) pixels (linear, edge-clamped)."""
    nx = images.shape[-1]
    x = np.arange(nx) - shifts[..., None]
    left = np.clip(np.floor(x).astype(int), 0, nx - 1)
    right = np.clip(left + 1, 0, nx - 1)
    weight = np.clip(x - np.floor(x), 0, 1)
    weight = np.where((x < 0) | (x > nx - 1), 0.0, weight)
    return np.take_along_axis(images, left, -1) * (1 - weight) + np.take_along_axis(images, right, -1) * weight
