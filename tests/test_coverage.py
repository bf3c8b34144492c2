"""Training coverage: a stand-in blurred beyond the paper's degradations lies outside training data made with them,
and inside the training data of today's wider degradations."""

import warnings

import numpy as np
import pytest
from scipy import ndimage

from ctxlib.materials.imaging import ImagingContext
from ctxlib.micrographs.classify import TrustSettings, classify_image
from ctxlib.micrographs.validation import feature_gap, training_coverage
from ctxlib.simulation.augmentation import PAPER_DEGRADATIONS, AugmentationSettings, probe_fwhm
from ctxlib.simulation.standins import load_test_micrograph_sets

AUGMENTATIONS = {"paper's degradations": PAPER_DEGRADATIONS, "ours": AugmentationSettings()}
WSE2_TI = ImagingContext("WSe2", "Ti", detector="HAADF", energy_kev=80)


@pytest.fixture(scope="module")
def standin():
    return load_test_micrograph_sets()["WSe2"]["Ti"]


def _coverage(image, pixel):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = classify_image(image, WSE2_TI, pixel_size=pixel, trust=TrustSettings(warn_share=1.0))
    return result, training_coverage(result, WSE2_TI, augmentations=AUGMENTATIONS)


def test_a_blur_beyond_the_paper_ranges_is_covered_by_ours_only(standin):
    pixel = float(np.mean(standin.pixel_size))
    image = standin.image("HAADF")
    _, sharp = _coverage(image, pixel)
    assert list(sharp.index) == list(AUGMENTATIONS) and sharp.shape[1] == 7
    assert (sharp["outlier share"] < 0.1).all()  # the stand-in as made: like the training data of both
    blurred = ndimage.gaussian_filter(image, 1.0 * probe_fwhm(80) / pixel)  # beyond the paper-like 0.6 x FWHM
    result, wide = _coverage(blurred, pixel)
    paper, ours = wide.loc["paper's degradations"], wide.loc["ours"]
    assert paper["outlier share"] > 0.15 and paper["Z8,0"] > 3  # the higher orders: broader than any training column
    assert ours["outlier share"] < 0.02 and (ours.drop("outlier share") < 2).all()
    gap = feature_gap(result, WSE2_TI)
    assert set(gap.index) <= {"X2", "VacX", "VacX2", "M", "D"} and gap["columns"].sum() == (~result.table["edge"]).sum()
