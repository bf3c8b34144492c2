"""Any microscope to the nearest trained context, by a stated rule.

In: the beam energy (30-300 keV) and, optionally, the annular detector's collection angles
and the probe's convergence angle (mrad). Out: the trained energy and detector the
classifier is told (:data:`ctxlib.materials.catalog.ENERGIES_KEV`, :data:`~ctxlib.materials.catalog.DETECTORS`),
and the rule that chose them, for the output's sidecar.

The rules:

* **energy**: the trained energy whose relativistic electron wavelength is nearest the
  stated one's. The wavelength sets the probe's size (about ``0.61 lambda / alpha``) and the
  scattering angles, the two ways the energy reaches an image; 40 keV goes to 60, 300 to 100.
* **detector**: by the inner collection angle, which decides whether an annular image is
  Z-contrast (HAADF, inner angle well beyond the bright-field disc) or carries strain and
  diffraction contrast (MAADF): HAADF where the inner angle is at least the geometric mean
  of the two trained inner angles (``sqrt(30 x 68)`` = 45 mrad), else MAADF.
* **convergence angle**: recorded, not mapped: the training blur already spans probes of
  0.2-0.6 Angstrom (:class:`ctxlib.simulation.augmentation.AugmentationSettings`).

Nothing here was trained on a continuous energy or angle (the paper's future work): the
book measures what the nearest-context rule costs on stand-ins made away from the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ctxlib.materials.catalog import DETECTORS, ENERGIES_KEV, check_detector
from ctxlib.simulation.scans import electron_wavelength

#: Beam energies accepted, keV (inclusive).
ENERGY_RANGE_KEV: tuple[float, float] = (30.0, 300.0)
#: Inner angle, mrad, from which a detector counts as HAADF.
HAADF_FROM_MRAD: float = float(np.sqrt(DETECTORS["MAADF"][0] * DETECTORS["HAADF"][0]))


@dataclass(frozen=True)
class MicroscopeMapping:
    """The trained context a stated microscope is classified as.

    Attributes
    ----------
    energy_kev : int
        The trained energy used, keV.
    detector : str
        The trained detector used.
    stated : dict
        What was stated: ``energy_kev``, and ``detector``, ``detector_angles_mrad`` and
        ``convergence_mrad`` where given.
    rules : list of str
        The rules applied, one sentence each (empty where the stated context is a trained one).
    """

    energy_kev: int
    detector: str
    stated: dict
    rules: list[str]

    def record(self) -> dict:
        """For the output's sidecar: what was stated, what was used, and why."""
        return {"stated": self.stated, "used": {"energy_kev": self.energy_kev, "detector": self.detector},
                "rules": self.rules}


def nearest_trained_context(energy_kev: float, *, detector: str | None = None,
                            angles_mrad: tuple[float, float] | None = None,
                            convergence_mrad: float | None = None) -> MicroscopeMapping:
    """Map a stated microscope to the nearest trained energy and detector (rules in the module docstring).

    Parameters
    ----------
    energy_kev : float
        Beam energy, keV, within :data:`ENERGY_RANGE_KEV`.
    detector : {"HAADF", "MAADF"}, optional
        A trained detector by name. Give this or ``angles_mrad``, not both.
    angles_mrad : (float, float), optional
        Inner and outer collection semi-angles of the annular detector, mrad.
    convergence_mrad : float, optional
        Probe convergence semi-angle, mrad (recorded only).

    Raises
    ------
    ValueError
        An energy outside 30-300 keV, angles that are not an annulus (negative, or inner >=
        outer), a convergence angle that is not positive, or neither or both of ``detector``
        and ``angles_mrad``; the message names the value and what is accepted.

    Examples
    --------
    >>> mapping = nearest_trained_context(40, angles_mrad=(50, 200))
    >>> mapping.energy_kev, mapping.detector
    (60, 'HAADF')
    """
    low, high = ENERGY_RANGE_KEV
    if not (np.isfinite(energy_kev) and low <= energy_kev <= high):
        raise ValueError(f"beam energy {energy_kev} keV is outside {low:.0f}-{high:.0f} keV")
    if (detector is None) == (angles_mrad is None):
        raise ValueError("give the detector by name (HAADF or MAADF) or by its inner and outer angles in mrad, "
                         "one of the two")
    stated: dict = {"energy_kev": float(energy_kev)}
    rules = []
    wavelengths = np.array([electron_wavelength(e) for e in ENERGIES_KEV])
    used_energy = ENERGIES_KEV[int(np.argmin(np.abs(wavelengths - electron_wavelength(energy_kev))))]
    if used_energy != energy_kev:
        rules.append(f"{energy_kev:g} keV classified as {used_energy} keV, the trained energy with the nearest "
                     f"electron wavelength ({electron_wavelength(energy_kev) * 100:.2f} vs "
                     f"{electron_wavelength(used_energy) * 100:.2f} pm)")
    if angles_mrad is not None:
        inner, outer = (float(v) for v in angles_mrad)
        if not (np.isfinite(inner) and np.isfinite(outer) and 0 <= inner < outer):
            raise ValueError(f"detector angles {inner:g}-{outer:g} mrad are not an annulus: "
                             "need 0 <= inner < outer, in mrad")
        stated["detector_angles_mrad"] = [inner, outer]
        detector = "HAADF" if inner >= HAADF_FROM_MRAD else "MAADF"
        rules.append(f"a {inner:g}-{outer:g} mrad detector classified as {detector} "
                     f"({DETECTORS[detector][0]:g}-{DETECTORS[detector][1]:g} mrad): inner angle "
                     f"{'at least' if detector == 'HAADF' else 'below'} {HAADF_FROM_MRAD:.0f} mrad")
    else:
        stated["detector"] = check_detector(detector)
    if convergence_mrad is not None:
        if not (np.isfinite(convergence_mrad) and convergence_mrad > 0):
            raise ValueError(f"convergence angle {convergence_mrad} mrad must be a positive number of mrad")
        stated["convergence_mrad"] = float(convergence_mrad)
    return MicroscopeMapping(used_energy, detector, stated, rules)
