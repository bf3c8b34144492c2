"""Ground-state electron shell populations of the elements the encoder may use.

The context vector describes each element by how its Z electrons fill the K, L, M,
N, O and P shells (principal quantum numbers n = 1..6). Populations are derived here
from each element's ground-state electron configuration, written as a noble-gas core
plus valence sub-shells (e.g. W: ``[Xe] 4f14 5d4 6s2`` -> K2 L8 M18 N32 O12 P2), so
the atomic number and the period follow from the same record and cannot disagree.

Only chalcogens (S, Se, Te) and transition metals of periods 4-6 are listed: these
are the only elements a 1H MX2 host or its substitutional dopant can be made of.
"""

from __future__ import annotations

import re
from functools import lru_cache

SHELLS = ("K", "L", "M", "N", "O", "P")

_NOBLE_CORES = {
    "He": "1s2",
    "Ne": "[He] 2s2 2p6",
    "Ar": "[Ne] 3s2 3p6",
    "Kr": "[Ar] 3d10 4s2 4p6",
    "Xe": "[Kr] 4d10 5s2 5p6",
}

CHALCOGENS = ("S", "Se", "Te")

#: Ground-state configurations (NIST atomic spectra database conventions).
CONFIGURATIONS = {
    # chalcogens
    "S": "[Ne] 3s2 3p4",
    "Se": "[Ar] 3d10 4s2 4p4",
    "Te": "[Kr] 4d10 5s2 5p4",
    # 3d transition metals
    "Sc": "[Ar] 3d1 4s2",
    "Ti": "[Ar] 3d2 4s2",
    "V": "[Ar] 3d3 4s2",
    "Cr": "[Ar] 3d5 4s1",
    "Mn": "[Ar] 3d5 4s2",
    "Fe": "[Ar] 3d6 4s2",
    "Co": "[Ar] 3d7 4s2",
    "Ni": "[Ar] 3d8 4s2",
    "Cu": "[Ar] 3d10 4s1",
    "Zn": "[Ar] 3d10 4s2",
    # 4d transition metals
    "Y": "[Kr] 4d1 5s2",
    "Zr": "[Kr] 4d2 5s2",
    "Nb": "[Kr] 4d4 5s1",
    "Mo": "[Kr] 4d5 5s1",
    "Tc": "[Kr] 4d5 5s2",
    "Ru": "[Kr] 4d7 5s1",
    "Rh": "[Kr] 4d8 5s1",
    "Pd": "[Kr] 4d10",
    "Ag": "[Kr] 4d10 5s1",
    "Cd": "[Kr] 4d10 5s2",
    # 5d transition metals
    "Hf": "[Xe] 4f14 5d2 6s2",
    "Ta": "[Xe] 4f14 5d3 6s2",
    "W": "[Xe] 4f14 5d4 6s2",
    "Re": "[Xe] 4f14 5d5 6s2",
    "Os": "[Xe] 4f14 5d6 6s2",
    "Ir": "[Xe] 4f14 5d7 6s2",
    "Pt": "[Xe] 4f14 5d9 6s1",
    "Au": "[Xe] 4f14 5d10 6s1",
    "Hg": "[Xe] 4f14 5d10 6s2",
}

TRANSITION_METALS = tuple(s for s in CONFIGURATIONS if s not in CHALCOGENS)

_SUBSHELL = re.compile(r"^(\d)([spdf])(\d+)$")


def _expand(configuration: str) -> list[tuple[int, int]]:
    """Return (principal quantum number, electrons) for every sub-shell, core included."""
    terms: list[tuple[int, int]] = []
    for token in configuration.split():
        if token.startswith("["):
            terms += _expand(_NOBLE_CORES[token.strip("[]")])
            continue
        match = _SUBSHELL.match(token)
        if match is None:
            raise ValueError(f"cannot parse sub-shell {token!r} in {configuration!r}")
        terms.append((int(match.group(1)), int(match.group(3))))
    return terms


def check_element(symbol: str, allowed: tuple[str, ...] | None = None, *, role: str = "element") -> str:
    """Return ``symbol`` if it is a known element (and in ``allowed``), else raise.

    Raises
    ------
    ValueError
        Naming the bad symbol and the allowed ones.
    """
    allowed = tuple(CONFIGURATIONS) if allowed is None else allowed
    if symbol not in allowed:
        raise ValueError(f"unknown {role} {symbol!r}; allowed: {', '.join(allowed)}")
    return symbol


@lru_cache(maxsize=None)
def shell_populations(symbol: str) -> tuple[int, int, int, int, int, int]:
    """Electrons in the K, L, M, N, O, P shells of the neutral ground-state atom.

    Parameters
    ----------
    symbol : str
        Element symbol, e.g. ``"W"``.

    Returns
    -------
    tuple of 6 int
        Shell populations, zero-padded to six shells; they sum to Z.
    """
    check_element(symbol)
    counts = [0] * len(SHELLS)
    for n, electrons in _expand(CONFIGURATIONS[symbol]):
        counts[n - 1] += electrons
    return tuple(counts)  # type: ignore[return-value]


def atomic_number(symbol: str) -> int:
    """Atomic number Z (the total electron count of the neutral atom)."""
    return sum(shell_populations(symbol))


_CORE_PERIOD = {"He": 1, "Ne": 2, "Ar": 3, "Kr": 4, "Xe": 5}


def period(symbol: str) -> int:
    """Period (row) of the periodic table: one past the period of the noble-gas core.

    The outermost occupied shell is not always the period: Pd (``[Kr] 4d10``) has no
    5s electron yet sits in period 5.
    """
    check_element(symbol)
    core = CONFIGURATIONS[symbol].split()[0].strip("[]")
    return _CORE_PERIOD[core] + 1
