"""Context encoder: chemistry and imaging conditions as a 23-number vector (paper §3, Fig. 3a).

Layout, in the paper's order::

    [ M: K L M N O P | X: K L M N O P | D: K L M N O P | HAADF MAADF | 60 80 100 keV ]
       shell populations / Z (18)                         detector (2)  energy (3)

Each 6-block is the element's ground-state shell populations divided by its atomic
number, so it sums to 1. The paper's worked example for W (``2, 8, 18, 32, 18, 8``)
is not W's configuration (it sums to 86); we use the physically correct
``2, 8, 18, 32, 12, 2`` (sums to Z = 74). An undoped host (``dopant=None``) gets an
all-zero dopant block, which no doped training context has.
"""

from __future__ import annotations

import numpy as np

from ctxlib.materials.catalog import DETECTORS, ENERGIES_KEV, check_detector, check_energy, parse_formula
from ctxlib.materials.elements import SHELLS, TRANSITION_METALS, atomic_number, check_element, shell_populations

CONTEXT_FEATURE_NAMES: tuple[str, ...] = (
    tuple(f"{site}:{shell}" for site in ("M", "X", "D") for shell in SHELLS)
    + tuple(f"det:{name}" for name in DETECTORS)
    + tuple(f"E:{energy}keV" for energy in ENERGIES_KEV)
)

#: Slices of the context vector, by block.
CONTEXT_BLOCKS: dict[str, slice] = {
    "M": slice(0, 6),
    "X": slice(6, 12),
    "D": slice(12, 18),
    "detector": slice(18, 20),
    "energy": slice(20, 23),
}


def shell_fractions(symbol: str) -> np.ndarray:
    """Shell populations (K..P) of an element divided by its atomic number; sums to 1."""
    return np.asarray(shell_populations(symbol), dtype=np.float64) / atomic_number(symbol)


def encode_context(host: str, dopant: str | None, detector: str, energy_kev: int) -> np.ndarray:
    """Encode an imaging context as the paper's 23-number context vector.

    Parameters
    ----------
    host : str
        MX2 formula, e.g. ``"WSe2"``.
    dopant : str or None
        Substitutional dopant on the metal site, e.g. ``"Cr"``; ``None`` for an undoped
        host (zero dopant block).
    detector : {"HAADF", "MAADF"}
        Annular detector.
    energy_kev : {60, 80, 100}
        Beam energy, keV.

    Returns
    -------
    numpy.ndarray, shape (23,), float64
        Named by :data:`CONTEXT_FEATURE_NAMES`.

    Raises
    ------
    ValueError
        For a formula that is not MX2, an unknown element, a dopant equal to the host
        metal, or a detector or energy outside the catalog; the message names the bad
        value and the allowed ones.
    """
    metal, chalcogen = parse_formula(host)
    if dopant is None:
        dopant_block = np.zeros(len(SHELLS))
    else:
        check_element(dopant, TRANSITION_METALS, role="dopant")
        if dopant == metal:
            raise ValueError(f"dopant {dopant!r} equals the host metal of {host}; a dopant must differ from {metal!r}")
        dopant_block = shell_fractions(dopant)
    detector_block = np.array([name == check_detector(detector) for name in DETECTORS], dtype=np.float64)
    energy_block = np.array([e == check_energy(energy_kev) for e in ENERGIES_KEV], dtype=np.float64)
    return np.concatenate(
        [shell_fractions(metal), shell_fractions(chalcogen), dopant_block, detector_block, energy_block]
    )
