"""The sublattice-contrast check (ctxlib.micrographs.contrast): quiet in the right context, loud in a wrong one."""

import warnings

import numpy as np
import pytest

from ctxlib.encoding.features import encode_image
from ctxlib.materials.imaging import ImagingContext
from ctxlib.micrographs.classify import TrustSettings, classify_image
from ctxlib.micrographs.contrast import (ContextMismatchWarning, ContrastCheck, NearEqualSublatticesWarning,
                                         check_contrast, expected_contrast, sublattice_contrast)
from ctxlib.simulation.standins import load_test_micrograph


def _classify(micrograph, context):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = classify_image(micrograph.image(context.detector), context,
                                pixel_size=float(np.mean(micrograph.pixel_size)))
    return result, [w for w in caught if issubclass(w.category, ContextMismatchWarning)]


@pytest.mark.parametrize("host", ["WSe2", "WS2", "MoSe2"])
@pytest.mark.parametrize("detector", ["HAADF", "MAADF"])
def test_a_stand_in_in_its_own_context_passes_the_check(host, detector):
    micrograph = load_test_micrograph("V", host)
    result, mismatches = _classify(micrograph, ImagingContext(host, "V", detector=detector, energy_kev=80))
    assert result.contrast.consistent and not mismatches
    assert 0.7 < result.summary()["contrast factor"] < 1.15


def test_the_clean_field_has_the_contrast_the_motif_library_predicts():
    """Two independent simulations (the abTEM field and the library's motifs) give the same sublattice ratio."""
    micrograph = load_test_micrograph("Ti", "WSe2")
    context = ImagingContext("WSe2", "Ti", detector="HAADF", energy_kev=80)
    clean = micrograph.image("HAADF", degraded=False)
    measured = sublattice_contrast(encode_image(clean, context, pixel_size=float(np.mean(micrograph.pixel_size))))
    assert measured == pytest.approx(expected_contrast(context), rel=0.1)


@pytest.mark.parametrize("host, detector, stated_host", [("WS2", "HAADF", "WSe2"), ("WSe2", "HAADF", "WS2"),
                                                          ("MoSe2", "MAADF", "WSe2")])
def test_a_wrong_host_is_flagged(host, detector, stated_host):
    micrograph = load_test_micrograph("V", host)
    stated = ImagingContext(stated_host, "V", detector=detector, energy_kev=80)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = classify_image(micrograph.image(detector), stated)  # the lattice constant is measured
    mismatches = [w for w in caught if issubclass(w.category, ContextMismatchWarning)]
    assert not result.contrast.consistent
    assert len(mismatches) == 1 and stated_host in str(mismatches[0].message)


def test_the_check_follows_its_tolerance():
    micrograph = load_test_micrograph("V", "WSe2")
    context = ImagingContext("WSe2", "V", detector="HAADF", energy_kev=80)
    encoding = encode_image(micrograph.image("HAADF"), context, pixel_size=float(np.mean(micrograph.pixel_size)))
    check = check_contrast(encoding, context)
    strict = check_contrast(encoding, context, tolerance=1 + abs(np.log(check.factor)) / 2)
    assert check.consistent and not strict.consistent


def test_bad_tolerances_are_refused_with_their_value():
    with pytest.raises(ValueError, match="contrast_tolerance"):
        TrustSettings(contrast_tolerance=0.5)
    with pytest.raises(ValueError, match="tolerance must be a factor > 1, got 1"):
        check_contrast(None, None, tolerance=1)


def test_nothing_measured_is_not_a_mismatch():
    assert ContrastCheck(measured=float("nan"), expected=1.3, tolerance=1.5).consistent


def test_nearly_equal_sublattices_are_warned_of_where_the_models_swap_them():
    """The dim-sulfide hard case in MAADF (MoS2, 60 keV: metal / S2 = 1.05) is classified with swapped
    sublattices; classify says the context cannot tell them apart reliably. WSe2 at 80 keV gets no such warning."""
    from ctxlib.simulation.standins import HARD_CASES, load_hard_case

    case = HARD_CASES["dim-sulfide"]
    stated = ImagingContext(case.field.host, case.dopant, detector="MAADF", energy_kev=case.field.energy_kev)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = classify_image(load_hard_case("dim-sulfide").image("MAADF"), stated)
    assert result.contrast.near_equal
    assert any(issubclass(w.category, NearEqualSublatticesWarning) and "nearly equally bright" in str(w.message)
               for w in caught)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = classify_image(load_test_micrograph("V", "WSe2").image("HAADF"),
                                ImagingContext("WSe2", "V", detector="HAADF", energy_kev=80))
    assert not result.contrast.near_equal
    assert not any(issubclass(w.category, NearEqualSublatticesWarning) for w in caught)


def test_eight_trained_contexts_have_nearly_equal_sublattices():
    from ctxlib.materials.catalog import DETECTORS, ENERGIES_KEV, HOSTS

    near = [(h, d, e) for h in HOSTS for d in DETECTORS for e in ENERGIES_KEV
            if ContrastCheck(1.0, expected_contrast(ImagingContext(h, None, detector=d, energy_kev=e)), 1.5).near_equal]
    assert ("MoS2", "MAADF", 60) in near and ("WSe2", "HAADF", 60) in near and len(near) == 8
