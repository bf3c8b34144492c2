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

from ctxlib.materials.catalog import DETECTORS, ENERGIES_KEV, parse_formula
from ctxlib.materials.elements import SHELLS, atomic_number, shell_populations
from ctxlib.materials.imaging import ImagingContext

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


def encode_context(context: ImagingContext) -> np.ndarray:
    """Encode an imaging context as the paper's 23-number context vector.

    Parameters
    ----------
    context : ImagingContext
        Host, dopant (``None`` for an undoped host: zero dopant block), detector and beam
        energy, checked when the context was made (a bad value never reaches here).

    Returns
    -------
    numpy.ndarray, shape (23,), float64
        Named by :data:`CONTEXT_FEATURE_NAMES`.

    Examples
    --------
    >>> encode_context(ImagingContext("WSe2", "Cr", detector="HAADF", energy_kev=80))[18:].tolist()
    [1.0, 0.0, 0.0, 1.0, 0.0]
    """
    metal, chalcogen = parse_formula(context.host)
    dopant_block = np.zeros(len(SHELLS)) if context.dopant is None else shell_fractions(context.dopant)
    detector_block = np.array([name == context.detector for name in DETECTORS], dtype=np.float64)
    energy_block = np.array([e == context.energy_kev for e in ENERGIES_KEV], dtype=np.float64)
    return np.concatenate(
        [shell_fractions(metal), shell_fractions(chalcogen), dopant_block, detector_block, energy_block]
    )
