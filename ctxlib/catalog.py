"""The materials and imaging catalog: hosts, dopants, beam energies and detectors.

Everything the paper fixes about *what* is simulated lives here, once:

* imaging (paper §8.2): 60, 80 and 100 keV; probe convergence semi-angle 31 mrad;
  HAADF 68-280 mrad and MAADF 30-120 mrad. The MAADF inner angle lies inside the
  bright-field disc (31 mrad), so a little of the unscattered beam reaches it; we keep
  the paper's angles (see the book's reproduction notes).
* materials (paper §4, NOTES): 13 1H hosts x 10 dopants, minus every pairing whose
  dopant shares a period with the host metal (their Z are too close for Z-contrast),
  leaves 96 doped hosts. The pairing rule is applied in code (:func:`doped_hosts`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .elements import CHALCOGENS, TRANSITION_METALS, check_element, period

#: Beam energies of the paper, keV, in the order of the context one-hot block.
ENERGIES_KEV: tuple[int, ...] = (60, 80, 100)

#: Annular detectors, (inner, outer) collection semi-angles in mrad, in the order of
#: the context one-hot block.
DETECTORS: dict[str, tuple[float, float]] = {"HAADF": (68.0, 280.0), "MAADF": (30.0, 120.0)}

#: Probe convergence semi-angle, mrad.
CONVERGENCE_MRAD: float = 31.0


@dataclass(frozen=True)
class Host:
    """A 1H monolayer MX2 host.

    Attributes
    ----------
    formula : str
        e.g. ``"WSe2"``.
    metal, chalcogen : str
        Element symbols M and X.
    a : float
        In-plane lattice constant, Angstrom (motif-learn package, same first author).
    height : float or None
        Vertical X-X distance within the layer, Angstrom; ``None`` where the catalog
        has no documented value yet.
    """

    formula: str
    metal: str
    chalcogen: str
    a: float
    height: float | None = None


#: In-plane lattice constants, Angstrom, as published with the motif-learn package.
_LATTICE_CONSTANTS = {
    "TiS2": 3.407, "VSe2": 3.350, "CrS2": 3.020, "NbS2": 3.330, "NbSe2": 3.440,
    "MoS2": 3.160, "MoSe2": 3.289, "MoTe2": 3.520, "TaS2": 3.360, "TaSe2": 3.440,
    "WS2": 3.153, "WSe2": 3.282, "WTe2": 3.477,
}

#: Vertical X-X distances, Angstrom, from bulk crystal structures:
#: 2H-WSe2, c = 12.960 A, z(Se) = 0.621 (Schutte, de Boer & Jellinek, J. Solid State
#: Chem. 70, 207 (1987)) -> (2 * (0.75 - 0.621)) * c = 3.34 A.
_CHALCOGEN_HEIGHTS = {"WSe2": 3.34}

#: The ten substitutional dopants (NOTES reconstruction of Figs. S3/S6).
DOPANTS: tuple[str, ...] = ("Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Nb", "Re")

_FORMULA = re.compile(r"^([A-Z][a-z]?)([A-Z][a-z]?)2$")


def parse_formula(formula: str) -> tuple[str, str]:
    """Split an MX2 formula into its metal and chalcogen symbols.

    Parameters
    ----------
    formula : str
        e.g. ``"WSe2"``.

    Returns
    -------
    (metal, chalcogen) : tuple of str

    Raises
    ------
    ValueError
        If the formula is not M X2 with M a period 4-6 transition metal and X one of
        S, Se, Te; the message names the bad part and what is allowed.
    """
    match = _FORMULA.match(formula) if isinstance(formula, str) else None
    if match is None:
        raise ValueError(
            f"host formula {formula!r} is not of the form MX2 (e.g. 'WSe2'): "
            f"M a transition metal ({', '.join(TRANSITION_METALS)}), X one of {', '.join(CHALCOGENS)}"
        )
    metal, chalcogen = match.groups()
    check_element(metal, TRANSITION_METALS, role="host metal")
    check_element(chalcogen, CHALCOGENS, role="chalcogen")
    return metal, chalcogen


HOSTS: dict[str, Host] = {
    formula: Host(formula, *parse_formula(formula), a=a, height=_CHALCOGEN_HEIGHTS.get(formula))
    for formula, a in _LATTICE_CONSTANTS.items()
}


def check_choice(value, allowed, what: str):
    """Return ``value`` if it is one of ``allowed``, else raise a ValueError naming both."""
    if value not in allowed:
        raise ValueError(f"{what} {value!r} is not in the catalog; allowed: {', '.join(map(str, allowed))}")
    return value


def check_energy(energy_kev: float) -> int:
    """Validate a beam energy in keV against :data:`ENERGIES_KEV`."""
    return check_choice(energy_kev, ENERGIES_KEV, "beam energy (keV)")


def check_detector(detector: str) -> str:
    """Validate a detector name against :data:`DETECTORS`."""
    return check_choice(detector, tuple(DETECTORS), "detector")


def dopant_is_visible(host: Host, dopant: str) -> bool:
    """The paper's pairing rule: a dopant is kept unless it shares the host metal's period."""
    return period(dopant) != period(host.metal)


def doped_hosts() -> list[tuple[str, str]]:
    """All (host formula, dopant) pairings that survive the same-period rule (96)."""
    return [(h.formula, d) for h in HOSTS.values() for d in DOPANTS if dopant_is_visible(h, d)]
