"""Contrast encoder against independent references, and its rotation invariance."""

from math import factorial

import mahotas
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ctxlib.encoding.zernike import ZERNIKE_ORDERS, disk_coordinates, radial_polynomial, zernike_basis, zernike_moments

SIZE = 32


def direct_moments(patch: np.ndarray, orders=ZERNIKE_ORDERS) -> np.ndarray:
    """Direct numerical integration over pixels with the factorial form of R_n^0."""
    size = patch.shape[0]
    centre, radius = (size - 1) / 2, size / 2
    moments = []
    for n in orders:
        total = 0.0
        for i in range(size):
            for j in range(size):
                rho = np.hypot(i - centre, j - centre) / radius
                if rho > 1:
                    continue
                r = sum(
                    (-1) ** s * factorial(n - s) / (factorial(s) * factorial(n // 2 - s) ** 2) * rho ** (n - 2 * s)
                    for s in range(n // 2 + 1)
                )
                total += patch[i, j] * r
        moments.append((n + 1) / np.pi * total * (2 / size) ** 2)
    return np.array(moments)


def gaussian_blobs(size: int, centres: np.ndarray, sigma: float, weights: np.ndarray) -> np.ndarray:
    i, j = np.mgrid[:size, :size].astype(float)
    image = np.zeros((size, size))
    for (ci, cj), w in zip(centres, weights):
        image += w * np.exp(-((i - ci) ** 2 + (j - cj) ** 2) / (2 * sigma**2))
    return image


@pytest.mark.parametrize("seed", range(3))
def test_matches_direct_integration(seed):
    patch = np.random.default_rng(seed).normal(size=(SIZE, SIZE))
    np.testing.assert_allclose(zernike_moments(patch), direct_moments(patch), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("size", [16, 31, 32])
def test_matches_mahotas_basis(size):
    """mahotas normalises to unit sum inside the disk and returns |A|: undo that and compare."""
    rng = np.random.default_rng(size)
    patch = rng.random((size, size)) + 0.05
    centre = (size - 1) / 2
    theirs = mahotas.features.zernike_moments(patch, size / 2, degree=10, cm=(centre, centre))
    m0 = [k for k, (n, m) in enumerate((n, m) for n in range(11) for m in range(n + 1) if (n - m) % 2 == 0) if m == 0]
    inside = disk_coordinates(size) <= 1
    scale = patch[inside].sum() * (2 / size) ** 2
    np.testing.assert_allclose(np.abs(zernike_moments(patch)) / scale, theirs[m0], rtol=1e-6)


def test_radial_polynomials_are_orthogonal():
    """Continuous orthogonality: integral of R_n R_n' rho drho = delta / (2 (n + 1))."""
    rho = np.linspace(0, 1, 200001)
    for n in ZERNIKE_ORDERS:
        for k in ZERNIKE_ORDERS:
            integral = np.trapezoid(radial_polynomial(n, rho) * radial_polynomial(k, rho) * rho, rho)
            assert integral == pytest.approx(1 / (2 * (n + 1)) if n == k else 0.0, abs=1e-8)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 3), st.sampled_from([np.float32, np.float64]))
def test_exact_invariance_under_quarter_turns(seed, turns, dtype):
    patches = np.random.default_rng(seed).normal(size=(4, SIZE, SIZE)).astype(dtype)
    rotated = np.rot90(patches, k=turns, axes=(1, 2))
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    scale = np.abs(zernike_moments(patches)).max()
    np.testing.assert_allclose(zernike_moments(rotated), zernike_moments(patches), atol=tolerance * scale, rtol=0)


ROTATION_TOLERANCE = 0.01  # of the largest |moment|: the discretisation error of the pixel grid


@settings(max_examples=40, deadline=None)
@given(
    st.floats(0, 2 * np.pi),
    st.lists(st.tuples(st.floats(0, 0.6), st.floats(0, 2 * np.pi), st.floats(0.2, 1.0)), min_size=1, max_size=5),
)
def test_invariance_under_any_rotation(angle, blobs):
    """Gaussian columns (sigma 2 px) rendered at rotated positions give the same moments to 1 %."""
    radius, centre = SIZE / 2, (SIZE - 1) / 2
    rho, theta, weight = (np.array(v) for v in zip(*blobs))
    positions = np.column_stack([np.cos(theta), np.sin(theta)]) * (rho * radius)[:, None]
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    original = gaussian_blobs(SIZE, centre + positions, 2.0, weight)
    rotated = gaussian_blobs(SIZE, centre + positions @ turn.T, 2.0, weight)
    a, b = zernike_moments(original), zernike_moments(rotated)
    assert np.abs(a - b).max() <= ROTATION_TOLERANCE * np.abs(a).max()


def test_sign_is_kept():
    patch = gaussian_blobs(SIZE, np.array([[15.5, 15.5]]), 3.0, np.array([1.0]))
    np.testing.assert_allclose(zernike_moments(-patch), -zernike_moments(patch))


def test_float32_agrees_with_float64():
    patches = np.random.default_rng(1).random((100, SIZE, SIZE))
    np.testing.assert_allclose(zernike_moments(patches.astype(np.float32)), zernike_moments(patches), rtol=1e-4, atol=1e-5)


def test_basis_is_cached_and_read_only():
    assert zernike_basis(SIZE) is zernike_basis(SIZE)
    with pytest.raises(ValueError):
        zernike_basis(SIZE)[0, 0] = 1.0


def test_single_patch_and_batch_shapes():
    patch = np.ones((SIZE, SIZE))
    assert zernike_moments(patch).shape == (6,)
    assert zernike_moments(patch[None].repeat(3, 0)).shape == (3, 6)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_patch_is_reported(value):
    patches = np.ones((5, SIZE, SIZE))
    patches[3, 10, 10] = value
    with pytest.raises(ValueError, match=r"patches \[3\] contain NaN or infinite"):
        zernike_moments(patches)


def test_non_square_patches_are_rejected():
    with pytest.raises(ValueError, match="square"):
        zernike_moments(np.ones((2, 8, 9)))


def test_odd_order_is_rejected():
    with pytest.raises(ValueError, match="even order"):
        radial_polynomial(3, np.array([0.5]))


def test_benchmark_zernike_throughput(benchmark):
    patches = np.random.default_rng(0).random((20000, SIZE, SIZE), dtype=np.float32)
    result = benchmark(zernike_moments, patches)
    assert result.shape == (20000, 6)


@settings(deadline=None, max_examples=25)
@given(st.integers(20, 40), st.floats(12.0, 26.0), st.floats(12.0, 26.0), st.integers(8, 33), st.integers(0, 1000))
def test_moments_through_the_resampling_weights_equal_the_moments_of_the_resampled_patches(n, side_y, side_x, size, seed):
    from ctxlib.encoding.patches import footprint, window_resampling
    from ctxlib.encoding.zernike import resampled_basis

    rows, cols = window_resampling((n, n + 3), (side_y, side_x), size=size)
    window = footprint(rows), footprint(cols)
    rows, cols = rows[:, window[0]], cols[:, window[1]]
    windows = np.random.default_rng(seed).random((5, rows.shape[1], cols.shape[1])).astype(np.float32)
    direct = zernike_moments((rows @ windows @ cols.T).astype(np.float64))
    folded = windows.reshape(5, -1).astype(np.float64) @ resampled_basis(rows, cols).astype(np.float64)
    assert np.allclose(folded, direct, rtol=1e-5, atol=1e-6)
