from dataclasses import replace

import abtem
import numpy as np
import pytest
from abtem.core.energy import energy2wavelength

from ctxlib.materials.catalog import DETECTORS
from ctxlib.base.electrons import electron_wavelength
from ctxlib.materials.motifs import host_cell, motif_structure
from ctxlib.simulation.scans import (
    MotifSimulation,
    _slice_thicknesses,
    column_species,
    fft_friendly,
    periodic_fields,
    potential_sampling,
    simulate_motif,
)


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


def test_unknown_host_is_refused():
    with pytest.raises(ValueError, match="host 'GaSe2' is not in the catalog; allowed: TiS2"):
        host_cell("GaSe2")


def test_fft_friendly_sizes():
    assert [fft_friendly(n) for n in (1, 7, 11, 201, 234, 257)] == [1, 8, 12, 216, 240, 270]


def test_one_slice_per_atomic_plane_puts_planes_at_slice_entrances():
    atoms = motif_structure("WSe2", "Ti", "M[X2,X2,X2]")
    edges = np.cumsum((0,) + _slice_thicknesses(atoms, None))
    planes = np.unique(np.round(atoms.positions[:, 2], 3))
    assert len(edges) == len(planes) + 2 and edges[-1] == pytest.approx(atoms.cell[2, 2])
    assert np.allclose(edges[1:-1], planes - 0.01)
    assert _slice_thicknesses(atoms, 0.5) == 0.5


def test_prism_equals_multislice_and_the_centre_is_a_scan_point():
    """The library's PRISM scan reproduces plain multislice (small, coarse case for speed)."""
    fast = MotifSimulation(scan_sampling=0.6, window=1.0)
    prism = simulate_motif("WSe2", "Ti", "M[X2,X2,X2]", 60, settings=fast)
    plain = simulate_motif("WSe2", "Ti", "M[X2,X2,X2]", 60, settings=replace(fast, method="multislice"))
    assert np.allclose(prism.images, plain.images, rtol=1e-4, atol=1e-6 * plain.images.max())
    haadf = prism.images[0]
    n = haadf.shape[0]
    assert haadf.shape == (n, n) and n % 2 == 1
    # every W column is a scan point (even steps per host cell): the centre W is as bright as the brightest
    assert haadf[n // 2, n // 2] == pytest.approx(haadf.max(), rel=1e-4)
    doped = simulate_motif("WSe2", "Ti", "D[X2,X2,X2]", 60, settings=fast).images[0]
    assert doped[n // 2, n // 2] < 0.8 * doped.max()  # Ti (Z = 22) in place of W (Z = 74)
    background, mean = prism.levels[0]
    assert 0 <= background < mean


def test_bad_simulation_settings():
    with pytest.raises(ValueError, match="simulation method 'bloch' is not in the catalog; allowed: prism, multislice"):
        MotifSimulation(method="bloch")
    with pytest.raises(ValueError, match="device='tpu' is not allowed: use 'cpu', 'cuda'"):
        simulate_motif("WSe2", "Ti", 0, 80, device="tpu")


def test_periodic_fields_interpolate_a_band_limited_cell_exactly_and_tile_it():
    """A periodic cell of two Fourier modes sampled at 0.2 A is the same function sampled at 0.1 A over 2 x 3 cells."""

    def wave(x, y):  # a 4 x 6 A cell
        return 1 + np.cos(2 * np.pi * x / 4) + 0.5 * np.sin(2 * np.pi * 2 * y / 6)

    x, y = np.meshgrid(np.arange(20) * 0.2, np.arange(30) * 0.2, indexing="ij")
    images = {"MAADF": abtem.Images(wave(x, y), sampling=(0.2, 0.2)),
              "HAADF": abtem.Images(2 * wave(x, y), sampling=(0.2, 0.2))}
    fields = periodic_fields(images, sampling=0.1, tiles=(2, 3))
    assert list(fields) == ["MAADF", "HAADF"]
    assert fields["HAADF"].shape == (80, 180) and fields["HAADF"].sampling == pytest.approx((0.1, 0.1))
    x, y = np.meshgrid(np.arange(80) * 0.1, np.arange(180) * 0.1, indexing="ij")
    np.testing.assert_allclose(fields["MAADF"].array, wave(x, y), atol=1e-5)
    np.testing.assert_allclose(fields["HAADF"].array, 2 * wave(x, y), atol=1e-5)
