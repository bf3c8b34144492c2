import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ctxlib.encoding.patches import (
    axis_resampling,
    centre_intensity,
    extract_patches,
    footprint,
    patch_offsets,
    rotate_into_image,
    window_patches,
)


def test_linear_ramp_is_sampled_exactly():
    """Bilinear interpolation reproduces a linear function exactly, wherever the centre lies."""
    rows, cols = np.mgrid[:100, :100].astype(float)
    image = 0.3 * rows - 0.7 * cols + 5
    centre = np.array([[40.3, 55.8]])
    result = extract_patches(image, centre, side_px=20.0, size=16)
    offsets = patch_offsets(20.0, 16)
    expected = 0.3 * (40.3 + offsets[:, None]) - 0.7 * (55.8 + offsets[None, :]) + 5
    np.testing.assert_allclose(result.patches[0], expected, rtol=1e-5)


def test_patch_is_centred_on_the_column():
    rows, cols = np.mgrid[:80, :80].astype(float)
    image = np.exp(-((rows - 37.4) ** 2 + (cols - 41.7) ** 2) / 8)
    patch = extract_patches(image, np.array([[37.4, 41.7]]), side_px=16.0, size=32).patches[0]
    weights = patch / patch.sum()
    grid = np.arange(32) - 15.5
    assert abs(weights.sum(axis=1) @ grid) < 0.05 and abs(weights.sum(axis=0) @ grid) < 0.05  # patch pixels


def test_border_columns_are_reported():
    image = np.zeros((50, 50))
    positions = np.array([[25.0, 25.0], [2.0, 25.0], [25.0, 48.5], [10.0, 10.0]])
    result = extract_patches(image, positions, side_px=16.0)
    assert result.index.tolist() == [0, 3]
    assert result.border.tolist() == [1, 2]
    assert result.patches.shape == (2, 32, 32) and result.patches.dtype == np.float32


def test_edge_patches_are_completed_by_reflection():
    rows, cols = np.mgrid[:50, :50].astype(float)
    image = np.exp(-((rows - 2.0) ** 2 + (cols - 25.0) ** 2) / 4)  # a column two pixels from the top edge
    positions = np.array([[25.0, 25.0], [2.0, 25.0], [60.0, 25.0]])
    result = extract_patches(image, positions, side_px=16.0, size=16, edge="reflect")
    assert result.index.tolist() == [0, 1] and result.border.tolist() == [1, 2]  # the one outside gets no patch
    patch = result.patches[1]
    reflected = extract_patches(np.pad(image, ((8, 0), (0, 0)), mode="reflect"), np.array([[10.0, 25.0]]),
                                side_px=16.0, size=16).patches[0]
    np.testing.assert_allclose(patch, reflected, atol=1e-5)  # scipy's "mirror" is numpy's "reflect"
    with pytest.raises(ValueError, match="edge must be one of"):
        extract_patches(image, positions, side_px=16.0, edge="wrap")


def test_fine_images_are_smoothed_before_downsampling():
    """A pixel-scale checkerboard (pure noise at the patch scale) must not alias into the patch."""
    checker = (np.indices((200, 200)).sum(axis=0) % 2).astype(float)
    patch = extract_patches(checker, np.array([[100.0, 100.0]]), side_px=128.0, size=32).patches[0]
    assert patch.std() < 0.01 and patch.mean() == pytest.approx(0.5, abs=0.01)


def test_bad_side_is_rejected():
    with pytest.raises(ValueError, match="patch side"):
        extract_patches(np.zeros((20, 20)), np.array([[10.0, 10.0]]), side_px=0.5)


def test_centre_intensity_ignores_subpixel_position():
    """The same column at different sub-pixel offsets gives the same centre intensity."""
    rows, cols = np.mgrid[:60, :60].astype(float)
    values = []
    for offset in (0.0, 0.25, 0.5):
        image = np.exp(-((rows - 30 - offset) ** 2 + (cols - 30 + offset) ** 2) / (2 * 2.0**2))
        patch = extract_patches(image, np.array([[30 + offset, 30 - offset]]), side_px=24.0).patches
        values.append(centre_intensity(patch)[0])
    np.testing.assert_allclose(values, values[0], rtol=5e-3)  # bilinear resampling error


@settings(deadline=None, max_examples=40)
@given(st.integers(9, 80), st.floats(2.0, 70.0), st.sampled_from([8, 16, 32]), st.integers(0, 2**31))
def test_window_patches_equal_extract_patches(n, side, size, seed):
    """One matrix product per axis gives extract_patches' patch at the window centre (smoothed or not) to 1e-6."""
    windows = np.random.default_rng(seed).random((3, n, n))
    centre = np.array([[(n - 1) / 2, (n - 1) / 2]])
    reference = np.stack([extract_patches(w, centre, side, size=size, edge="reflect").patches[0] for w in windows])
    assert np.allclose(window_patches(windows, (side, side), size=size), reference, rtol=1e-6, atol=1e-6)


def test_per_axis_sides_and_footprint():
    """Different sides along y and x sample different spans; the footprint holds every pixel the patch reads."""
    ramp_y = np.tile(np.arange(35.0)[:, None], (1, 35))
    patch = window_patches(ramp_y[None], (22.0, 20.0), size=32)[0]
    assert np.allclose(patch[:, 0], 17 + patch_offsets(22.0, 32), atol=1e-4)
    matrix = axis_resampling(35, 17.0, 22.0, size=32)
    used = footprint(matrix)
    assert np.allclose(matrix[:, used].sum(axis=1), 1) and used == slice(6, 29)


@settings(max_examples=20)
@given(angle=st.floats(0.0, np.pi / 3), sublattice=st.integers(0, 1), side=st.sampled_from(["top", "left", "right"]))
def test_a_column_at_the_edge_gets_its_own_neighbourhood_when_turned_in(angle, sublattice, side):
    """A honeycomb column cut by the image edge: turning the missing points a third of a turn about it
    gives the patch the whole image would give (the lattice's three-fold axis), unlike reflection."""
    from conftest import honeycomb_sites, render

    pixel, a = 0.2, 3.28
    sites = honeycomb_sites(a, 40.0, angle)
    image = render(list(sites), [1.0, 0.6], 200, pixel)
    centre = np.array([20.0, 20.0]) / pixel  # (row, col) of the image's middle
    column = sites[sublattice][np.argmin(np.linalg.norm(sites[sublattice][:, ::-1] - centre * pixel, axis=1))]
    position = column[::-1] / pixel  # (row, col)
    side_px = np.sqrt(3) * a / pixel
    full = extract_patches(image, position[None], side_px, edge="skip").patches[0]
    cut = {"top": (slice(int(position[0]) - 4, None), slice(None)), "left": (slice(None), slice(int(position[1]) - 4, None)),
           "right": (slice(None), slice(0, int(position[1]) + 5))}[side]
    offset = np.array([cut[0].start or 0, cut[1].start or 0])
    turned = extract_patches(image[cut], (position - offset)[None], side_px, edge="rotate").patches[0]
    mirrored = extract_patches(image[cut], (position - offset)[None], side_px, edge="reflect").patches[0]
    error = lambda patch: np.abs(patch - full).max() / full.max()  # noqa: E731
    assert error(turned) < 0.1 and error(mirrored) > 0.3  # measured: 0.02-0.06 (bilinear sampling) and 0.6-1.0


def test_points_inside_are_never_moved_by_the_turn():
    rows, cols = np.mgrid[:5, :5].astype(float)
    turned = rotate_into_image(rows[None], cols[None], np.array([[2.0, 2.0]]), (5, 5))
    np.testing.assert_array_equal(turned[0][0], rows) and np.testing.assert_array_equal(turned[1][0], cols)
