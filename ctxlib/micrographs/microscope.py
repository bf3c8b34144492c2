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
* **site flags**: the flag ``[1, 0]`` marks the brighter sublattice of an image, and the models
  learned which sublattice that is at each trained context. Where a microscope reverses the
  order (WSe2 in HAADF at 40 keV, or with a 50-200 mrad detector, has Se2 columns brighter
  than W, while at the trained 60 or 80 keV W is the brighter), the flags must follow the
  chemistry, not the brightness: with the host named, the metal and X2 columns of the
  pristine host are simulated at the stated and at the used microscope
  (:func:`ctxlib.simulation.scans.pristine_column_intensities`) and, where their order
  differs, the image's brighter sublattice gets the dimmer one's flag
  (:attr:`MicroscopeMapping.sites_reversed`).

Nothing here was trained on a continuous energy or angle (the paper's future work): the
book measures what the nearest-context rule costs on stand-ins made away from the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ctxlib.materials.catalog import CONVERGENCE_MRAD, DETECTORS, ENERGIES_KEV, check_detector
from ctxlib.base.electrons import electron_wavelength
from ctxlib.simulation.scans import pristine_column_intensities

#: Beam energies accepted, keV (inclusive).
ENERGY_RANGE_KEV: tuple[float, float] = (30.0, 300.0)
#: Metal / X2 signal ratios closer to 1 than this factor leave the image's brightness a weak guide to which
#: sublattice is metal (a warning rule; WSe2 with a 50-200 mrad detector at 80 keV: 0.93).
NEAR_EQUAL_RATIO: float = 1.1
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
    sites_reversed : bool
        Whether the stated microscope reverses the brighter sublattice of the used context, so
        that the image's brighter sublattice takes the dimmer one's site flag.
    contrast : dict
        Where it was simulated: the metal / X2 signal ratio of the pristine host at the
        ``stated`` and at the ``used`` microscope.
    """

    energy_kev: int
    detector: str
    stated: dict
    rules: list[str]
    sites_reversed: bool = False
    contrast: dict = field(default_factory=dict)

    def record(self) -> dict:
        """For the output's sidecar: what was stated, what was used, and why."""
        return {"stated": self.stated, "used": {"energy_kev": self.energy_kev, "detector": self.detector},
                "rules": self.rules, "sites_reversed": self.sites_reversed,
                "metal_to_x2_ratio": self.contrast}


def nearest_trained_context(energy_kev: float, *, detector: str | None = None,
                            angles_mrad: tuple[float, float] | None = None,
                            convergence_mrad: float | None = None, host: str | None = None) -> MicroscopeMapping:
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
        Probe convergence semi-angle, mrad (recorded, and used for the site-flag rule).
    host : str, optional
        Catalog host: where given and the stated microscope is not a trained one, the site-flag
        rule is applied (two small abTEM simulations, about a second each).

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
    mapping = MicroscopeMapping(used_energy, detector, stated, rules)
    return mapping if host is None or not _differs(mapping) else _with_site_rule(mapping, host)


def _differs(mapping: MicroscopeMapping) -> bool:
    """Whether the stated microscope is other than the trained context it is classified as."""
    stated = mapping.stated
    return (stated["energy_kev"] != mapping.energy_kev
            or tuple(stated.get("detector_angles_mrad", DETECTORS[mapping.detector])) != DETECTORS[mapping.detector]
            or stated.get("convergence_mrad", CONVERGENCE_MRAD) != CONVERGENCE_MRAD)


def _with_site_rule(mapping: MicroscopeMapping, host: str) -> MicroscopeMapping:
    """The mapping with the site-flag rule applied (module docstring): simulate both microscopes' contrast."""
    stated = mapping.stated
    metal, x2 = pristine_column_intensities(
        host, energy_kev=stated["energy_kev"],
        detector_angles=tuple(stated.get("detector_angles_mrad", DETECTORS[mapping.detector])),
        convergence_mrad=stated.get("convergence_mrad", CONVERGENCE_MRAD))
    used_metal, used_x2 = pristine_column_intensities(host, energy_kev=mapping.energy_kev,
                                                      detector_angles=DETECTORS[mapping.detector])
    contrast = {"stated": metal / x2, "used": used_metal / used_x2}
    reversed_ = (metal > x2) != (used_metal > used_x2)
    brighter = lambda ratio: "metal" if ratio > 1 else "X2"  # noqa: E731
    rule = (f"{host}: the {brighter(contrast['stated'])} columns are the brighter at the stated microscope "
            f"(metal / X2 = {contrast['stated']:.2f}) and the {brighter(contrast['used'])} columns at "
            f"{mapping.detector} {mapping.energy_kev} keV ({contrast['used']:.2f}), so the site flags "
            + ("are reversed: the image's brighter sublattice gets the dimmer one's flag" if reversed_ else
               "follow the image's brightness as trained"))
    rules = [*mapping.rules, rule]
    if abs(np.log(contrast["stated"])) < np.log(NEAR_EQUAL_RATIO):
        rules.append(f"warning: metal and X2 columns are nearly equally bright at the stated microscope "
                     f"({contrast['stated']:.2f}), so which sublattice is metal is read from a small difference that "
                     f"defocus or noise can reverse in parts of the image; check a few columns by eye")
    return MicroscopeMapping(mapping.energy_kev, mapping.detector, mapping.stated, rules, bool(reversed_), contrast)
