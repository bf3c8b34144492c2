"""The 34 local configurations ("motifs") of a doped 1H MX2 host (paper §4, Figs. 4c, S7).

A motif is a centre column and the states of its three nearest neighbours, which sit
120 degrees apart on the other sublattice (NOTES reconstruction of Fig. S7):

* chalcogen-site centre, X2 / single vacancy / double vacancy (labels 0, 1, 2), with
  three metal-site neighbours, each M or D: 4 arrangements up to rotation -> 12;
* metal-site centre, M / D (labels 3, 4), with three chalcogen-site neighbours, each
  X2, single or double vacancy: 11 arrangements up to C3 rotation (the all-different
  one comes in two mirror forms) -> 22.

Everything beyond the first neighbours is pristine host. A single vacancy removes the
beam-entrance chalcogen of its column (smallest z: abTEM's beam travels along +z); a
dopant substitutes a metal atom.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ctxlib.materials.catalog import check_dopant, check_host

if TYPE_CHECKING:
    from ase import Atoms

#: Class names in label order (paper §4): X2, single X vacancy, double X vacancy, M, D.
CLASS_NAMES: tuple[str, ...] = ("X2", "VacX", "VacX2", "M", "D")
#: States of a chalcogen-site column and of a metal-site column.
CHALCOGEN_STATES: tuple[str, ...] = ("X2", "VacX", "VacX2")
METAL_STATES: tuple[str, ...] = ("M", "D")
#: Supercell of the motif structures, in orthogonal cells (a x sqrt(3) a): 9.8 x 11.4 A
#: for WSe2, so the motif's periodic images sit >= 3 a from it (the error this leaves
#: is measured against a 5 x 3 cell in notebook 02).
MOTIF_REPEAT: tuple[int, int] = (3, 2)


def necklaces(states: tuple[str, ...], length: int = 3) -> list[tuple[str, ...]]:
    """Arrangements of ``states`` on ``length`` sites related by C_length rotation, one per class.

    The representative is the lexicographically smallest rotation (in ``states`` order).
    """
    rank = {s: i for i, s in enumerate(states)}
    found = []
    for seq in product(states, repeat=length):
        key = [rank[s] for s in seq]
        if all(key <= key[k:] + key[:k] for k in range(1, length)):
            found.append(seq)
    return found


@dataclass(frozen=True)
class Motif:
    """One local configuration.

    Attributes
    ----------
    centre : str
        State of the centre column (a class name).
    neighbours : tuple of str
        States of the three nearest neighbours, counter-clockwise from +x.
    """

    centre: str
    neighbours: tuple[str, str, str]

    @property
    def label(self) -> int:
        """Class label 0-4 (:data:`CLASS_NAMES` index)."""
        return CLASS_NAMES.index(self.centre)

    @property
    def metal_site(self) -> bool:
        """True for a metal-site centre (M or D)."""
        return self.centre in METAL_STATES

    @property
    def name(self) -> str:
        """e.g. ``"VacX[M,M,D]"``."""
        return f"{self.centre}[{','.join(self.neighbours)}]"


#: The 34 motifs: chalcogen-site centres first, in label order.
MOTIFS: tuple[Motif, ...] = tuple(
    [Motif(c, n) for c in CHALCOGEN_STATES for n in necklaces(METAL_STATES)]
    + [Motif(c, n) for c in METAL_STATES for n in necklaces(CHALCOGEN_STATES)]
)
MOTIF_NAMES: tuple[str, ...] = tuple(m.name for m in MOTIFS)
#: Motif whose full cell is the pristine lattice: the intensity reference of a context.
PRISTINE = MOTIF_NAMES.index("M[X2,X2,X2]")
#: The 14 motifs of an undoped host (no D at the centre or among the neighbours), by index;
#: their images do not depend on the dopant of the library file they are taken from.
UNDOPED_MOTIFS: tuple[int, ...] = tuple(k for k, m in enumerate(MOTIFS) if "D" not in (m.centre, *m.neighbours))


def host_cell(host: str, height: float | None = None) -> Atoms:
    """Orthogonal unit cell (6 atoms) of a 1H MX2 monolayer with the catalog lattice constant and height.

    Parameters
    ----------
    host : str
        Catalog host, e.g. ``"WSe2"``.
    height : float, optional
        X-X height, Angstrom, instead of the catalog's (to measure its effect).

    Returns
    -------
    ase.Atoms
        Cell ``a x sqrt(3) a`` in-plane, 2 Angstrom of vacuum above and below.
    """
    from abtem.atoms import orthogonalize_cell
    from ase.build import mx2

    spec = check_host(host)
    thickness = spec.height if height is None else height
    return orthogonalize_cell(mx2(host, kind="2H", a=spec.a, thickness=thickness, vacuum=2.0))


def motif_structure(
    host: str, dopant: str, motif: Motif | str | int, *, repeat: tuple[int, int] = MOTIF_REPEAT,
    height: float | None = None
) -> Atoms:
    """Build a motif as an ASE structure, its centre column in the middle of the cell.

    Parameters
    ----------
    host : str
        Catalog host, e.g. ``"WSe2"``.
    dopant : str
        Catalog dopant valid for the host (used only where the motif has a D).
    motif : Motif, str or int
        A motif, its name or its index in :data:`MOTIFS`.
    repeat : (int, int)
        Orthogonal cells along x and y.
    height : float, optional
        X-X height override, Angstrom (see :func:`host_cell`).

    Returns
    -------
    ase.Atoms
        Orthogonal periodic cell; ``info`` holds ``host``, ``dopant``, ``motif``,
        ``label`` and ``centre`` (x, y, Angstrom).
    """
    motif = resolve_motif(motif)
    check_dopant(host, dopant)
    spec = check_host(host)
    atoms = host_cell(host, height) * (repeat[0], repeat[1], 1)
    lengths = np.diag(atoms.cell)[:2]
    is_metal = np.array([s == spec.metal for s in atoms.get_chemical_symbols()])
    centre_pool = is_metal if motif.metal_site else ~is_metal
    xy = atoms.positions[:, :2]
    start = np.argmin(np.linalg.norm(np.where(centre_pool[:, None], xy, np.inf) - lengths / 2, axis=1))
    atoms.positions[:, :2] += lengths / 2 - xy[start]
    atoms.wrap()
    xy = atoms.positions[:, :2]
    delta = xy - lengths / 2
    distance = np.hypot(*delta.T)
    on_centre = distance < 0.1
    neighbour_pool = ~centre_pool & (distance > 0.1)
    nn = np.unique(np.round(distance[neighbour_pool], 3)).min()
    remove = []
    for k, state in enumerate(motif.neighbours):
        angle = np.deg2rad(_first_neighbour_angle(delta, neighbour_pool, distance, nn) + 120 * k)
        target = np.array([np.cos(angle), np.sin(angle)]) * nn
        column = neighbour_pool & (np.linalg.norm(delta - target, axis=1) < 0.1)
        remove += _apply_state(atoms, np.flatnonzero(column), state, dopant)
    remove += _apply_state(atoms, np.flatnonzero(on_centre), motif.centre, dopant)
    del atoms[sorted(remove)]
    atoms.info.update(host=host, dopant=dopant, motif=motif.name, label=motif.label, centre=tuple(lengths / 2))
    return atoms


def _first_neighbour_angle(delta, pool, distance, nn) -> float:
    """Smallest polar angle (degrees, in [0, 120)) among the nearest neighbours."""
    ring = pool & (np.abs(distance - nn) < 0.05)
    angles = np.mod(np.rad2deg(np.arctan2(delta[ring, 1], delta[ring, 0])), 120)
    return float(np.round(angles.min(), 6))


def _apply_state(atoms, column: np.ndarray, state: str, dopant: str) -> list[int]:
    """Set one column to ``state``; return the indices of atoms to delete."""
    if state in ("X2", "M"):
        return []
    if state == "D":
        atoms.symbols[column] = dopant
        return []
    by_height = column[np.argsort(atoms.positions[column, 2])]
    return [int(by_height[0])] if state == "VacX" else [int(i) for i in by_height]


def projected_columns(atoms: Atoms) -> dict[tuple[float, float], list[str]]:
    """Atoms grouped by projected column: in-cell (x, y), Angstrom, rounded to 0.01 -> symbols along the beam."""
    lengths = np.diag(atoms.cell)[:2]
    columns: dict[tuple[float, float], list[str]] = {}
    for position, symbol in zip(atoms.positions, atoms.get_chemical_symbols()):
        columns.setdefault(tuple(np.round(np.mod(position[:2], lengths), 2)), []).append(symbol)
    return columns


def resolve_motif(motif: Motif | str | int) -> Motif:
    """Accept a :class:`Motif`, its name or its index; raise a ValueError naming the allowed ones."""
    if isinstance(motif, Motif):
        return motif
    if isinstance(motif, (int, np.integer)) and 0 <= motif < len(MOTIFS):
        return MOTIFS[motif]
    if motif in MOTIF_NAMES:
        return MOTIFS[MOTIF_NAMES.index(motif)]
    raise ValueError(f"motif {motif!r} is unknown; allowed: an index 0-{len(MOTIFS) - 1} or one of {', '.join(MOTIF_NAMES)}")


def write_motif_cifs(host: str, dopant: str, directory: str | Path) -> list[Path]:
    """Write the 34 motif structures of one doped host as CIF files, ``NN_<name>.cif``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, motif in enumerate(MOTIFS):
        path = directory / f"{index:02d}_{motif.name.replace(',', '-').replace('[', '_').rstrip(']')}.cif"
        motif_structure(host, dopant, motif).write(path, format="cif")
        paths.append(path)
    return paths
