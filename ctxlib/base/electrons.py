"""The beam's electrons: their relativistic wavelength, the one physics constant every stage uses."""

from __future__ import annotations

import numpy as np


def electron_wavelength(energy_kev: float) -> float:
    """Relativistic electron wavelength, Angstrom (CODATA constants of ``ase.units``).

    Parameters
    ----------
    energy_kev : float
        Beam energy, keV (> 0).

    Examples
    --------
    >>> round(electron_wavelength(80), 5)
    0.04176
    """
    if not energy_kev > 0:
        raise ValueError(f"energy_kev = {energy_kev!r} must be > 0 keV")
    from ase import units

    energy = energy_kev * 1e3 * units._e
    mc2 = units._me * units._c**2
    return float(units._hplanck * units._c / np.sqrt(energy * (2 * mc2 + energy)) * 1e10)
