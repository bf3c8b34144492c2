"""The classical baseline: a column's class from its intensity alone, as quantitative ADF does.

In: an image's encoding (every site's centre intensity, sublattice and domain) and its
imaging context. Out: per column a class and the intensity it was read from, made without
any trained model, to set beside the deep models' classes.

Microscopists classify vacancies and heavy dopants by column intensity (atomap, TEMUL): an
ADF column's intensity grows with the atomic number of what it holds, so a single
chalcogen vacancy is about half an X2 column and a dopant differs from the host metal by
its Z. Here:

1. **Intensity**: the mean of the normalised image over a disc of about 0.3 of the column
   spacing around each site (:func:`ctxlib.encoding.patches.centre_intensity`, the same
   number that sets the site flags), divided by the median of its sublattice in its domain
   (pristine columns are the majority), so that drift of dose or gain across grains cancels.
2. **Expected levels**: the same number on the clean simulated motifs of the context
   (:func:`expected_levels`: each class at the centre of its motif with pristine
   neighbours), relative to the pristine column of its sublattice; which sublattice is the
   metal one follows from the brighter pristine column (Fig. S2).
3. **Mixture per sublattice**: a one-dimensional Gaussian mixture, one component per class
   the sublattice can hold (X2, VacX, VacX2; M and, with a dopant, D), with one shared
   variance, started at the expected levels (scikit-learn's ``GaussianMixture``); each
   column takes the class of its most probable component.

It sees one number per column, so it cannot tell classes of equal intensity apart (a
dopant of Z close to the host metal's), and a wrong context moves its expected levels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ctxlib.base.intensity import IntensityNormaliser
from ctxlib.encoding.features import ImageEncoding
from ctxlib.encoding.patches import centre_intensity
from ctxlib.learning.dataset import motif_patches
from ctxlib.materials.catalog import DETECTORS, ENERGIES_KEV, HOSTS, parse_pair_name
from ctxlib.materials.imaging import ImagingContext
from ctxlib.materials.motifs import CLASS_NAMES, MOTIF_NAMES, PRISTINE
from ctxlib.simulation.library import library_source, load_library, read_manifest

#: The motif whose centre stands for each class: the class with pristine neighbours.
_CLASS_MOTIFS = {"X2": "X2[M,M,M]", "VacX": "VacX[M,M,M]", "VacX2": "VacX2[M,M,M]", "M": "M[X2,X2,X2]",
                 "D": "D[X2,X2,X2]"}
_CHALCOGEN_CLASSES, _METAL_CLASSES = ("X2", "VacX", "VacX2"), ("M", "D")


def expected_levels(context: ImagingContext) -> pd.DataFrame:
    """Each class's centre intensity on the clean simulated motifs of a context.

    Parameters
    ----------
    context : ImagingContext
        Host, dopant, detector and beam energy.

    Returns
    -------
    pandas.DataFrame
        Indexed by class name (no D for an undoped host): ``metal_site`` (bool), ``level``
        (normalised centre intensity, the pristine motif's image at background 0, mean 1)
        and ``relative`` (``level`` over the pristine column of the same sublattice).

    Raises
    ------
    ValueError
        For a host and dopant with no library file.
    """
    name = context.pair
    source = library_source(name, read_manifest()["files"])
    if source is None:
        raise ValueError(f"no library file for {name}: the classical baseline needs the context's simulated motifs")
    entry = load_library(*parse_pair_name(source))
    clean = entry.images[ENERGIES_KEV.index(context.energy_kev), :, tuple(DETECTORS).index(context.detector)]
    classes = [c for c in CLASS_NAMES if context.dopant is not None or c != "D"]
    motifs = [MOTIF_NAMES.index(_CLASS_MOTIFS[c]) for c in classes]
    normalised = IntensityNormaliser().fit(clean[PRISTINE]).transform(clean[motifs])
    level = centre_intensity(motif_patches(normalised, entry.pixel_size, HOSTS[entry.host].a))
    metal = np.array([c in _METAL_CLASSES for c in classes])
    pristine = {True: level[classes.index("M")], False: level[classes.index("X2")]}
    return pd.DataFrame({"metal_site": metal, "level": level,
                         "relative": level / np.array([pristine[m] for m in metal])}, index=classes)


def intensity_classes(encoding: ImageEncoding, context: ImagingContext) -> pd.DataFrame:
    """Classes of every column of an encoded image from its intensity alone (steps in the module docstring).

    Parameters
    ----------
    encoding : ImageEncoding
        The image's encoding (:func:`ctxlib.encoding.features.encode_image`).
    context : ImagingContext
        The context it was encoded in (its expected levels, :func:`expected_levels`).

    Returns
    -------
    pandas.DataFrame
        One row per row of ``encoding.table``: ``relative intensity`` (centre intensity over
        the median of its sublattice and domain), ``class`` and ``label`` (0-4).
    """
    from sklearn.mixture import GaussianMixture

    levels = expected_levels(context)
    metal_is_bright = levels.loc["M", "level"] >= levels.loc["X2", "level"]
    table = encoding.table
    intensity = table["centre_intensity"].to_numpy(np.float64)
    relative = np.empty_like(intensity)
    label = np.empty(len(table), int)
    for (_, sublattice), rows in table.groupby(["domain", "sublattice"]).groups.items():
        rows = np.asarray(rows)
        relative[rows] = intensity[rows] / np.median(intensity[rows])
    for sublattice in (0, 1):
        rows = np.flatnonzero(table["sublattice"].to_numpy() == sublattice)
        metal = (sublattice == 0) == metal_is_bright
        classes = [c for c in levels.index if levels.loc[c, "metal_site"] == metal]
        if len(classes) == 1 or len(rows) <= len(classes):  # nothing to tell apart, or too few to fit: nearest level
            nearest = np.abs(relative[rows, None] - levels.loc[classes, "relative"].to_numpy()[None]).argmin(axis=1)
            label[rows] = [CLASS_NAMES.index(classes[k]) for k in nearest]
            continue
        start = levels.loc[classes, "relative"].to_numpy()[:, None]
        weights = np.r_[0.9, np.full(len(classes) - 1, 0.1 / (len(classes) - 1))]
        mixture = GaussianMixture(len(classes), covariance_type="tied", means_init=start, weights_init=weights,
                                  random_state=0).fit(relative[rows, None])
        component = mixture.predict(relative[rows, None])
        # a component is named by the expected level nearest its fitted mean (EM may move one past another)
        names = np.abs(mixture.means_[:, :1] - start.T).argmin(axis=1)
        label[rows] = [CLASS_NAMES.index(classes[names[k]]) for k in component]
    return pd.DataFrame({"relative intensity": relative, "class": np.array(CLASS_NAMES)[label], "label": label})
