"""Full-field classification: sites with no peak are placed by the lattice model; every column gets a class."""

import numpy as np
import pytest
from conftest import honeycomb_sites, render
from scipy.spatial import cKDTree

from ctxlib.encoding.columns import find_columns
from ctxlib.encoding.features import locate_sites
from ctxlib.learning.pretrained import export_weights
from ctxlib.learning.training import Checkpoint, TrainingConfig, batches, train
from ctxlib.micrographs.classify import UntrainedContextWarning, classify_image

PIXEL, A = 0.15, 3.282


def _image_without(missing: int, stretch: float = 1.0, shape: int = 200):
    metal, chalcogen = honeycomb_sites(A, shape * PIXEL)
    metal, chalcogen = metal * [stretch, 1.0], chalcogen * [stretch, 1.0]
    centre = np.array([shape * PIXEL / 2] * 2)
    gone = np.argsort(np.hypot(*(chalcogen - centre).T))[:missing]
    kept = np.delete(chalcogen, gone, axis=0)
    image = render([metal, kept], [1.0, 0.7], shape, PIXEL)
    return image, chalcogen[gone][:, ::-1] / PIXEL  # (row, col) pixels of the removed columns


@pytest.mark.parametrize("stretch", [1.0, 1.03])
def test_removed_columns_are_placed_by_the_lattice_model_and_nothing_else_is_added(stretch):
    image, removed = _image_without(missing=2, stretch=stretch)
    found = find_columns(image, A / PIXEL)
    assert cKDTree(found).query(removed)[0].min() > 3  # the detector does not see them
    _, sites, _, _ = locate_sites(image)
    empty = ~sites.has_peak & np.all((sites.positions > 8) & (sites.positions < np.array(image.shape) - 9), axis=1)
    assert empty.sum() == 2 and cKDTree(sites.positions[empty]).query(removed)[0].max() < 0.5  # pixels


def test_classify_image_gives_every_column_a_class_with_probabilities(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(300, 31)).astype(np.float32), rng.integers(0, 5, 300)
    config = TrainingConfig("MLP-Simple", epochs=1, batch_size=50)
    model, history = train(config, lambda r: batches(X, y, 50, r), progress=False)
    export_weights({"MLP-Simple": Checkpoint(model, config, history, {})}, "quick", 0, {}, tmp_path)
    image, removed = _image_without(missing=1)
    result = classify_image(image, "WSe2", "Ti", "HAADF", 80, pixel_size=PIXEL, weights_dir=tmp_path)
    table = result.table
    assert result.in_training_set and result.model == "MLP-Simple"
    probabilities = table[[c for c in table if c.startswith("p_")]].to_numpy()
    assert np.allclose(probabilities.sum(axis=1), 1) and (table["entropy"] >= 0).all()
    assert set(table["class"]) <= {"X2", "VacX", "VacX2", "M", "D"} and (~table["has_peak"] & ~table["edge"]).sum() == 1
    with pytest.warns(UntrainedContextWarning, match="WSe2 with dopant None is not one of the 96"):
        assert not classify_image(image, "WSe2", None, "HAADF", 80, weights_dir=tmp_path).in_training_set
    with pytest.raises(ValueError, match="does not match WSe2's 3.282 A"):
        classify_image(image, "WSe2", "Ti", "HAADF", 80, pixel_size=0.3, weights_dir=tmp_path)
