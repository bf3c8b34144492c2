"""Classifying every atomic column of a micrograph (paper §6): image -> per-column class.

:func:`classify_image` chains the §3 encoder (:func:`ctxlib.encoding.features.encode_image`:
lattice constant, crystal mask, every site of both sublattices from the lattice model,
pixel geometry, normalised patches, Zernike moments, context) with a trained model.
Sites that make no intensity peak (a double vacancy, a dim S2 column) are placed by the
lattice model and classified like the others; columns at the image edge are classified
from patches completed by reflection and flagged ``edge``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ctxlib.encoding.features import ImageEncoding, encode_image
from ctxlib.learning.evaluation import predict_proba
from ctxlib.learning.metrics import row_entropy
from ctxlib.learning.pretrained import load_models, weights_folder
from ctxlib.materials.catalog import doped_hosts
from ctxlib.materials.motifs import CLASS_NAMES


#: The shipped weights used unless others are named: "quick" (``data/weights``) or "full"
#: (``data/weights-full``). The paper-scale weights become the default only where they are at
#: least as good as the quick ones on every stand-in set of section 6
#: (:func:`ctxlib.book.records.default_weights_scale`; ``tests/test_records.py`` holds this to the
#: shipped record of ``benchmarks/full_scale.py``).
DEFAULT_WEIGHTS_SCALE = "quick"


class UntrainedContextWarning(UserWarning):
    """The stated imaging context is not one the models were trained on."""


@dataclass(frozen=True)
class Classification:
    """Result of :func:`classify_image`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per classified column (:data:`TABLE_UNITS` says what each holds).
    model : str
    in_training_set : bool
        Whether the stated context is one of the 576 the models were trained on.
    encoding : ImageEncoding
        The encoding the model read (sites, domains, mask, calibration).
    """

    table: pd.DataFrame
    model: str
    in_training_set: bool
    encoding: ImageEncoding


#: The columns of the per-column table and their units.
TABLE_UNITS: dict[str, str] = {
    "x": "pixels, column index of the image as given (0 = left edge of the first pixel's centre)",
    "y": "pixels, row index",
    "sublattice": "0 bright, 1 dim (lattice model, per domain)",
    "domain": "index of the lattice domain",
    "has_peak": "a visible intensity peak was found at the site (else the model's position)",
    "edge": "patch crossed the image edge and was completed by reflection",
    "boundary": "the site lies where two domains meet",
    "class": "predicted class name", "label": "predicted class index 0-4",
    **{f"p_{name}": f"probability of {name}" for name in CLASS_NAMES},
    "entropy": "posterior entropy, nats",
}


def classification_table(encoding_table: pd.DataFrame, probabilities: np.ndarray) -> pd.DataFrame:
    """The per-column output table (:data:`TABLE_UNITS`) from an encoding's table and the model's probabilities."""
    p = np.asarray(probabilities)
    table = pd.DataFrame({"x": encoding_table["col"].to_numpy(), "y": encoding_table["row"].to_numpy(),
                          **{k: encoding_table[k].to_numpy() for k in ("sublattice", "domain", "has_peak", "edge",
                                                                        "boundary")},
                          "class": np.array(CLASS_NAMES)[p.argmax(axis=1)], "label": p.argmax(axis=1)})
    for k, name in enumerate(CLASS_NAMES):
        table[f"p_{name}"] = p[:, k]
    table["entropy"] = row_entropy(p)
    return table


def classify_image(
    image: np.ndarray, host: str, dopant: str | None, detector: str, energy_kev: int, model: str = "MLP-Simple",
    pixel_size: float | None = None, weights_dir=None,
) -> Classification:
    """Classify every atomic column of a micrograph with a trained model.

    Parameters
    ----------
    image : numpy.ndarray, 2-D
        HAADF or MAADF micrograph of a 1H MX2 monolayer (no NaN or infinity).
    host, dopant, detector, energy_kev
        The imaging context (``dopant=None`` for an undoped host: the dopant block of the
        context is then zero, a context the models never saw in training).
    model : str
        One of :data:`ctxlib.learning.spec.CONTEXT_MODELS`.
    pixel_size : float, optional
        Angstrom per pixel; when given, the measured lattice constant must match the host's,
        when not, it is measured from the host's lattice.
    weights_dir : path, optional
        Trained models: the shipped weights of :data:`DEFAULT_WEIGHTS_SCALE` (default) or a
        training checkpoint folder (:func:`ctxlib.learning.pretrained.load_models`); attention models run in the
        batch-independent ``"frozen"`` mode.
    """
    encoding = encode_image(image, host, dopant, detector, energy_kev, pixel_size)
    weights_dir = weights_dir or weights_folder(DEFAULT_WEIGHTS_SCALE)
    checkpoint = load_models(weights_dir, (model,))[model]  # attention models: frozen (their spec)
    probabilities = predict_proba(checkpoint.model, model, encoding.features)
    seen = (host, dopant) in doped_hosts()
    if not seen:
        warnings.warn(f"{host} with dopant {dopant} is not one of the 96 doped hosts the models were trained on; "
                      "treat the classes as a guess and check them against the image", UntrainedContextWarning,
                      stacklevel=2)
    return Classification(classification_table(encoding.table, probabilities), model, seen, encoding)
