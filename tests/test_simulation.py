import numpy as np
import pytest
from abtem.core.energy import energy2wavelength

from ctxlib.catalog import DETECTORS
from ctxlib.simulation import column_species, electron_wavelength, host_cell, potential_sampling


@pytest.mark.parametrize("energy", [60, 80, 100, 300])
def test_wavelength_matches_abtem(energy):
    assert electron_wavelength(energy) == pytest.approx(energy2wavelength(energy * 1e3), rel=1e-6)


def test_wavelength_at_80_kev():
    assert electron_wavelength(80) == pytest.approx(0.04176, abs=1e-5)  # textbook value, Angstrom


@pytest.mark.parametrize("energy", [60, 80, 100])
def test_sampling_keeps_280_mrad(energy):
    """abTEM's own antialias cutoff at our sampling must reach beyond the HAADF outer angle, by little."""
    import abtem

    sampling = potential_sampling(energy, DETECTORS["HAADF"][1])
    probe = abtem.Probe(energy=energy * 1e3, semiangle_cutoff=31, sampling=sampling, extent=10)
    assert 280 < min(probe.cutoff_angles) < 300


def test_column_species_of_wse2():
    cell = host_cell("WSe2")
    assert len(cell) == 6
    tungsten = cell.positions[[a.symbol == "W" for a in cell]][0, :2]
    selenium = cell.positions[[a.symbol == "Se" for a in cell]][0, :2]
    lengths = np.diag(cell.cell)[:2]
    names = column_species(cell, np.array([tungsten, selenium + lengths, tungsten + [0.1, 0.1], (tungsten + selenium) / 2 + [0, 1.5]]))
    assert names[:3].tolist() == ["W", "Se2", "W"]


def test_host_without_height_is_refused():
    with pytest.raises(ValueError, match="no X-X height for MoS2"):
        host_cell("MoS2")
    with pytest.raises(ValueError, match="'GaSe2' is not in the catalog"):
        host_cell("GaSe2")
