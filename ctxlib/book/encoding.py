"""The encoding page's (notebook 01) computations: a simulated field encoded in each detector with every site's
true column, example patches with their Zernike moments, and the per-column site-flag summary."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from ctxlib.encoding.features import ImageEncoding, encode_image
from ctxlib.encoding.zernike import zernike_moments
from ctxlib.materials.imaging import ImagingContext
from ctxlib.simulation.scans import column_species

#: The columns of :func:`sublattice_summary`: the lattice model's sublattice, the normalised centre intensity and the
#: two site flags.
SUMMARY_COLUMNS: tuple[str, ...] = ("sublattice", "centre_intensity", "site:bright", "site:dim")


def encode_fields(fields: dict[str, object], context: ImagingContext, cell, *,
                  pixel_size: float) -> dict[str, ImageEncoding]:
    """Encode the simulated field of each detector, and name the true column of every site.

    Parameters
    ----------
    fields : dict
        Detector name -> ``abtem.Images`` (or anything with ``array``, indexed (x, y), and ``sampling``,
        Angstrom per pixel along x and y), e.g. from :func:`ctxlib.simulation.scans.periodic_fields`.
    context : ImagingContext
        Host, dopant and beam energy; its detector is replaced by each field's name.
    cell : ase.Atoms
        The orthogonal periodic cell the fields were simulated from, with the field's origin.
    pixel_size : float
        Angstrom per pixel given to :func:`~ctxlib.encoding.features.encode_image`.

    Returns
    -------
    dict
        Detector name -> :class:`~ctxlib.encoding.features.ImageEncoding`, whose table gains ``column``: the
        column of ``cell`` at each site (:func:`~ctxlib.simulation.scans.column_species`, e.g. ``"W"``,
        ``"Se2"``; ``""`` where none lies within 0.5 A).
    """
    encodings = {}
    for name, field in fields.items():
        encoding = encode_image(field.array, replace(context, detector=name), pixel_size=pixel_size)
        xy = encoding.table[["row", "col"]].to_numpy() * np.asarray(field.sampling)  # the array's axes are (x, y)
        encoding.table["column"] = column_species(cell, xy)
        encodings[name] = encoding
    return encodings


def column_examples(encoding: ImageEncoding, *,
                    rng: np.random.Generator) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """One randomly chosen patch of each column type of an encoded image, and its Zernike moments.

    Parameters
    ----------
    encoding : ImageEncoding
        With the true ``column`` of each site in its table (:func:`encode_fields`).
    rng : numpy.random.Generator
        Draws, for each column type in the order the table first names it, one of its sites.

    Returns
    -------
    patches : dict
        Column type -> its normalised patch.
    moments : dict
        Column type -> the patch's m = 0 Zernike moments (:func:`~ctxlib.encoding.zernike.zernike_moments`).
    """
    species = encoding.table["column"].to_numpy()
    chosen = {name: rng.choice(np.flatnonzero(species == name)) for name in dict.fromkeys(species)}
    patches = {name: encoding.patches[i] for name, i in chosen.items()}
    return patches, {name: zernike_moments(patch) for name, patch in patches.items()}


def sublattice_summary(encodings: dict[str, ImageEncoding]) -> pd.DataFrame:
    """Per detector and true column type, the mean of :data:`SUMMARY_COLUMNS` over its sites.

    Returns
    -------
    pandas.DataFrame
        Index (detector, column) in the order of ``encodings``, then of the column names; a ``sublattice``,
        ``site:bright`` or ``site:dim`` of exactly 0 or 1 means every site of that type fell on one sublattice.
    """
    return pd.concat({name: enc.table.groupby("column")[list(SUMMARY_COLUMNS)].mean()
                      for name, enc in encodings.items()})


def brighter_columns(summary: pd.DataFrame) -> dict[str, str]:
    """Per detector, the column type whose sites carry the bright site flag (the largest mean ``site:bright``).

    Parameters
    ----------
    summary : pandas.DataFrame
        From :func:`sublattice_summary`.

    Returns
    -------
    dict
        Detector -> column type, in the order of the summary.
    """
    bright = summary["site:bright"]
    return {name: bright.loc[name].idxmax() for name in bright.index.get_level_values(0).unique()}


def feature_table(encodings: dict[str, ImageEncoding]) -> pd.DataFrame:
    """The tables of several encodings one below the other, under an outer index level ``detector``."""
    return pd.concat({name: enc.table for name, enc in encodings.items()}, names=["detector"])
