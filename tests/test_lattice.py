import numpy as np
import pytest
from conftest import honeycomb_sites, render
from hypothesis import given, settings
from hypothesis import strategies as st

from ctxlib.encoding.lattice import autocorrelation, estimate_lattice_constant, patch_side


def test_honeycomb_gives_a_not_the_metal_x2_distance(wse2_like):
    estimate = estimate_lattice_constant(wse2_like["image"])
    assert estimate.a_px * wse2_like["pixel"] == pytest.approx(wse2_like["a"], rel=0.01)
    # the first radial peak is the metal-X2 distance, and it is not a translation
    assert estimate.peak_radii[0] * wse2_like["pixel"] == pytest.approx(wse2_like["a"] / np.sqrt(3), abs=wse2_like["pixel"])  # one-pixel bins
    assert not estimate.is_translation[0]
    assert estimate.patch_side_px == pytest.approx(np.sqrt(3) * estimate.a_px)


@settings(max_examples=8, deadline=None)
@given(st.floats(2.9, 3.8), st.floats(0.08, 0.2), st.floats(0, np.pi / 3), st.floats(0.3, 1.0))
def test_lattice_constant_any_orientation_and_contrast(a, pixel, angle, ratio):
    shape = int(24 / pixel)  # a 24 A field of view
    metal, chalcogen = honeycomb_sites(a, shape * pixel, angle)
    image = render([metal, chalcogen], [1.0, ratio], shape, pixel)
    assert estimate_lattice_constant(image).a_px * pixel == pytest.approx(a, rel=0.015)


def test_triangular_lattice_first_peak_is_a():
    metal, _ = honeycomb_sites(3.2, 24.0)
    estimate = estimate_lattice_constant(render([metal], [1.0], 160, 0.15))
    assert estimate.a_px * 0.15 == pytest.approx(3.2, rel=0.01)
    assert estimate.is_translation[0]


def test_robust_to_poisson_noise(wse2_like):
    rng = np.random.default_rng(0)
    noisy = rng.poisson(wse2_like["image"] * 20 + 2).astype(float)
    assert estimate_lattice_constant(noisy).a_px * wse2_like["pixel"] == pytest.approx(wse2_like["a"], rel=0.01)


def test_autocorrelation_is_normalised_and_symmetric(wse2_like):
    acf = autocorrelation(wse2_like["image"], max_lag=30)
    assert acf.shape == (61, 61)
    assert acf[30, 30] == pytest.approx(1.0)
    np.testing.assert_allclose(acf, acf[::-1, ::-1], atol=1e-10)


def test_too_few_periods_is_no_lattice(wse2_like):
    with pytest.raises(ValueError, match="two are needed"):
        estimate_lattice_constant(wse2_like["image"][:40, :40])


def test_noise_image_has_no_lattice():
    noise = np.random.default_rng(0).normal(size=(128, 128))
    with pytest.raises(ValueError, match="no lattice found"):
        estimate_lattice_constant(noise)


@pytest.mark.parametrize(
    "image, message",
    [(np.full((64, 64), np.nan), "NaN"), (np.ones((8, 8)), "too small"), (np.ones(64), "2-D image")],
)
def test_bad_images_are_reported(image, message):
    with pytest.raises(ValueError, match=message):
        estimate_lattice_constant(image)


def test_patch_side():
    assert patch_side(3.282) == pytest.approx(5.6846, abs=1e-4)
