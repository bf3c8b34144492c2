"""Classifying every atomic column of a micrograph (paper §6): image -> per-column class.

:func:`classify_image` chains the §3 encoder (:func:`ctxlib.encoding.features.encode_image`:
lattice constant from the autocorrelation, columns, sublattices and site flags,
normalised patches, Zernike moments, context) with a trained model. Columns that leave
no intensity peak, a double vacancy above all, are put back by
:func:`ctxlib.encoding.sites.fill_missing_sites` from the positions their neighbours predict, so they are
classified too. Columns too close to the border for a full patch are listed, not
classified.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ctxlib.encoding.features import encode_image
from ctxlib.learning.evaluation import predict_proba
from ctxlib.learning.metrics import row_entropy
from ctxlib.learning.pretrained import WEIGHTS, load_models
from ctxlib.materials.catalog import doped_hosts
from ctxlib.materials.motifs import CLASS_NAMES


class UntrainedContextWarning(UserWarning):
    """The stated imaging context is not one the models were trained on."""


@dataclass(frozen=True)
class Classification:
    """Result of :func:`classify_image`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per classified column: ``x``, ``y`` (pixels; x = column index, y = row
        index), ``sublattice``, ``filled`` (True for a site put back by
        :func:`ctxlib.encoding.sites.fill_missing_sites`), ``class`` (name), ``label`` (0-4), one probability
        column per class (``p_X2`` ...), and ``entropy`` (nats).
    border : numpy.ndarray, (B, 2)
        (row, col) of columns too close to the edge for a full patch (not classified).
    model : str
    in_training_set : bool
        Whether the stated context is one of the 576 the models were trained on.
    """

    table: pd.DataFrame
    border: np.ndarray
    model: str
    in_training_set: bool


def classification_table(encoding_table: pd.DataFrame, probabilities: np.ndarray) -> pd.DataFrame:
    """The per-column output table from an encoding's table and the model's probabilities."""
    p = np.asarray(probabilities)
    table = pd.DataFrame({"x": encoding_table["col"].to_numpy(), "y": encoding_table["row"].to_numpy(),
                          "sublattice": encoding_table["sublattice"].to_numpy(),
                          "filled": encoding_table["filled"].to_numpy(),
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
        Angstrom per pixel; when given, the measured lattice constant must match the host's.
    weights_dir : path, optional
        Trained models: the shipped ``data/weights`` (default) or a training checkpoint
        folder (:func:`ctxlib.learning.pretrained.load_models`); attention models run in the
        batch-independent ``"frozen"`` mode.
    """
    encoding = encode_image(image, host, dopant, detector, energy_kev, pixel_size, fill_missing=True)
    checkpoint = load_models(weights_dir or WEIGHTS, (model,))[model]  # attention models: frozen (their spec)
    probabilities = predict_proba(checkpoint.model, model, encoding.features)
    seen = (host, dopant) in doped_hosts()
    if not seen:
        warnings.warn(f"{host} with dopant {dopant} is not one of the 96 doped hosts the models were trained on; "
                      "treat the classes as a guess and check them against the image", UntrainedContextWarning,
                      stacklevel=2)
    return Classification(classification_table(encoding.table, probabilities), encoding.border, model, seen)
