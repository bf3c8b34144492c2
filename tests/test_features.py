import numpy as np
import pytest

from ctxlib.encoding.context import encode_context
from ctxlib.encoding.features import FEATURE_NAMES, assemble_features, encode_image
from ctxlib.materials.imaging import ImagingContext

WSE2_TI = ImagingContext("WSe2", "Ti", detector="HAADF", energy_kev=80)


def test_feature_names_are_the_papers_31():
    assert len(FEATURE_NAMES) == 31 and len(set(FEATURE_NAMES)) == 31
    assert FEATURE_NAMES[:2] == ("M:K", "M:L") and FEATURE_NAMES[-2:] == ("site:bright", "site:dim")


def test_encode_image(wse2_like):
    encoding = encode_image(wse2_like["image"], WSE2_TI, pixel_size=wse2_like["pixel"])
    features = encoding.features
    assert features.shape == (len(encoding.table), 31) and features.dtype == np.float32
    np.testing.assert_allclose(features[:, :23], np.broadcast_to(encode_context(WSE2_TI), (len(features), 23)),
                               rtol=1e-6)
    assert np.isfinite(features).all()
    # every column's flag is one-hot, and both sublattices are present
    np.testing.assert_array_equal(features[:, -2:].sum(axis=1), 1)
    assert set(encoding.table.sublattice) == {0, 1}
    assert encoding.table["edge"].any() and encoding.calibration.source == "stated"
    assert encoding.patches.shape == (len(features), 32, 32)


def test_wrong_pixel_size_is_caught(wse2_like):
    with pytest.raises(ValueError, match="does not match WSe2's 3.282 A"):
        encode_image(wse2_like["image"], WSE2_TI, pixel_size=0.3)


def test_bad_context_fails_before_image_work(wse2_like):
    with pytest.raises(ValueError, match="detector 'ABF'"):
        encode_image(wse2_like["image"], ImagingContext("WSe2", "Ti", detector="ABF", energy_kev=80))


def test_assemble_features_per_row_context():
    context = np.stack([encode_context(ImagingContext("WSe2", "V", detector="HAADF", energy_kev=60)),
                        encode_context(ImagingContext("MoS2", "Re", detector="MAADF", energy_kev=100))])
    rows = assemble_features(context, np.ones((2, 6)), np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert rows.shape == (2, 31)
    np.testing.assert_allclose(rows[:, :23], context, rtol=1e-6)


def test_a_patch_of_contamination_does_not_change_the_columns_under_it(wse2_like):
    """A smooth bump of background (0.3 of the image's mean, sigma 8 Angstrom; on a real MoS2 image contamination
    varies by 0.16 of it) over one corner: with the local background subtracted, the normalised intensity and the
    integrated moment (Z0,0) of the columns under it stay within 3 % of the clean image's; without, Z0,0 moves by
    a fifth."""
    from scipy.spatial import cKDTree

    from ctxlib.encoding.features import EncodingSettings

    image, pixel = wse2_like["image"], wse2_like["pixel"]
    y, x = np.mgrid[: image.shape[0], : image.shape[1]] * pixel
    bump = 0.3 * image.mean() * np.exp(-((x - 9.0) ** 2 + (y - 9.0) ** 2) / (2 * 8.0**2))
    error = {}
    for local in (True, False):
        settings = EncodingSettings(local_background=local)
        clean = encode_image(image, WSE2_TI, pixel_size=pixel, settings=settings).table
        dirty = encode_image(image + bump, WSE2_TI, pixel_size=pixel, settings=settings).table
        distance, match = cKDTree(dirty[["row", "col"]]).query(clean[["row", "col"]])
        assert len(clean) == len(dirty) and distance.max() < 0.2  # the same sites (pixels)
        dirty = dirty.iloc[match].set_axis(clean.index)
        under = np.hypot(clean["col"] * pixel - 9.0, clean["row"] * pixel - 9.0) < 4.0
        assert under.sum() > 10
        error[local] = max(np.abs(dirty.loc[under, name] / clean.loc[under, name] - 1).max()
                           for name in ("centre_intensity", "Z0,0"))
    assert error[True] < 0.03 and error[False] > 0.15
