"""ImagingContext: one checked value for host, dopant, detector and energy, with its names and indices."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctxlib.materials.catalog import DETECTORS, ENERGIES_KEV, parse_pair_name, trained_pairs
from ctxlib.materials.imaging import ImagingContext, imaging_contexts, trained_contexts


def test_the_paper_has_576_contexts_and_we_train_654():
    assert len(set(imaging_contexts())) == 576 == 96 * 3 * 2
    assert len(set(trained_contexts())) == 654 == 109 * 3 * 2
    assert set(imaging_contexts()) < set(trained_contexts())


@given(st.sampled_from(trained_pairs()), st.sampled_from(list(DETECTORS)), st.sampled_from(ENERGIES_KEV))
def test_index_pair_and_name_agree_with_the_lists_they_come_from(pair, detector, energy):
    context = ImagingContext(*pair, detector=detector, energy_kev=energy)
    assert trained_contexts()[context.index] == context
    assert trained_pairs()[context.pair_index] == pair
    assert parse_pair_name(context.pair) == pair
    assert ImagingContext.from_pair(context.pair, detector=detector, energy_kev=energy) == context


def test_an_untrained_pair_is_a_valid_context_without_an_index():
    context = ImagingContext("MoS2", "Nb")  # Nb shares Mo's period: the catalog drops the pairing
    assert not context.trained
    with pytest.raises(ValueError, match="MoS2-Nb is not one of the 109 trained host and dopant pairs"):
        context.index


@pytest.mark.parametrize("arguments, message", [
    (("WSe2", "Xx"), "unknown dopant 'Xx'"),
    (("WSe2", "Se"), "unknown dopant 'Se'"),  # a chalcogen is not a dopant of the metal site
    (("WSe2", "W"), "dopant 'W' equals the host metal of WSe2"),
    (("WSe2x", None), "'WSe2x' is not of the form MX2"),
    (("WSe2", None, "BF"), "detector 'BF'.*HAADF, MAADF"),
    (("WSe2", None, "HAADF", 300), r"beam energy \(keV\) 300.*60, 80, 100"),
])
def test_a_bad_context_is_refused_naming_value_and_choices(arguments, message):
    with pytest.raises(ValueError, match=message):
        ImagingContext(*arguments)


def test_a_context_is_a_frozen_hashable_value():
    context = ImagingContext("MoS2")
    with pytest.raises(AttributeError):
        context.host = "WS2"
    assert {context: 1}[ImagingContext("MoS2", None, "HAADF", 80)] == 1
