"""The classical baseline: expected column intensities from the simulated motifs, and classes from intensity alone."""

import warnings

import numpy as np
import pytest

from ctxlib.encoding.columns import nearest_neighbour_distance
from ctxlib.learning.metrics import cohen_kappa
from ctxlib.materials.catalog import HOSTS
from ctxlib.materials.imaging import ImagingContext
from ctxlib.micrographs.classify import classify_image
from ctxlib.micrographs.intensities import expected_levels, intensity_classes
from ctxlib.micrographs.validation import match_columns
from ctxlib.simulation.standins import load_test_micrograph


def test_expected_levels_follow_what_a_column_holds():
    """HAADF at 80 keV: a single vacancy keeps about half an X2 column (one of two atoms), a double vacancy none;
    a dopant lighter than the host metal is dimmer than it, a heavier one brighter (Z contrast); no D when
    undoped."""
    levels = expected_levels(ImagingContext("WSe2", "Ti", detector="HAADF", energy_kev=80))["relative"]
    assert 0.35 < levels["VacX"] < 0.6 and abs(levels["VacX2"]) < 0.1 and levels["X2"] == levels["M"] == 1
    assert levels["D"] < 0.5 < 1 < expected_levels(ImagingContext("MoS2", "Re", detector="HAADF"))["relative"]["D"]
    assert "D" not in expected_levels(ImagingContext("WSe2", None, detector="HAADF", energy_kev=80)).index
    with pytest.raises(ValueError, match="no library file for VS2-Ti"):
        expected_levels(ImagingContext("VS2", "Ti", detector="HAADF", energy_kev=80))


@pytest.mark.parametrize("detector", ["HAADF", "MAADF"])
def test_intensity_alone_classifies_the_stand_in_columns(detector):
    """On the WSe2 + V stand-in (its truth independent of both methods) the baseline scores kappa >= 0.98."""
    micrograph = load_test_micrograph("V")
    pixel = float(np.mean(micrograph.pixel_size))
    context = ImagingContext("WSe2", "V", detector=detector, energy_kev=80)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        encoding = classify_image(micrograph.image(detector), context, pixel_size=pixel).encoding
    table = intensity_classes(encoding, context)
    assert len(table) == len(encoding.table) and set(table["class"]) <= {"X2", "VacX", "VacX2", "M", "D"}
    matched = match_columns(table.assign(x=encoding.table["col"], y=encoding.table["row"]), micrograph.truth,
                            0.4 * nearest_neighbour_distance(HOSTS["WSe2"].a) / pixel)
    assert cohen_kappa(matched.y_true, matched.y_pred) >= 0.98
