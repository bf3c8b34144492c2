import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctxlib.encoding.context import CONTEXT_BLOCKS, CONTEXT_FEATURE_NAMES, encode_context
from ctxlib.materials.catalog import DETECTORS, DOPANTS, ENERGIES_KEV, HOSTS, doped_hosts
from ctxlib.materials.imaging import ImagingContext, imaging_contexts


def test_paper_example_layout():
    vector = encode_context(ImagingContext("WSe2", "Cr", detector="HAADF", energy_kev=80))
    assert vector.shape == (23,) and len(CONTEXT_FEATURE_NAMES) == 23
    np.testing.assert_allclose(vector[CONTEXT_BLOCKS["M"]], np.array([2, 8, 18, 32, 12, 2]) / 74)
    np.testing.assert_allclose(vector[CONTEXT_BLOCKS["X"]], np.array([2, 8, 18, 6, 0, 0]) / 34)
    np.testing.assert_allclose(vector[CONTEXT_BLOCKS["D"]], np.array([2, 8, 13, 1, 0, 0]) / 24)
    np.testing.assert_array_equal(vector[18:], [1, 0, 0, 1, 0])


@given(
    st.sampled_from(doped_hosts()), st.sampled_from(sorted(DETECTORS)), st.sampled_from(ENERGIES_KEV)
)
def test_every_catalog_context_is_well_formed(pair, detector, energy):
    vector = encode_context(ImagingContext(*pair, detector=detector, energy_kev=energy))
    assert vector.dtype == np.float64
    for block in ("M", "X", "D"):
        assert vector[CONTEXT_BLOCKS[block]].sum() == pytest.approx(1.0)
        assert (vector[CONTEXT_BLOCKS[block]] >= 0).all()
    assert vector[CONTEXT_BLOCKS["detector"]].sum() == 1 and vector[CONTEXT_BLOCKS["energy"]].sum() == 1


def test_all_576_contexts_are_distinct():
    vectors = {encode_context(context).tobytes() for context in imaging_contexts()}
    assert len(vectors) == 96 * 2 * 3


def test_undoped_host_has_zero_dopant_block():
    vector = encode_context(ImagingContext("MoS2", None, detector="MAADF", energy_kev=60))
    assert not vector[CONTEXT_BLOCKS["D"]].any()


def test_hosts_and_dopants_encode():
    for host in HOSTS:
        for dopant in DOPANTS:
            if dopant != HOSTS[host].metal:
                assert np.isfinite(encode_context(ImagingContext(host, dopant, detector="HAADF", energy_kev=100))).all()
