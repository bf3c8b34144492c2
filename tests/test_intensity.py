import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ctxlib.base.intensity import IntensityNormaliser


@settings(max_examples=25, deadline=None)
@given(st.floats(1e-3, 1e4), st.floats(-100, 100))
def test_invariant_to_gain_and_offset(wse2_like, gain, offset):
    image = wse2_like["image"]
    reference = IntensityNormaliser().fit_transform(image)
    scaled = IntensityNormaliser().fit_transform(gain * image + offset)
    np.testing.assert_allclose(scaled, reference, rtol=1e-6, atol=1e-6)


def test_column_intensity_ratios_survive(wse2_like):
    """A per-image normalisation keeps how much brighter one column is than another."""
    image = wse2_like["image"]
    normaliser = IntensityNormaliser().fit(image)
    out = normaliser.transform(image)
    assert out.mean() == pytest.approx(1.0)
    # a column carrying half the intensity stays at half above background
    dim = normaliser.transform(0.5 * image + 0.5 * normaliser.background_)
    np.testing.assert_allclose(dim, 0.5 * out, atol=1e-9)


def test_reference_fits_other_images(wse2_like):
    normaliser = IntensityNormaliser().fit(wse2_like["image"])
    np.testing.assert_allclose(normaliser.transform(wse2_like["image"][:50, :50]), normaliser.transform(wse2_like["image"])[:50, :50])


def test_errors():
    with pytest.raises(RuntimeError, match="not fitted"):
        IntensityNormaliser().transform(np.ones((4, 4)))
    with pytest.raises(ValueError, match="no contrast"):
        IntensityNormaliser().fit(np.ones((16, 16)))
    with pytest.raises(ValueError, match="background_percentile"):
        IntensityNormaliser(background_percentile=70)
    with pytest.raises(ValueError, match="NaN"):
        IntensityNormaliser().fit(np.full((16, 16), np.nan))
