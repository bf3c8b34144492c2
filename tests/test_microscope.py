"""Any microscope to the nearest trained context: the stated rules, and the values refused."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctxlib.materials.catalog import DETECTORS, ENERGIES_KEV
from ctxlib.micrographs.microscope import HAADF_FROM_MRAD, nearest_trained_context
from ctxlib.base.electrons import electron_wavelength


@given(st.floats(30, 300))
def test_the_energy_used_has_the_nearest_wavelength(energy):
    used = nearest_trained_context(energy, detector="HAADF").energy_kev
    gaps = {e: abs(electron_wavelength(e) - electron_wavelength(energy)) for e in ENERGIES_KEV}
    assert used in ENERGIES_KEV and gaps[used] == min(gaps.values())


def test_trained_contexts_map_to_themselves_without_a_rule_and_others_say_why():
    for energy in ENERGIES_KEV:
        for detector, angles in DETECTORS.items():
            assert nearest_trained_context(energy, detector=detector).rules == []
            mapping = nearest_trained_context(energy, angles_mrad=angles)
            assert (mapping.energy_kev, mapping.detector) == (energy, detector)
    mapping = nearest_trained_context(40, angles_mrad=(40, 200), convergence_mrad=25)
    assert (mapping.energy_kev, mapping.detector) == (60, "MAADF")
    assert mapping.record()["stated"] == {"energy_kev": 40.0, "detector_angles_mrad": [40.0, 200.0],
                                          "convergence_mrad": 25.0}
    assert "nearest electron wavelength" in mapping.rules[0] and "below 45 mrad" in mapping.rules[1]
    assert nearest_trained_context(300, angles_mrad=(HAADF_FROM_MRAD, 250)).detector == "HAADF"
    assert nearest_trained_context(300, detector="MAADF").energy_kev == 100


@pytest.mark.parametrize("kwargs, message", [
    ({"energy_kev": 20, "detector": "HAADF"}, "beam energy 20 keV is outside 30-300 keV"),
    ({"energy_kev": np.nan, "detector": "HAADF"}, "outside 30-300 keV"),
    ({"energy_kev": 80, "angles_mrad": (120, 60)}, "detector angles 120-60 mrad are not an annulus"),
    ({"energy_kev": 80, "angles_mrad": (-5, 60)}, "not an annulus"),
    ({"energy_kev": 80, "angles_mrad": (60, 60)}, "not an annulus"),
    ({"energy_kev": 80}, "one of the two"),
    ({"energy_kev": 80, "detector": "HAADF", "angles_mrad": (60, 200)}, "one of the two"),
    ({"energy_kev": 80, "detector": "ABF"}, "detector .ABF. is not in the catalog; allowed: HAADF, MAADF"),
    ({"energy_kev": 80, "detector": "HAADF", "convergence_mrad": 0}, "convergence angle 0 mrad"),
])
def test_bad_microscopes_are_named(kwargs, message):
    energy = kwargs.pop("energy_kev")
    with pytest.raises(ValueError, match=message):
        nearest_trained_context(energy, **kwargs)


@pytest.mark.parametrize("host", ["WSe2", "MoS2", "TaSe2"])
def test_simulated_column_contrast_orders_sublattices_as_the_library(host):
    """The two-column probe simulation against the shipped library's clean windows (another scan, another grid,
    normalised patches): the same brighter sublattice at every trained energy and detector."""
    from ctxlib.learning.dataset import pristine_centre_intensities
    from ctxlib.materials.catalog import HOSTS
    from ctxlib.simulation.library import first_present
    from ctxlib.simulation.scans import pristine_column_intensities

    entry = first_present(host)
    for e, energy in enumerate(ENERGIES_KEV):
        for d, (detector, angles) in enumerate(DETECTORS.items()):
            x2, metal = pristine_centre_intensities(entry.images[e, :, d], entry.pixel_size, HOSTS[host].a)
            simulated_metal, simulated_x2 = pristine_column_intensities(host, energy_kev=energy, detector_angles=angles)
            if abs(metal / x2 - 1) > 0.05:  # a clear order in the library
                assert (simulated_metal > simulated_x2) == (metal > x2), (host, energy, detector)


def test_site_flags_follow_the_chemistry_where_a_microscope_reverses_the_order():
    # WSe2 in HAADF: W the brighter at the trained 60 and 80 keV, Se2 at 40 keV and with a 50-200 mrad detector
    low = nearest_trained_context(40, detector="HAADF", host="WSe2")
    assert (low.energy_kev, low.sites_reversed) == (60, True) and low.contrast["stated"] < 1 < low.contrast["used"]
    assert "reversed" in low.rules[-1]  # 0.84: clear enough for no warning
    angles = nearest_trained_context(80, angles_mrad=(50, 200), convergence_mrad=25, host="WSe2")
    assert angles.sites_reversed and "reversed" in angles.rules[-2] and "nearly equally bright" in angles.rules[-1]
    maadf = nearest_trained_context(80, angles_mrad=(25, 90), convergence_mrad=25, host="WSe2")
    assert not maadf.sites_reversed and maadf.record()["metal_to_x2_ratio"]["stated"] < 1
    # MoS2: Mo far brighter than S2 at any HAADF; a trained context is not simulated at all
    assert not nearest_trained_context(40, detector="HAADF", host="MoS2").sites_reversed
    assert nearest_trained_context(80, detector="HAADF", host="WSe2").contrast == {}
