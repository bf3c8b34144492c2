"""Effects of real micrographs (ctxlib.simulation.realism) against what each is said to do."""

import numpy as np
import pandas as pd
import pytest

from ctxlib.simulation.realism import REAL_EFFECTS, _detector_effect, _probe_effect, with_effect
from ctxlib.simulation import standins
from ctxlib.simulation.standins import ExperimentLike, load_test_micrograph

PIXEL = (0.05, 0.05)


def _moments(image):
    y, x = np.mgrid[:image.shape[0], :image.shape[1]] * PIXEL[0]
    total = image.sum()
    centre = np.array([(image * y).sum(), (image * x).sum()]) / total
    dy, dx = y - centre[0], x - centre[1]
    covariance = np.array([[(image * dy * dy).sum(), (image * dy * dx).sum()],
                           [(image * dy * dx).sum(), (image * dx * dx).sum()]]) / total
    return total, centre, covariance


def _point():
    image = np.zeros((128, 128))
    image[64, 64] = 1.0
    return image


def test_astigmatism_is_the_stated_elliptical_gaussian():
    total, centre, covariance = _moments(_probe_effect(_point(), PIXEL, "astigmatism"))
    values, vectors = np.linalg.eigh(covariance)
    assert total == pytest.approx(1.0)
    assert np.sqrt(values) == pytest.approx([0.10, 0.35], rel=0.02)
    long_axis = vectors[:, 1] * np.sign(vectors[1, 1])  # (y, x)
    assert np.degrees(np.arctan2(long_axis[0], long_axis[1])) == pytest.approx(30.0, abs=0.5)


def test_coma_moves_a_fifth_of_the_intensity_half_an_angstrom_at_30_degrees():
    total, centre, _ = _moments(_probe_effect(_point(), PIXEL, "coma"))
    shift = centre - 64 * PIXEL[0]
    assert total == pytest.approx(1.0)
    assert shift == pytest.approx(0.2 * 0.5 * np.array([np.sin(np.pi / 6), np.cos(np.pi / 6)]), abs=1e-3)


def test_one_over_f_noise_has_power_falling_as_one_over_frequency():
    rng = np.random.default_rng(0)
    noise = np.mean([np.abs(np.fft.fft2(_detector_effect(np.ones((256, 256)), "1/f noise", rng) - 1)) ** 2
                     for _ in range(8)], axis=0)
    k = np.hypot(*np.meshgrid(np.fft.fftfreq(256), np.fft.fftfreq(256), indexing="ij"))
    ring = (k > 0.02) & (k < 0.4)
    slope = np.polyfit(np.log(k[ring]), np.log(noise[ring]), 1)[0]
    assert slope == pytest.approx(-1.0, abs=0.1)


def test_line_offsets_move_rows_not_columns_and_export_has_256_levels():
    rng = np.random.default_rng(1)
    lined = _detector_effect(np.ones((400, 400)), "line offsets", rng)
    assert lined.mean(axis=1).std() == pytest.approx(0.02, rel=0.2) and lined.mean(axis=0).std() < 0.002
    exported = _detector_effect(rng.random((100, 100)), "8-bit export", rng)
    assert exported.min() == 0 and exported.max() == 255 and np.all(exported == np.round(exported))


def test_finer_pixels_keep_the_truth_on_its_columns():
    micrograph = load_test_micrograph("V", "WSe2")
    finer = with_effect(micrograph, "finer pixels")
    coarse = with_effect(micrograph, "none")
    assert finer.pixel_size == pytest.approx(tuple(p / 2 for p in micrograph.pixel_size))
    rows, cols = finer.truth["row"].round().astype(int) % finer.degraded.shape[1], \
        finer.truth["col"].round().astype(int) % finer.degraded.shape[2]
    r0, c0 = micrograph.truth["row"].round().astype(int) % coarse.degraded.shape[1], \
        micrograph.truth["col"].round().astype(int) % coarse.degraded.shape[2]
    assert np.corrcoef(finer.degraded[0][rows, cols], coarse.degraded[0][r0, c0])[0, 1] > 0.9


def test_every_effect_keeps_the_field_and_an_unknown_one_is_named():
    field = np.full((2, 40, 40), 0.01, np.float32)
    micrograph = standins.TestMicrograph("V", field, field, (0.2, 0.2), pd.DataFrame({"row": [1.0], "col": [2.0]}))
    for effect in REAL_EFFECTS:
        out = with_effect(micrograph, effect, params=ExperimentLike(dose=1e6))
        assert np.all(np.isfinite(out.degraded)) and out.degraded.shape[0] == 2
    with pytest.raises(ValueError, match="unknown effect 'glare'; choose one of none, astigmatism"):
        with_effect(micrograph, "glare")
