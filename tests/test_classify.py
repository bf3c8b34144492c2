"""Full-field classification: sites with no peak are placed by the lattice model; every column gets a class."""

import warnings

import numpy as np
import pytest
from conftest import honeycomb_sites, render, untrained_weights
from scipy.spatial import cKDTree

from ctxlib.encoding.columns import find_columns
from ctxlib.encoding.features import locate_sites
from ctxlib.learning.spec import CONTEXT_MODELS
from ctxlib.materials.imaging import ImagingContext
from ctxlib.materials.motifs import CLASS_NAMES
from ctxlib.micrographs.classify import (ENSEMBLE, UNCERTAIN, TrustSettings, UncertainImageWarning,
                                         UntrainedContextWarning, classify_image)

PIXEL, A = 0.15, 3.282
WSE2_TI = ImagingContext("WSe2", "Ti", detector="HAADF", energy_kev=80)


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


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    """The five context-aware models, each trained for one epoch on random features (fast; they disagree)."""
    return untrained_weights(tmp_path_factory.mktemp("weights"), CONTEXT_MODELS)


def test_classify_image_gives_every_column_a_class_with_probabilities(random_weights):
    image, removed = _image_without(missing=1)
    result = classify_image(image, WSE2_TI, model="MLP-Simple", pixel_size=PIXEL,
                            weights_dir=random_weights, trust=TrustSettings(warn_share=1.0))
    table = result.table
    assert result.in_training_set and result.model == "MLP-Simple" and list(result.members) == ["MLP-Simple"]
    probabilities = table[[c for c in table if c.startswith("p_")]].to_numpy()
    assert np.allclose(probabilities.sum(axis=1), 1) and (table["entropy"] >= 0).all()
    assert set(table["vote"]) <= set(CLASS_NAMES) and (~table["has_peak"] & ~table["edge"]).sum() == 1
    assert (table["agreement"] == 1).all() and set(table["class"]) <= {*CLASS_NAMES, UNCERTAIN}
    assert np.array_equal(table["class"] == UNCERTAIN, table["outlier"])  # one model: only the outlier test
    with pytest.raises(ValueError, match="does not match WSe2's 3.282 A"):
        classify_image(image, WSE2_TI, pixel_size=0.3, weights_dir=random_weights)
    with pytest.raises(ValueError, match="'MLP-NoContext' is not"):
        classify_image(image, WSE2_TI, model="MLP-NoContext", pixel_size=PIXEL, weights_dir=random_weights)


def test_the_ensemble_votes_and_a_column_it_disagrees_on_is_uncertain(random_weights):
    image, _ = _image_without(missing=1)
    result = classify_image(image, WSE2_TI, pixel_size=PIXEL, weights_dir=random_weights,
                            trust=TrustSettings(min_agreement=1.0, warn_share=1.0))
    table = result.table
    assert result.model == ENSEMBLE and list(result.members) == list(CONTEXT_MODELS)
    mean = np.mean([p for p in result.members.values()], axis=0)
    assert np.allclose(table[[f"p_{n}" for n in CLASS_NAMES]].to_numpy(), mean)
    own = np.array([p.argmax(axis=1) for p in result.members.values()])
    assert np.allclose(table["agreement"], (own == table["label"].to_numpy()).mean(axis=0))
    split = (own != own[0]).any(axis=0)
    assert split.any() and (table["class"][split] == UNCERTAIN).all()  # random models disagree somewhere
    assert np.array_equal(table["uncertain"], split | table["outlier"].to_numpy())
    summary = result.summary()
    assert summary[UNCERTAIN] == table["uncertain"].sum() and summary["columns"] == len(table)
    with pytest.warns(UncertainImageWarning, match="of the columns are uncertain"):
        classify_image(image, WSE2_TI, pixel_size=PIXEL, weights_dir=random_weights,
                       trust=TrustSettings(min_agreement=1.0, warn_share=0.0))


def test_an_undoped_host_is_a_trained_context_without_a_dopant_class(random_weights):
    image, _ = _image_without(missing=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UntrainedContextWarning)
        result = classify_image(image, ImagingContext("WSe2", None, detector="HAADF", energy_kev=80), pixel_size=PIXEL,
                                weights_dir=random_weights, trust=TrustSettings(warn_share=1.0))
    assert result.in_training_set and (result.table["p_D"] == 0).all() and "D" not in set(result.table["vote"])
    assert all((p[:, CLASS_NAMES.index("D")] == 0).all() for p in result.members.values())


def test_a_pair_outside_the_training_set_is_warned_about_and_every_column_is_an_outlier(random_weights):
    image, _ = _image_without(missing=1)
    with pytest.warns(UntrainedContextWarning, match="WSe2 with dopant Re is not one of the 109"):
        result = classify_image(image, ImagingContext("WSe2", "Re", detector="HAADF", energy_kev=80), pixel_size=PIXEL,
                                weights_dir=random_weights, trust=TrustSettings(warn_share=1.0))
    assert not result.in_training_set and result.table["outlier"].all() and (result.table["class"] == UNCERTAIN).all()


def test_outlier_distances_follow_the_training_features_of_the_context():
    """Training-like rows (a third, independent draw) are seldom outliers; the same rows shifted by five standard
    deviations of a moment always are; rows are compared with the motifs of their own sublattice only."""
    from ctxlib.learning.dataset import context_features
    from ctxlib.learning.outliers import _MOMENTS, ReferenceSettings, context_reference
    from ctxlib.simulation.library import load_library

    reference = context_reference(WSE2_TI, settings=ReferenceSettings(quantile=0.999))
    X = context_features(load_library("WSe2", "Ti"), 80, "HAADF", 64, np.random.default_rng(99)).X
    assert (reference.distance(X) > reference.threshold).mean() < 0.01
    sd = np.sqrt(np.diag(np.linalg.inv(reference.precision)))
    shifted = X.copy()
    shifted[:, _MOMENTS[0]] += 5 * sd[0] + np.abs(reference.means[:, 0]).max()
    assert reference.outliers(shifted).all()
    flipped = X.copy()
    flipped[:, -2:] = flipped[:, -2:][:, ::-1]  # the other sublattice's flags
    assert np.median(reference.distance(flipped)) > np.median(reference.distance(X))


def test_trusted_columns_match_each_stand_in_column_to_its_truth():
    from ctxlib.micrographs.validation import trusted_columns
    from ctxlib.simulation.standins import load_test_micrograph

    table = trusted_columns({"Ti": load_test_micrograph("Ti")})
    assert set(table["detector"]) == {"HAADF", "MAADF"} and len(table) > 600
    assert np.array_equal(table["correct"], table["true"] == table["vote"])
    assert table["correct"].mean() > 0.99 and not table.loc[~table["edge"], "uncertain"].mean() > 0.05
    assert ((table["confidence"] > 0.2) & (table["confidence"] <= 1)).all()


def test_shifts_are_the_moments_from_the_nearest_motif_in_training_standard_deviations():
    from ctxlib.learning.dataset import context_features
    from ctxlib.learning.outliers import _MOMENTS, context_reference
    from ctxlib.simulation.library import load_library

    reference = context_reference(WSE2_TI)
    assert context_reference(ImagingContext("WSe2", "Ti")) is reference  # an equal context is the cached one
    X = context_features(load_library("WSe2", "Ti"), 80, "HAADF", 32, np.random.default_rng(7)).X
    shifts = reference.shifts(X)
    assert shifts.shape == (len(X), 6) and abs(np.median(shifts)) < 0.2 and 0.3 < np.std(shifts) < 2
    moved = X.copy()
    sd = np.sqrt(np.diag(np.linalg.inv(reference.precision)))
    moved[:, _MOMENTS[2]] += 20 * sd[2]  # far beyond the spacing of the motifs along this moment
    assert np.median(reference.shifts(moved)[:, 2]) > 3
