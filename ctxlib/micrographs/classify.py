"""Classifying every atomic column of a micrograph (paper §6): image -> per-column class.

:func:`classify_image` chains the §3 encoder (:func:`ctxlib.encoding.features.encode_image`:
lattice constant, crystal mask, every site of both sublattices from the lattice model,
pixel geometry, normalised patches, Zernike moments, context) with trained models.
Sites that make no intensity peak (a double vacancy, a dim S2 column) are placed by the
lattice model and classified like the others; columns at the image edge are classified
from patches completed by a third of a turn about the column (each column sits on a
three-fold axis of the lattice) and flagged ``edge``.

By default the five context-aware models classify together (:data:`ENSEMBLE`): a column's
class is their vote (:func:`ctxlib.learning.ensemble.ensemble_vote`), and a column is
``uncertain`` when fewer than :attr:`TrustSettings.min_agreement` of them agree with the
vote, or when its features lie outside the training features of its context
(:mod:`ctxlib.learning.outliers`). An ``uncertain`` column keeps its vote in ``vote`` and
``label``, but its ``class`` says ``uncertain``, not one of the five.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ctxlib.base.settings import check_number
from ctxlib.encoding.features import EncodingSettings, ImageEncoding, encode_image
from ctxlib.learning.ensemble import ensemble_vote
from ctxlib.learning.evaluation import predict_proba
from ctxlib.learning.metrics import row_entropy
from ctxlib.learning.outliers import ReferenceSettings, context_reference
from ctxlib.learning.pretrained import load_models, weights_folder
from ctxlib.learning.spec import CONTEXT_MODELS
from ctxlib.materials.catalog import check_choice, trained_pairs
from ctxlib.materials.imaging import ImagingContext
from ctxlib.materials.motifs import CLASS_NAMES
from ctxlib.micrographs.contrast import (ContextMismatchWarning, ContrastCheck, NearEqualSublatticesWarning,
                                         check_contrast)
from ctxlib.micrographs.intensities import intensity_classes

#: The model name that asks for the vote of the five context-aware models.
ENSEMBLE = "ensemble"
#: What ``model`` may name: the ensemble or one context-aware model.
MODEL_CHOICES: tuple[str, ...] = (ENSEMBLE, *CONTEXT_MODELS)
#: The class name of a column the tool does not trust.
UNCERTAIN = "uncertain"
#: The class an undoped host cannot have.
_DOPANT_CLASS = CLASS_NAMES.index("D")


#: The shipped weights used unless others are named: "quick" (``data/weights``) or "full"
#: (``data/weights-full``). The paper-scale weights become the default only where they are at
#: least as good as the quick ones on every stand-in set of section 6
#: (:func:`ctxlib.book.records.default_weights_scale`; ``tests/test_records.py`` holds this to the
#: shipped record of ``benchmarks/full_scale.py``).
DEFAULT_WEIGHTS_SCALE = "quick"


class UntrainedContextWarning(UserWarning):
    """The stated imaging context is not one the models were trained on."""


class UncertainImageWarning(UserWarning):
    """More of an image's columns are uncertain than :attr:`TrustSettings.warn_share`."""


#: The warnings about an image (not about how classify was called): what the CLI writes to summary.csv, and what
#: the book's scoring of many stand-ins silences.
IMAGE_WARNINGS: tuple[type[Warning], ...] = (UncertainImageWarning, ContextMismatchWarning, NearEqualSublatticesWarning)


@dataclass(frozen=True)
class TrustSettings:
    """When a column is called ``uncertain``, and when an image gets a warning.

    Attributes
    ----------
    min_agreement : float
        Smallest share of the ensemble's models that must agree with the vote (0.8: four
        of five). Ignored for a single model.
    reference : ReferenceSettings
        The training-feature reference and its outlier quantile (:mod:`ctxlib.learning.outliers`).
    warn_share : float
        Share of uncertain columns above which the image is flagged as a whole.
    contrast_tolerance : float
        Largest factor between the image's sublattice contrast and the stated context's before the image
        is flagged as a likely wrong host or detector (:mod:`ctxlib.micrographs.contrast`).
    """

    min_agreement: float = 0.8
    reference: ReferenceSettings = field(default_factory=lambda: ReferenceSettings(quantile=0.9999))
    warn_share: float = 0.1
    contrast_tolerance: float = 1.5

    def __post_init__(self) -> None:
        check_number("min_agreement", self.min_agreement, 0.0, 1.0)
        check_number("warn_share", self.warn_share, 0.0, 1.0)
        check_number("contrast_tolerance", self.contrast_tolerance, 1.0, 100.0)
        if not isinstance(self.reference, ReferenceSettings):
            raise TypeError(f"reference must be a ReferenceSettings, got {type(self.reference).__name__}")


@dataclass(frozen=True)
class Classification:
    """Result of :func:`classify_image`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per classified column (:data:`TABLE_UNITS` says what each holds).
    model : str
        :data:`ENSEMBLE` or the one model used.
    in_training_set : bool
        Whether the stated host and dopant are one of the pairs the models were trained on.
    encoding : ImageEncoding
        The encoding the models read (sites, domains, mask, calibration).
    members : dict
        Model name -> (N, 5) class probabilities of each model used.
    contrast : ContrastCheck or None
        The image's sublattice contrast against the stated context's (None for a context outside the training set).
    """

    table: pd.DataFrame
    model: str
    in_training_set: bool
    encoding: ImageEncoding
    members: dict
    contrast: ContrastCheck | None = None

    def summary(self) -> dict:
        """Per-image counts: columns per class (``uncertain`` included), and the shares of columns that are
        uncertain, on which every model agrees, whose features are outliers, and whose vote the classical
        intensity baseline shares; the measured sublattice contrast over the stated context's (nan: not checked)."""
        counts = self.table["class"].value_counts()
        return {"columns": len(self.table), **{n: int(counts.get(n, 0)) for n in (*CLASS_NAMES, UNCERTAIN)},
                "uncertain share": float(self.table["uncertain"].mean()) if len(self.table) else 0.0,
                "all models agree": float((self.table["agreement"] == 1).mean()) if len(self.table) else 0.0,
                "outlier share": float(self.table["outlier"].mean()) if len(self.table) else 0.0,
                "baseline agrees": float((self.table["intensity_class"] == self.table["vote"]).mean())
                if len(self.table) else 0.0,
                "contrast factor": self.contrast.factor if self.contrast is not None else float("nan")}


#: The columns of the per-column table and their units.
TABLE_UNITS: dict[str, str] = {
    "x": "pixels, column index of the image as given (0 = left edge of the first pixel's centre)",
    "y": "pixels, row index",
    "sublattice": "0 bright, 1 dim (lattice model, per domain)",
    "domain": "index of the lattice domain",
    "has_peak": "a visible intensity peak was found at the site (else the model's position)",
    "edge": "patch crossed the image edge and was completed by a third of a turn about the column",
    "boundary": "the site lies where two domains meet",
    "class": f"the vote's class name, or {UNCERTAIN!r} where the column is not trusted",
    "vote": "class name of the mean probability of the models used",
    "label": "class index 0-4 of the vote",
    **{f"p_{name}": f"probability of {name}, mean of the models used" for name in CLASS_NAMES},
    "entropy": "entropy of the mean probability, nats",
    "agreement": "share of the models used whose own most likely class is the vote (1 for one model)",
    "outlier_distance": "squared Mahalanobis distance of the Zernike moments to the nearest motif of the "
                        "context's training features (dimensionless; inf: no training features)",
    "outlier": "the features lie beyond the training features' threshold",
    "uncertain": "agreement below the setting's minimum, or an outlier",
    "intensity_class": "the classical baseline's class, from the column's intensity alone "
                       "(ctxlib.micrographs.intensities; 'unknown' for a pair outside the training set)",
    "relative_intensity": "centre intensity over the median of its sublattice and domain (0 where not measured)",
}


def classification_table(encoding_table: pd.DataFrame, probabilities: np.ndarray) -> pd.DataFrame:
    """The per-column output table of one model's probabilities, trusted as they are (no ensemble, no outlier
    test): every column ``agreement`` 1, not an outlier, not uncertain (:data:`TABLE_UNITS`)."""
    p = np.asarray(probabilities)
    return _table(encoding_table, p, p.argmax(axis=1), np.ones(len(p)), np.zeros(len(p)), np.zeros(len(p), bool),
                  np.zeros(len(p), bool))


def _table(encoding_table: pd.DataFrame, p: np.ndarray, label: np.ndarray, agreement: np.ndarray,
           distance: np.ndarray, outlier: np.ndarray, uncertain: np.ndarray) -> pd.DataFrame:
    """The per-column table of :data:`TABLE_UNITS` from its parts."""
    vote = np.array(CLASS_NAMES)[label]
    table = pd.DataFrame({"x": encoding_table["col"].to_numpy(), "y": encoding_table["row"].to_numpy(),
                          **{k: encoding_table[k].to_numpy() for k in ("sublattice", "domain", "has_peak", "edge",
                                                                        "boundary")},
                          "class": np.where(uncertain, UNCERTAIN, vote), "vote": vote, "label": label})
    for k, name in enumerate(CLASS_NAMES):
        table[f"p_{name}"] = p[:, k]
    table["entropy"] = row_entropy(p)
    table["agreement"] = agreement
    table["outlier_distance"] = distance
    table["outlier"] = outlier
    table["uncertain"] = uncertain
    return table


def without_dopant_class(probabilities: np.ndarray) -> np.ndarray:
    """Class probabilities with P(D) set to 0 and the rest renormalised: an undoped host has no dopant.

    >>> without_dopant_class(np.array([[0.1, 0.0, 0.0, 0.4, 0.5], [0, 0, 0, 0, 1]])).round(2).tolist()
    [[0.2, 0.0, 0.0, 0.8, 0.0], [0.25, 0.25, 0.25, 0.25, 0.0]]
    """
    p = np.array(probabilities, dtype=np.float64)
    p[:, _DOPANT_CLASS] = 0
    total = p.sum(axis=1, keepdims=True)
    uniform = np.full_like(p, 1 / (p.shape[1] - 1))  # a row that was all D: the other classes alike
    uniform[:, _DOPANT_CLASS] = 0
    return np.divide(p, total, out=uniform, where=total > 0)


def classify_image(
    image: np.ndarray, context: ImagingContext, *, model: str = ENSEMBLE,
    pixel_size: float | None = None, weights_dir=None, trust: TrustSettings = TrustSettings(),
    settings: EncodingSettings = EncodingSettings(), reverse_sites: bool = False,
) -> Classification:
    """Classify every atomic column of a micrograph with trained models, and say which columns to trust.

    Parameters
    ----------
    image : numpy.ndarray, 2-D
        HAADF or MAADF micrograph of a 1H MX2 monolayer (no NaN or infinity).
    context : ImagingContext
        Host, dopant, detector and beam energy (``dopant=None`` for an undoped host: trained
        as a context of its own, and P(D) is 0).
    model : str
        :data:`ENSEMBLE` (the vote of the five context-aware models) or one of
        :data:`ctxlib.learning.spec.CONTEXT_MODELS`.
    pixel_size : float, optional
        Angstrom per pixel; when given, the measured lattice constant must match the host's,
        when not, it is measured from the host's lattice.
    weights_dir : path, optional
        Trained models: the shipped weights of :data:`DEFAULT_WEIGHTS_SCALE` (default) or a
        training checkpoint folder (:func:`ctxlib.learning.pretrained.load_models`); attention models run in the
        batch-independent ``"frozen"`` mode.
    trust : TrustSettings
        When a column is ``uncertain``.
    settings : EncodingSettings
        How the columns are found and encoded (:func:`ctxlib.encoding.features.encode_image`).
    reverse_sites : bool
        Swap the site flags of the two sublattices (see :func:`ctxlib.encoding.features.encode_image`):
        :attr:`ctxlib.micrographs.microscope.MicroscopeMapping.sites_reversed` of the microscope that took it.

    Warns
    -----
    UntrainedContextWarning
        For a host and dopant the models were not trained on (every column is then an outlier).
    UncertainImageWarning
        When more than ``trust.warn_share`` of the columns are uncertain.
    ContextMismatchWarning
        When the image's sublattice contrast is more than ``trust.contrast_tolerance`` from the stated context's.
    NearEqualSublatticesWarning
        When the context's metal and X2 columns are nearly equally bright (the sublattices may be swapped).
    """
    check_choice(model, MODEL_CHOICES, "model")
    encoded = encode_image(image, context, pixel_size=pixel_size, settings=settings, reverse_sites=reverse_sites)
    names = CONTEXT_MODELS if model == ENSEMBLE else (model,)
    checkpoints = load_models(weights_dir or weights_folder(DEFAULT_WEIGHTS_SCALE), names)  # attention: frozen
    members = {name: predict_proba(checkpoints[name].model, name, encoded.features) for name in names}
    if context.dopant is None:
        members = {name: without_dopant_class(p) for name, p in members.items()}
    vote = ensemble_vote(list(members.values()))
    seen = context.trained
    if seen:
        reference = context_reference(context, settings=trust.reference)
        distance = reference.distance(encoded.features)
        outlier = distance > reference.threshold
    else:
        warnings.warn(f"{context.host} with dopant {context.dopant} is not one of the {len(trained_pairs())} host and "
                      "dopant pairs the models were trained on; every column is an outlier: treat the classes as a "
                      "guess and check them against the image", UntrainedContextWarning, stacklevel=2)
        distance, outlier = np.full(len(vote.label), np.inf), np.ones(len(vote.label), bool)
    uncertain = outlier | (vote.agreement < trust.min_agreement)
    table = _table(encoded.table, vote.probabilities, vote.label, vote.agreement, distance, outlier, uncertain)
    contrast = None
    if seen:  # the classical baseline and the contrast check read the context's simulated motifs
        baseline = intensity_classes(encoded, context)
        table["intensity_class"] = baseline["class"].to_numpy()
        table["relative_intensity"] = baseline["relative intensity"].to_numpy()
        contrast = check_contrast(encoded, context, tolerance=trust.contrast_tolerance)
        if not contrast.consistent:
            warnings.warn(contrast.message(context), ContextMismatchWarning, stacklevel=2)
        if contrast.near_equal:
            warnings.warn(contrast.near_equal_message(context), NearEqualSublatticesWarning, stacklevel=2)
    else:
        table["intensity_class"] = "unknown"
        table["relative_intensity"] = 0.0
    result = Classification(table, model, seen, encoded, members, contrast)
    share = result.summary()["uncertain share"]
    if share > trust.warn_share:
        warnings.warn(f"{share:.0%} of the columns are uncertain (more than {trust.warn_share:.0%}): the models disagree "
                      "or the image is unlike their training data; check the context and the image",
                      UncertainImageWarning, stacklevel=2)
    return result
