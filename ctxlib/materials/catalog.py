"""The materials and imaging catalog: hosts, dopants, beam energies and detectors.

Everything the paper fixes about *what* is simulated lives here, once:

* imaging (paper §8.2): 60, 80 and 100 keV; probe convergence semi-angle 31 mrad;
  HAADF 68-280 mrad and MAADF 30-120 mrad. The MAADF inner angle lies inside the
  bright-field disc (31 mrad), so a little of the unscattered beam reaches it; we keep
  the paper's angles (see the book's reproduction notes).
* materials (paper §4, NOTES): 13 1H hosts (``data/hosts.csv``: lattice constant and X-X
  height, each with its source in ``data/sources.csv``) x 10 dopants, minus every pairing whose
  dopant shares a period with the host metal (their Z are too close for Z-contrast),
  leaves 96 doped hosts. The pairing rule is applied in code (:func:`doped_hosts`).
* trained pairs (:func:`trained_pairs`): the 96 doped hosts and the 13 hosts without a
  dopant (``dopant=None``, named ``"WSe2-none"``), the commonest real sample; an undoped
  host has no D class.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ctxlib.base.paths import DATA
from ctxlib.materials.elements import CHALCOGENS, TRANSITION_METALS, check_element, period

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
        In-plane lattice constant, Angstrom.
    height : float
        Vertical X-X distance within the layer, Angstrom.
    a_source, height_source : str
        Keys into ``data/sources.csv``.
    """

    formula: str
    metal: str
    chalcogen: str
    a: float
    height: float
    a_source: str
    height_source: str


#: The host table (lattice constants, X-X heights and their sources).
HOSTS_TABLE = DATA / "hosts.csv"
#: What each source key in the host table stands for.
SOURCES_TABLE = DATA / "sources.csv"

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


def _read_hosts(path: Path = HOSTS_TABLE) -> dict[str, Host]:
    """Read the host table; an empty height means the ideal trigonal prism, ``height = a``."""
    table = pd.read_csv(path, keep_default_na=False)
    hosts = {}
    for row in table.itertuples(index=False):
        metal, chalcogen = parse_formula(row.formula)
        height = float(row.height_angstrom) if row.height_angstrom != "" else float(row.a_angstrom)
        hosts[row.formula] = Host(
            row.formula, metal, chalcogen, float(row.a_angstrom), height, row.a_source, row.height_source
        )
    return hosts


HOSTS: dict[str, Host] = _read_hosts()


def host_table() -> pd.DataFrame:
    """The 13 hosts with lattice constant, X-X height (Angstrom) and the source of each, for display."""
    sources = pd.read_csv(SOURCES_TABLE).set_index("key")["description"]
    rows = [
        {
            "host": h.formula, "a (A)": h.a, "X-X height (A)": h.height,
            "a source": sources[h.a_source], "height source": sources[h.height_source],
        }
        for h in HOSTS.values()
    ]
    return pd.DataFrame(rows).set_index("host")


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


#: The dopant token of an undoped host in pair names and on the command line.
UNDOPED = "none"


def undoped_hosts() -> list[tuple[str, None]]:
    """Every host without a dopant (13): ``(host formula, None)``."""
    return [(formula, None) for formula in HOSTS]


def trained_pairs() -> list[tuple[str, str | None]]:
    """The (host, dopant) pairs the classifiers are trained on: the 96 doped hosts, then the 13 undoped ones.

    The doped hosts keep their indices (0-95) whether or not the undoped ones follow, so a
    doped host's seed and features do not change.
    """
    return doped_hosts() + undoped_hosts()


def pair_name(host: str, dopant: str | None) -> str:
    """The file and record name of a pair, ``"WSe2-Ti"`` or ``"WSe2-none"``.

    >>> pair_name("WSe2", None)
    'WSe2-none'
    """
    return f"{host}-{UNDOPED if dopant is None else dopant}"


def parse_pair_name(name: str) -> tuple[str, str | None]:
    """``(host, dopant)`` of a pair name (:func:`pair_name`), ``dopant=None`` for ``"-none"``.

    >>> parse_pair_name("MoS2-none"), parse_pair_name("WSe2-Ti")
    (('MoS2', None), ('WSe2', 'Ti'))
    """
    host, sep, dopant = name.partition("-")
    if not sep or not host or not dopant or "-" in dopant:
        raise ValueError(f"{name!r} is not a pair name; expected HOST-DOPANT, e.g. 'WSe2-Ti' or 'WSe2-{UNDOPED}'")
    return host, None if dopant == UNDOPED else dopant


def check_host(host: str) -> Host:
    """Return the catalog :class:`Host` named ``host``, else raise a ValueError listing the hosts."""
    return HOSTS[check_choice(host, tuple(HOSTS), "host")]


def check_dopant(host: str, dopant: str) -> str:
    """Validate a dopant for a host: in the catalog and not in the host metal's period."""
    check_choice(dopant, DOPANTS, "dopant")
    if not dopant_is_visible(check_host(host), dopant):
        allowed = [d for h, d in doped_hosts() if h == host]
        raise ValueError(
            f"dopant {dopant!r} shares the period of {host}'s metal, so the catalog drops the pairing "
            f"(too little Z contrast); allowed for {host}: {', '.join(allowed)}"
        )
    return dopant


def pairing_table() -> pd.DataFrame:
    """Hosts x dopants, True where the pairing is kept (Fig. S3/S6)."""
    return pd.DataFrame(
        [[dopant_is_visible(h, d) for d in DOPANTS] for h in HOSTS.values()], index=list(HOSTS), columns=list(DOPANTS)
    )
