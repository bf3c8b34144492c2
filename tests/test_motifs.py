"""The 34 motifs: counts, labels, compositions and geometry of the ASE structures."""

from collections import Counter

import numpy as np
import pytest
from ase.io import read

from ctxlib.materials.catalog import HOSTS
from ctxlib.materials.motifs import (
    CHALCOGEN_STATES,
    CLASS_NAMES,
    METAL_STATES,
    MOTIF_NAMES,
    MOTIFS,
    PRISTINE,
    motif_structure,
    necklaces,
    resolve_motif,
    write_motif_cifs,
)


def test_necklace_counts_match_burnside():
    # Burnside for C3 acting on 3 sites: (k^3 + 2k) / 3 arrangements of k states
    assert len(necklaces(METAL_STATES)) == (2**3 + 2 * 2) // 3 == 4
    assert len(necklaces(CHALCOGEN_STATES)) == (3**3 + 2 * 3) // 3 == 11


def test_34_motifs_with_paper_labels():
    assert len(MOTIFS) == 34 and len(set(MOTIF_NAMES)) == 34
    assert Counter(m.label for m in MOTIFS) == {0: 4, 1: 4, 2: 4, 3: 11, 4: 11}
    assert CLASS_NAMES == ("X2", "VacX", "VacX2", "M", "D")
    assert MOTIF_NAMES[PRISTINE] == "M[X2,X2,X2]"


def _column_counts(atoms, metal, dopant):
    """Per-column atoms of the centre and of its three nearest neighbours."""
    centre = np.array(atoms.info["centre"])
    xy = atoms.positions[:, :2] - centre
    r = np.hypot(*xy.T)
    symbols = np.array(atoms.get_chemical_symbols())
    centre_col = symbols[r < 0.1]
    ring = (np.abs(r - HOSTS[atoms.info["host"]].a / np.sqrt(3)) < 0.05)
    columns = {}
    for (x, y), s in zip(np.round(xy[ring], 2), symbols[ring]):
        columns.setdefault((x, y), []).append(s)
    return list(centre_col), columns


@pytest.mark.parametrize("index", range(34))
def test_motif_structure_matches_its_name(index):
    motif = MOTIFS[index]
    atoms = motif_structure("WSe2", "Ti", motif)
    assert atoms.info["label"] == motif.label and atoms.info["motif"] == motif.name
    centre, ring = _column_counts(atoms, "W", "Ti")
    expected_centre = {"X2": ["Se", "Se"], "VacX": ["Se"], "VacX2": [], "M": ["W"], "D": ["Ti"]}[motif.centre]
    assert sorted(centre) == expected_centre
    states = []
    for symbols in ring.values():
        if symbols in (["W"], ["Ti"]):
            states.append("M" if symbols == ["W"] else "D")
        else:
            states.append({2: "X2", 1: "VacX"}[len(symbols)])
    states += ["VacX2"] * (3 - len(ring))  # emptied columns leave the ring
    assert Counter(states) == Counter(motif.neighbours)
    # nothing else differs from the pristine host: atom count = pristine - removed
    removed = {"X2": 0, "VacX": 1, "VacX2": 2, "M": 0, "D": 0}
    assert len(atoms) == 36 - removed[motif.centre] - sum(removed[s] for s in motif.neighbours)


def test_single_vacancy_removes_the_beam_entrance_atom():
    atoms = motif_structure("MoS2", "Ti", "VacX[M,M,M]")
    centre = np.array(atoms.info["centre"])
    on_centre = np.hypot(*(atoms.positions[:, :2] - centre).T) < 0.1
    sulfur_z = np.sort(atoms.positions[[s == "S" for s in atoms.get_chemical_symbols()], 2])
    assert atoms.positions[on_centre, 2] == pytest.approx(sulfur_z[-1])  # the exit-surface atom stays


def test_mirror_forms_put_the_single_vacancy_at_different_angles():
    a = motif_structure("WSe2", "Ti", "M[X2,VacX,VacX2]")
    b = motif_structure("WSe2", "Ti", "M[X2,VacX2,VacX]")
    assert sorted(a.get_chemical_symbols()) == sorted(b.get_chemical_symbols())
    ring_a = _column_counts(a, "W", "Ti")[1]
    ring_b = _column_counts(b, "W", "Ti")[1]
    angle = lambda ring: sorted(np.rad2deg(np.arctan2(y, x)) % 360 for (x, y), s in ring.items() if len(s) == 1)
    assert angle(ring_a) != angle(ring_b)


def test_cif_round_trip(tmp_path):
    paths = write_motif_cifs("NbSe2", "Ti", tmp_path)
    assert len(paths) == 34
    atoms = read(paths[5])
    reference = motif_structure("NbSe2", "Ti", 5)
    assert sorted(atoms.get_chemical_symbols()) == sorted(reference.get_chemical_symbols())
    assert np.allclose(atoms.cell.lengths(), reference.cell.lengths(), atol=1e-4)


@pytest.mark.parametrize("motif, message", [(34, "index 0-33"), ("X3[M,M,M]", "motif 'X3\\[M,M,M\\]' is unknown")])
def test_bad_motif(motif, message):
    with pytest.raises(ValueError, match=message):
        resolve_motif(motif)


def test_bad_pairing_is_refused():
    with pytest.raises(ValueError, match="dopant 'Re' shares the period of WSe2's metal"):
        motif_structure("WSe2", "Re", 0)
    with pytest.raises(ValueError, match="dopant 'Au' is not in the catalog"):
        motif_structure("WSe2", "Au", 0)
