"""Scoring column classifications against reference labels (paper §6, Table 1, Fig. 6).

The reference is a table of labelled columns (the simulated truth of a test micrograph,
or the consensus of human annotators, :mod:`ctxlib.micrographs.labelling`); predictions are matched
to it by position. Agreement is Cohen's kappa over the five classes (unweighted: the
classes are nominal) and, for the rare classes that matter, the F1 of each defect class
(single vacancy, double vacancy, dopant) against everything else.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
import warnings
from typing import Iterable, Iterator

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ctxlib.encoding.columns import nearest_neighbour_distance
from ctxlib.encoding.features import EncodingSettings, ImageEncoding, encode_image
from ctxlib.encoding.zernike import ZERNIKE_FEATURE_NAMES
from ctxlib.learning.evaluation import predict_proba
from ctxlib.learning.metrics import bootstrap_interval, class_f1, cohen_kappa, defect_f1, selective_accuracy
from ctxlib.learning.models import attention_mode
from ctxlib.learning.outliers import context_reference
from ctxlib.learning.pretrained import load_models, weights_folder
from ctxlib.learning.spec import CONTEXT_MODELS, model_spec
from ctxlib.materials.catalog import DETECTORS, HOSTS, UNDOPED
from ctxlib.materials.imaging import ImagingContext
from ctxlib.materials.motifs import CLASS_NAMES
from ctxlib.simulation.augmentation import AugmentationSettings
from ctxlib.simulation.realism import REAL_EFFECTS, with_effect
from ctxlib.simulation.standins import HARD_CASES, MICROSCOPE_CASES, HardCase, load_hard_case
from ctxlib.micrographs.classify import (DEFAULT_WEIGHTS_SCALE, IMAGE_WARNINGS, TrustSettings, classification_table,
                                         classify_image)
from ctxlib.micrographs.microscope import nearest_trained_context

#: The defect classes of Table 1, by label.
DEFECT_NAMES: dict[int, str] = {1: "single vacancy", 2: "double vacancy", 4: "dopant"}


@dataclass(frozen=True)
class Matched:
    """Predicted and reference labels of the columns found in both, and what was left over.

    Attributes
    ----------
    y_true, y_pred : numpy.ndarray of int
    pred_index, ref_index : numpy.ndarray of int
        Row of each matched pair in the predicted and in the reference table.
    missed : int
        Reference columns with no prediction within reach (not scored).
    spurious : int
        Predicted columns with no reference column within reach (not scored).
    """

    y_true: np.ndarray
    y_pred: np.ndarray
    pred_index: np.ndarray
    ref_index: np.ndarray
    missed: int
    spurious: int


def match_reach(host: str) -> float:
    """Largest distance, Angstrom, at which a classified column matches a true column of ``host``: 0.4 of its
    nearest-neighbour (metal-X2) distance, so a column never matches a neighbour's site.

    >>> round(match_reach("WSe2"), 3)
    0.758
    """
    return 0.4 * nearest_neighbour_distance(HOSTS[host].a)


def match_columns(predicted: pd.DataFrame, reference: pd.DataFrame, max_distance_px: float) -> Matched:
    """Pair each predicted column (``x``, ``y``, ``label``) with the nearest reference column
    (``col``, ``row``, ``label``) within ``max_distance_px``; each reference column is used once.

    Reference columns outside the region the prediction covers (e.g. at the border, where
    no full patch fits) count as ``missed``.
    """
    if max_distance_px <= 0:
        raise ValueError(f"max_distance_px must be positive, got {max_distance_px}")
    ref_xy = reference[["col", "row"]].to_numpy(dtype=np.float64)
    pred_xy = predicted[["x", "y"]].to_numpy(dtype=np.float64)
    distance, nearest = cKDTree(ref_xy).query(pred_xy, distance_upper_bound=max_distance_px)
    found = np.isfinite(distance)
    order = np.argsort(distance[found])  # closest pairs claim their reference column first
    pred_index, ref_index = np.flatnonzero(found)[order], nearest[found][order]
    _, first = np.unique(ref_index, return_index=True)
    pred_index, ref_index = pred_index[first], ref_index[first]
    return Matched(reference["label"].to_numpy()[ref_index].astype(int), predicted["label"].to_numpy()[pred_index].astype(int),
                   pred_index, ref_index, missed=len(reference) - len(ref_index), spurious=len(predicted) - len(pred_index))


#: Truth regions of a test micrograph (column ``region`` of its truth table).
REGIONS: dict[int, str] = {0: "bulk", 1: "domain boundary", 2: "hole edge"}


def site_recovery(predicted: pd.DataFrame, reference: pd.DataFrame, max_distance_px: float) -> dict[str, float]:
    """How well the sites were found: share of true sites found, and sublattice accuracy.

    Parameters
    ----------
    predicted : pandas.DataFrame
        ``x``, ``y`` (pixels) and ``sublattice`` (0/1) per predicted site.
    reference : pandas.DataFrame
        True sites: ``col``, ``row`` (pixels), ``label`` (metal sites are labels 3 and 4), and
        optionally ``region`` (:data:`REGIONS`; absent: all bulk).
    max_distance_px : float
        Largest distance at which a prediction finds a true site, pixels.

    Returns
    -------
    dict
        ``found (bulk)`` and ``found (all)``: shares of true sites with a prediction within
        reach, in the bulk (region 0) and over all; ``sublattice accuracy (bulk)`` and
        ``(all)``: share of matched sites whose predicted sublattice is the true one, under the
        one assignment of {0, 1} to {metal, X2} that suits the whole image best (so a grain
        labelled the wrong way round counts as wrong); ``spurious``: predictions with no true
        site within reach.
    """
    matched = match_columns(predicted.assign(label=0), reference, max_distance_px)
    region = reference["region"].to_numpy() if "region" in reference else np.zeros(len(reference), int)
    found = np.zeros(len(reference), bool)
    found[matched.ref_index] = True
    metal = reference["label"].to_numpy()[matched.ref_index] >= 3
    right = metal != (predicted["sublattice"].to_numpy()[matched.pred_index] == 1)  # naming: sublattice 0 = metal
    if right.mean() < 0.5:
        right = ~right  # the other naming suits the image better
    bulk = region[matched.ref_index] == 0
    return {"true sites": len(reference), "found (bulk)": float(found[region == 0].mean()),
            "found (all)": float(found.mean()), "sublattice accuracy (bulk)": float(right[bulk].mean()),
            "sublattice accuracy (all)": float(right.mean()), "spurious": matched.spurious}


def subset(matched: Matched, keep: np.ndarray) -> Matched:
    """The matched pairs selected by a boolean mask (missed and spurious counts kept as they were)."""
    return Matched(matched.y_true[keep], matched.y_pred[keep], matched.pred_index[keep], matched.ref_index[keep],
                   matched.missed, matched.spurious)


def accuracy(matched: Matched) -> float:
    """Share of matched columns whose predicted class is the true one (NaN when none are matched)."""
    return float(np.mean(matched.y_true == matched.y_pred)) if len(matched.y_true) else float("nan")


def agreement(matched: Matched) -> dict[str, float]:
    """Cohen's kappa, the binary defect F1 and the F1 of each defect class of one matched set."""
    scores = {"kappa": cohen_kappa(matched.y_true, matched.y_pred), "defect F1": defect_f1(matched.y_true, matched.y_pred)}
    for label, name in DEFECT_NAMES.items():
        present = np.any(matched.y_true == label) or np.any(matched.y_pred == label)
        scores[f"F1 {name}"] = class_f1(matched.y_true, matched.y_pred, label) if present else np.nan
    return scores


@dataclass(frozen=True)
class ModelScores:
    """What :func:`score_models` found on one image.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per model and attention mode (``"-"`` for an MLP): ``scored``, ``missed``,
        ``spurious``, the :func:`agreement` scores of the columns away from the image edge, the
        number of ``edge columns`` (patch completed at the image edge) and the accuracy on edge and
        interior columns.
    classifications : dict
        ``(model, mode)`` -> the per-column table of :func:`~ctxlib.micrographs.classify.classification_table`.
    encoding : ImageEncoding
        The image's encoding, shared by all models.
    sites : dict
        :func:`site_recovery` of the encoding's sites, and ``peak picking``: the share of the
        true sites that peak picking alone found (before the lattice model).
    """

    table: pd.DataFrame
    classifications: dict
    encoding: ImageEncoding
    sites: dict


def score_models(
    image: np.ndarray, truth: pd.DataFrame, context: ImagingContext,
    pixel_size: float, checkpoints: dict, reach_px: float, *, modes: tuple[str, ...] = ("frozen", "batch"),
    settings: EncodingSettings = EncodingSettings(),
) -> ModelScores:
    """Encode an image once and score every model against its reference columns.

    Attention models are scored in each of ``modes`` (restored afterwards), with all the
    columns of the image as one batch, the way an image is classified; MLPs once.

    Parameters
    ----------
    image : numpy.ndarray, 2-D
    truth : pandas.DataFrame
        Reference columns (``col``, ``row`` in pixels, ``label``).
    context : ImagingContext
        The imaging context.
    pixel_size : float
        Angstrom per pixel.
    checkpoints : dict
        Model name -> :class:`~ctxlib.learning.training.Checkpoint`.
    reach_px : float
        Largest distance, pixels, at which a prediction matches a reference column.
    modes : tuple of str
        Attention modes to score.
    settings : EncodingSettings
        How the image is encoded (sites, mask, patches), as for :func:`~ctxlib.micrographs.classify.classify_image`.
    """
    encoding = encode_image(image, context, pixel_size=pixel_size, settings=settings)
    sites = site_recovery(encoding.table.rename(columns={"col": "x", "row": "y"}), truth, reach_px)
    if not encoding.calibration.resampled:  # peaks are in the image's own pixels
        peaks = pd.DataFrame({"x": encoding.sites.peaks[:, 1], "y": encoding.sites.peaks[:, 0], "label": 0})
        sites["peak picking"] = 1 - match_columns(peaks, truth, reach_px).missed / len(truth)
    rows, tables = [], {}
    for name, checkpoint in checkpoints.items():
        for mode in modes if model_spec(name).kind == "attention" else ("-",):
            with attention_mode(checkpoint.model, None if mode == "-" else mode):
                p = predict_proba(checkpoint.model, name, encoding.features, batch_size=len(encoding.features))
            table = classification_table(encoding.table, p)
            matched = match_columns(table, truth, reach_px)
            edge = table["edge"].to_numpy()[matched.pred_index]
            rows.append({"model": name, "mode": mode, "scored": len(matched.y_true), "missed": matched.missed,
                         "spurious": matched.spurious, **agreement(subset(matched, ~edge)),
                         "edge columns": int(edge.sum()), "accuracy (edge)": accuracy(subset(matched, edge)),
                         "accuracy (interior)": accuracy(subset(matched, ~edge))})
            tables[(name, mode)] = table
    return ModelScores(pd.DataFrame(rows), tables, encoding, sites)


def score_standins(
    micrographs: dict, checkpoints: dict, *, host: str = "WSe2", energy_kev: int = 80,
    modes: tuple[str, ...] = ("frozen", "batch"), settings: EncodingSettings = EncodingSettings(),
) -> Iterator[tuple[str | None, str, ModelScores]]:
    """Score every model on each stand-in micrograph, in each detector (section 6).

    Parameters
    ----------
    micrographs : dict
        Dopant -> :class:`~ctxlib.simulation.standins.TestMicrograph` of ``host``.
    checkpoints : dict
        Model name -> :class:`~ctxlib.learning.training.Checkpoint`.
    host : str
    energy_kev : int
        Beam energy, keV.
    modes : tuple of str
        Attention modes to score (see :func:`score_models`).
    settings : EncodingSettings
        How each image is encoded.

    Yields
    ------
    dopant, detector, ModelScores
        One per micrograph and detector; a prediction matches a true column within 0.4 of
        the host's nearest-neighbour distance.
    """
    reach = match_reach(host)  # Angstrom
    for dopant, micrograph in micrographs.items():
        pixel = float(np.mean(micrograph.pixel_size))
        for detector in DETECTORS:
            context = ImagingContext(host, dopant, detector=detector, energy_kev=energy_kev)
            yield dopant, detector, score_models(micrograph.image(detector), micrograph.truth, context, pixel,
                                                 checkpoints, reach / pixel, modes=modes, settings=settings)


def standin_means(micrographs: dict, checkpoints: dict, *, host: str = "WSe2", energy_kev: int = 80,
                  modes: tuple[str, ...] = ("frozen",)) -> pd.DataFrame:
    """Kappa and interior accuracy of every model (and mode), averaged over the stand-ins and detectors
    (arguments as :func:`score_standins`)."""
    runs = [scores.table for _, _, scores in score_standins(micrographs, checkpoints, host=host, energy_kev=energy_kev,
                                                                      modes=modes)]
    return pd.concat(runs).groupby(["model", "mode"])[["kappa", "accuracy (interior)"]].mean()


def describe_test_micrographs(micrographs: dict, *, host: str = "WSe2") -> pd.DataFrame:
    """What each test micrograph holds: its size and how many true columns of each class.

    Parameters
    ----------
    micrographs : dict
        Dopant -> :class:`~ctxlib.simulation.standins.TestMicrograph` of ``host``.
    host : str
        Named in each row.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``micrograph`` (``"<host> + <dopant>"``): ``pixels`` (``"<ny>x<nx>"``), ``pixel (A)``
        (the mean of the two pixel sides, Angstrom, to 4 decimals) and the number of true columns of each class
        (:data:`~ctxlib.materials.motifs.CLASS_NAMES`).
    """
    rows = []
    for dopant, micrograph in micrographs.items():
        counts = micrograph.truth["class"].value_counts()
        rows.append({"micrograph": f"{host} + {dopant}", "pixels": "x".join(map(str, micrograph.degraded.shape[1:])),
                     "pixel (A)": round(float(np.mean(micrograph.pixel_size)), 4),
                     **{c: int(counts.get(c, 0)) for c in CLASS_NAMES}})
    return pd.DataFrame(rows).set_index("micrograph")


def describe_hard_cases(micrographs: dict, *, cases: dict[str, HardCase] = HARD_CASES) -> pd.DataFrame:
    """How each hard case was made, and how many of its true columns lie in each region.

    Parameters
    ----------
    micrographs : dict
        Case name -> :class:`~ctxlib.simulation.standins.TestMicrograph`, for every case of ``cases``.
    cases : dict
        Case name -> :class:`~ctxlib.simulation.standins.HardCase`.

    Returns
    -------
    pandas.DataFrame
        Indexed by case (object columns): ``description``, ``host``, ``dopant``, ``energy (keV)``,
        ``defocus (A)``, ``source (A)`` (source size FWHM, Angstrom), ``dose (e/A^2)``, ``columns`` (true
        columns) and the number of true columns in each region (:data:`REGIONS`).
    """
    return pd.DataFrame({name: {"description": case.description, "host": case.field.host, "dopant": case.dopant,
                                "energy (keV)": case.field.energy_kev, "defocus (A)": case.field.defocus,
                                "source (A)": case.degradation.source_fwhm, "dose (e/A^2)": case.degradation.dose,
                                "columns": len(micrographs[name].truth),
                                **{REGIONS[r]: int((micrographs[name].truth["region"] == r).sum()) for r in REGIONS}}
                         for name, case in cases.items()}).T


@dataclass(frozen=True)
class ScoredImages:
    """The runs of :func:`score_standins` or :func:`score_hard_cases`, gathered by :func:`collect_scores`.

    Attributes
    ----------
    table : pandas.DataFrame
        Every row of every run's :attr:`ModelScores.table`, after two columns naming the run: the image (column
        named by ``key``) and the ``detector``.
    sites : pandas.DataFrame
        :attr:`ModelScores.sites` of each run, indexed by (image, detector).
    scores : dict
        (image, detector) -> :class:`ModelScores`.
    """

    table: pd.DataFrame
    sites: pd.DataFrame
    scores: dict


def collect_scores(runs: Iterable[tuple[str | None, str, ModelScores]], *, key: str = "dopant") -> ScoredImages:
    """Gather the runs of :func:`score_standins` or :func:`score_hard_cases` into one table.

    Parameters
    ----------
    runs : iterable of (image, detector, ModelScores)
        At least one.
    key : str
        Name of the table's column that names the image (``"dopant"`` for the stand-ins, ``"case"`` for the
        hard cases).

    Returns
    -------
    ScoredImages
    """
    tables, scores = [], {}
    for name, detector, scored in runs:
        tables.append(scored.table.assign(**{key: name, "detector": detector}))
        scores[(name, detector)] = scored
    table = pd.concat(tables, ignore_index=True)
    table = table[[key, "detector", *(c for c in table.columns if c not in (key, "detector"))]]
    return ScoredImages(table, pd.DataFrame({run: scored.sites for run, scored in scores.items()}).T, scores)


def score_hard_cases(
    micrographs: dict, checkpoints: dict, *, cases: dict[str, HardCase] = HARD_CASES,
    modes: tuple[str, ...] = ("frozen", "batch"), settings: EncodingSettings = EncodingSettings(),
) -> Iterator[tuple[str, str, ModelScores]]:
    """Score every model on each hard case, in each detector, in the case's own context (host, dopant, energy).

    Parameters
    ----------
    micrographs : dict
        Case name -> :class:`~ctxlib.simulation.standins.TestMicrograph`.
    checkpoints : dict
        Model name -> :class:`~ctxlib.learning.training.Checkpoint`.
    cases : dict
        Case name -> :class:`~ctxlib.simulation.standins.HardCase`.
    modes : tuple of str
        Attention modes to score (see :func:`score_models`).
    settings : EncodingSettings
        How each image is encoded.

    Yields
    ------
    name, detector, ModelScores
        As :func:`score_standins`, with the case's name in place of the dopant.
    """
    for name, micrograph in micrographs.items():
        case = cases[name]
        for _, detector, scores in score_standins({case.dopant: micrograph}, checkpoints, host=case.field.host,
                                                  energy_kev=case.field.energy_kev, modes=modes,
                                                  settings=settings):
            yield name, detector, scores


#: The scores of Table 1: Cohen's kappa and the F1 of each defect class.
TABLE1_METRICS: tuple[str, ...] = ("kappa", "F1 single vacancy", "F1 double vacancy", "F1 dopant")


def detector_means(runs: pd.DataFrame, *, metrics: tuple[str, ...] = TABLE1_METRICS, models=None) -> pd.DataFrame:
    """Each model's scores averaged over the images, one column per score and detector (Table 1's layout).

    Parameters
    ----------
    runs : pandas.DataFrame
        One row per image, detector and model (e.g. :attr:`ScoredImages.table` of one attention mode):
        ``model``, ``detector`` and the ``metrics``.
    metrics : tuple of str
        The scores to average.
    models : iterable of str, optional
        The rows, in order (default: every model, sorted).

    Returns
    -------
    pandas.DataFrame
        Indexed by model; columns ``"<metric> <detector>"``, metric by metric.
    """
    means = runs.groupby(["model", "detector"])[list(metrics)].mean().unstack("detector")
    means.columns = [f"{metric} {detector}" for metric, detector in means.columns]
    return means if models is None else means.reindex(list(models))


def patches_by_class(patches: np.ndarray, matched: Matched, *, exclude: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """The patches of the matched columns, grouped by their true class (the data of Fig. 6c).

    Parameters
    ----------
    patches : numpy.ndarray, (N, ...)
        One patch per predicted column (rows of the table the predictions were matched from).
    matched : Matched
        The predicted columns matched to the reference.
    exclude : tuple of str
        Class names to leave out.

    Returns
    -------
    dict
        Class name -> the patches of the matched columns whose true class it is (possibly none), in the order of
        :data:`~ctxlib.materials.motifs.CLASS_NAMES`.
    """
    return {name: patches[matched.pred_index[matched.y_true == label]]
            for label, name in enumerate(CLASS_NAMES) if name not in exclude}


def score_encoding(encoding: ImageEncoding, truth: pd.DataFrame, checkpoints: dict,
                   reach_px: float) -> tuple[pd.DataFrame, dict[str, tuple[pd.DataFrame, Matched]]]:
    """Classify an encoded image with each model and score every matched column, edge columns included.

    Unlike :func:`score_models`, each model predicts in the mode it was loaded in (attention models: their
    default mode, batches of the default size), and the scores are over all the matched columns.

    Parameters
    ----------
    encoding : ImageEncoding
        The image's encoding.
    truth : pandas.DataFrame
        Reference columns (``col``, ``row`` in pixels, ``label``).
    checkpoints : dict
        Model name -> :class:`~ctxlib.learning.training.Checkpoint`.
    reach_px : float
        Largest distance, pixels, at which a prediction matches a reference column.

    Returns
    -------
    scores : pandas.DataFrame
        Indexed by model, all float: the :func:`agreement` scores and ``columns called dopant`` (predicted
        columns of label 4, matched or not).
    classified : dict
        Model name -> (its :func:`~ctxlib.micrographs.classify.classification_table`, its :class:`Matched`).
    """
    scores, classified = {}, {}
    for name, checkpoint in checkpoints.items():
        table = classification_table(encoding.table, predict_proba(checkpoint.model, name, encoding.features))
        matched = match_columns(table, truth, reach_px)
        classified[name] = (table, matched)
        scores[name] = {**agreement(matched), "columns called dopant": int((table["label"] == 4).sum())}
    return pd.DataFrame(scores).T, classified


def sublattice_brightness(scores: dict, micrographs: dict, *, cases: dict[str, HardCase] = HARD_CASES,
                          model: str = "MLP-Simple") -> pd.DataFrame:
    """How bright the two sublattices of each scored hard case are, beside one model's kappa on it.

    Parameters
    ----------
    scores : dict
        (case name, detector) -> :class:`ModelScores` (:attr:`ScoredImages.scores` of :func:`score_hard_cases`).
    micrographs : dict
        Case name -> :class:`~ctxlib.simulation.standins.TestMicrograph`.
    cases : dict
        Case name -> :class:`~ctxlib.simulation.standins.HardCase` (its host sets the matching reach).
    model : str
        The model whose columns are matched to the truth (an attention model in its ``frozen`` mode).

    Returns
    -------
    pandas.DataFrame
        Indexed by (case, detector): ``metal`` and ``X2``, the mean normalised centre intensity of the model's
        columns matched (within 0.4 of the nearest-neighbour distance) to true metal sites (M, D) and to true X2
        sites (X2, VacX, VacX2), and ``kappa (<model>)``.
    """
    mode = "frozen" if model_spec(model).kind == "attention" else "-"
    rows = {}
    for (name, detector), scored in scores.items():
        micrograph = micrographs[name]
        reach = match_reach(cases[name].field.host) / float(np.mean(micrograph.pixel_size))
        pairs = match_columns(scored.classifications[(model, mode)], micrograph.truth, reach)
        intensity = scored.encoding.table["centre_intensity"].to_numpy()[pairs.pred_index]
        run = scored.table[(scored.table["model"] == model) & (scored.table["mode"] == mode)]
        rows[(name, detector)] = {"metal": intensity[pairs.y_true >= 3].mean(),
                                  "X2": intensity[pairs.y_true < 3].mean(), f"kappa ({model})": run["kappa"].item()}
    return pd.DataFrame(rows).T


def trusted_columns(micrographs: dict, *, host: str = "WSe2", energy_kev: int = 80, weights_dir=None,
                    trust: TrustSettings = TrustSettings(),
                    settings: EncodingSettings = EncodingSettings()) -> pd.DataFrame:
    """Every column of every stand-in, in each detector, classified as ``ctxlib classify`` does and matched to its
    truth: what the trust flags catch.

    Parameters
    ----------
    micrographs : dict
        Name -> :class:`~ctxlib.simulation.standins.TestMicrograph` of ``host`` (its ``dopant`` is stated).
    host : str
    energy_kev : int
        Beam energy, keV.
    weights_dir : path, optional
        As for :func:`~ctxlib.micrographs.classify.classify_image` (default: the shipped weights).
    trust : TrustSettings
    settings : EncodingSettings
        How each image is encoded.

    Returns
    -------
    pandas.DataFrame
        One row per matched column (within 0.4 of the nearest-neighbour distance): ``image``, ``detector``,
        ``true`` and ``vote`` (labels 0-4), ``correct``, ``uncertain``, ``outlier``, ``agreement``,
        ``confidence`` (the vote's mean probability), ``edge``, and ``baseline`` (the classical intensity
        baseline's label, -1 where it has none).
    """
    reach = match_reach(host)  # Angstrom
    frames = []
    for name, micrograph in micrographs.items():
        pixel = float(np.mean(micrograph.pixel_size))
        for detector in DETECTORS:
            with warnings.catch_warnings():
                for category in IMAGE_WARNINGS:  # the scores say what the warnings would
                    warnings.simplefilter("ignore", category)
                context = ImagingContext(host, micrograph.dopant, detector=detector, energy_kev=energy_kev)
                result = classify_image(micrograph.image(detector), context, pixel_size=pixel,
                                        weights_dir=weights_dir, trust=trust, settings=settings)
            table = result.table
            matched = match_columns(table, micrograph.truth, reach / pixel)
            kept = table.iloc[matched.pred_index]
            frames.append(pd.DataFrame({
                "image": name, "detector": detector, "true": matched.y_true, "vote": matched.y_pred,
                "correct": matched.y_true == matched.y_pred, "uncertain": kept["uncertain"].to_numpy(),
                "outlier": kept["outlier"].to_numpy(), "agreement": kept["agreement"].to_numpy(),
                "confidence": kept[[f"p_{n}" for n in CLASS_NAMES]].to_numpy().max(axis=1),
                "edge": kept["edge"].to_numpy(),
                "baseline": [CLASS_NAMES.index(c) if c in CLASS_NAMES else -1 for c in kept["intensity_class"]]}))
    return pd.concat(frames, ignore_index=True)


def trusted_columns_by_host(micrograph_sets: dict, *, energy_kev: int = 80, weights_dir=None,
                            trust: TrustSettings = TrustSettings()) -> pd.DataFrame:
    """:func:`trusted_columns` of the stand-ins of several hosts, in one table.

    Parameters
    ----------
    micrograph_sets : dict
        Host -> {name: :class:`~ctxlib.simulation.standins.TestMicrograph`}
        (:func:`~ctxlib.simulation.standins.load_test_micrograph_sets`).
    energy_kev : int
        Beam energy, keV.
    weights_dir : path, optional
    trust : TrustSettings

    Returns
    -------
    pandas.DataFrame
        The rows of :func:`trusted_columns`, indexed by (``host``, ``row``).
    """
    return pd.concat({host: trusted_columns(fields, host=host, energy_kev=energy_kev, weights_dir=weights_dir,
                                            trust=trust)
                      for host, fields in micrograph_sets.items()}, names=["host", "row"])


def effect_scores(micrograph_sets: dict, *, effects: tuple[str, ...] = tuple(REAL_EFFECTS), energy_kev: int = 80,
                  weights_dir=None, trust: TrustSettings = TrustSettings(), resamples: int = 1000,
                  seed: int = 0) -> pd.DataFrame:
    """What each effect of real micrographs costs: the stand-ins degraded again with one effect added
    (:func:`~ctxlib.simulation.realism.with_effect`), classified as ``ctxlib classify`` does and scored.

    Parameters
    ----------
    micrograph_sets : dict
        Host -> {name: :class:`~ctxlib.simulation.standins.TestMicrograph`}
        (:func:`~ctxlib.simulation.standins.load_test_micrograph_sets`).
    effects : tuple of str
        Keys of :data:`~ctxlib.simulation.realism.REAL_EFFECTS`.
    energy_kev : int
        Beam energy of the stand-ins, keV.
    weights_dir : path, optional
    trust : TrustSettings
    resamples : int
        Bootstrap resamples of the F1 intervals (:func:`defect_f1_intervals`).
    seed : int
        Seeds the noise (the same draw for every effect) and the bootstrap.

    Returns
    -------
    pandas.DataFrame
        Indexed by effect: ``found`` (share of true columns matched), ``accuracy`` and ``kappa`` of the vote,
        ``uncertain`` (share of matched columns), ``accuracy kept`` (over the columns not uncertain), and per defect
        class its ``F1``, ``95 % low`` and ``95 % high`` (columns ``"<defect> F1"`` and so on).
    """
    rows = {}
    for effect in effects:
        sets = {host: {name: with_effect(m, effect, seed=seed) for name, m in fields.items()}
                for host, fields in micrograph_sets.items()}
        columns = trusted_columns_by_host(sets, energy_kev=energy_kev, weights_dir=weights_dir, trust=trust)
        truths = len(DETECTORS) * sum(len(m.truth) for fields in sets.values() for m in fields.values())
        f1 = defect_f1_intervals(columns, resamples=resamples, seed=seed)
        rows[effect] = {"found": len(columns) / truths, "accuracy": columns["correct"].mean(),
                        "kappa": cohen_kappa(columns["true"].to_numpy(), columns["vote"].to_numpy()),
                        "uncertain": columns["uncertain"].mean(),
                        "accuracy kept": columns.loc[~columns["uncertain"], "correct"].mean(),
                        **{f"{name} {k}": f1.loc[name, k] for name in f1.index for k in ("F1", "95 % low", "95 % high")}}
    return pd.DataFrame(rows).T


def hard_case_columns(micrographs: dict, *, cases: dict[str, HardCase] = HARD_CASES, weights_dir=None,
                      trust: TrustSettings = TrustSettings()) -> pd.DataFrame:
    """:func:`trusted_columns` of each hard case, classified in the case's own context (host, dopant, energy).

    Parameters
    ----------
    micrographs : dict
        Case name -> :class:`~ctxlib.simulation.standins.TestMicrograph`.
    cases : dict
        Case name -> :class:`~ctxlib.simulation.standins.HardCase`.
    weights_dir : path, optional
    trust : TrustSettings

    Returns
    -------
    pandas.DataFrame
        The rows of :func:`trusted_columns` (``image`` is the case's name), indexed by (``case``, ``row``).
    """
    return pd.concat({name: trusted_columns({name: micrograph}, host=cases[name].field.host,
                                            energy_kev=cases[name].field.energy_kev, weights_dir=weights_dir,
                                            trust=trust)
                      for name, micrograph in micrographs.items()}, names=["case", "row"])


def model_agreement(image: np.ndarray, *, host: str, dopants: tuple, detector: str, energy_kev: int,
                    pixel_size: float | None = None, weights_dir=None) -> pd.DataFrame:
    """How far the five context-aware models agree on an image with no labels, for each dopant one might state.

    The models' own most likely classes are compared as they come (before ``classify`` sets P(D) to 0 for an
    undoped host), so that weights trained without undoped hosts are judged by what they said.

    Parameters
    ----------
    image : numpy.ndarray, 2-D
    host, detector, energy_kev
        The imaging context.
    dopants : tuple of str or None
        The dopants to state (None: undoped).
    pixel_size : float, optional
        Angstrom per pixel.
    weights_dir : path, optional
        The weights (default: the shipped ones).

    Returns
    -------
    pandas.DataFrame
        One row per stated dopant: ``dopant`` (``"none"`` for None), ``columns``, ``all five agree`` (share of
        columns), the share of columns each model calls a defect (``<model> defects``), and, as ``classify``
        reports them, ``uncertain`` and ``baseline agrees`` (shares of columns).
    """
    checkpoints = load_models(weights_dir or weights_folder(DEFAULT_WEIGHTS_SCALE), CONTEXT_MODELS)
    rows = []
    for dopant in dopants:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            context = ImagingContext(host, dopant, detector=detector, energy_kev=energy_kev)
            result = classify_image(image, context, pixel_size=pixel_size, weights_dir=weights_dir)
        own = np.array([predict_proba(checkpoints[n].model, n, result.encoding.features).argmax(axis=1)
                        for n in CONTEXT_MODELS])
        summary = result.summary()
        rows.append({"dopant": dopant or UNDOPED, "columns": own.shape[1],
                     "all five agree": float((own == own[0]).all(axis=0).mean()),
                     **{f"{n} defects": float(np.isin(o, list(DEFECT_NAMES)).mean()) for n, o in zip(CONTEXT_MODELS, own)},
                     "uncertain": summary["uncertain share"], "baseline agrees": summary["baseline agrees"]})
    return pd.DataFrame(rows)


def trust_curve(columns: pd.DataFrame) -> tuple[pd.DataFrame, tuple[float, float]]:
    """The accuracy-coverage curve of :func:`trusted_columns`' rows, and the default operating point.

    Columns are set aside in the order ``classify`` doubts them: the uncertain ones first, then
    those with the least model agreement, then the least probable vote.

    Returns
    -------
    curve : pandas.DataFrame
        :func:`ctxlib.learning.metrics.selective_accuracy` over 0-50 % set aside.
    operating : (float, float)
        The share ``classify`` marks uncertain and the accuracy of the columns it keeps.
    """
    confidence = columns["agreement"] + columns["confidence"] - 2 * columns["uncertain"]
    curve = selective_accuracy(columns["correct"], confidence)
    kept = ~columns["uncertain"].to_numpy()
    return curve, (float(1 - kept.mean()), float(columns["correct"].to_numpy()[kept].mean()) if kept.any() else np.nan)


def defect_f1_intervals(columns: pd.DataFrame, *, predicted: str = "vote", resamples: int = 1000,
                        seed: int = 0) -> pd.DataFrame:
    """F1 of each defect class over :func:`trusted_columns`' rows, with a 95 % bootstrap interval over columns.

    Parameters
    ----------
    columns : pandas.DataFrame
        Rows of :func:`trusted_columns`.
    predicted : {"vote", "baseline"}
        Score the models' vote or the classical intensity baseline's class.
    resamples, seed : int
        Bootstrap resamples, and their seed.

    Returns
    -------
    pandas.DataFrame
        Indexed by defect name: ``true columns`` (how many hold it), ``F1``, ``95 % low``, ``95 % high``.
    """
    if predicted not in ("vote", "baseline"):
        raise ValueError(f"predicted must be 'vote' or 'baseline', got {predicted!r}")
    y_true, y_pred = columns["true"].to_numpy(), columns[predicted].to_numpy()
    rows = {}
    for label, name in DEFECT_NAMES.items():
        score = lambda t, p, label=label: class_f1(t, p, label)  # noqa: E731 - one statistic per class
        low, high = bootstrap_interval(score, y_true, y_pred, resamples=resamples, seed=seed)
        rows[name] = {"true columns": int((y_true == label).sum()), "F1": class_f1(y_true, y_pred, label),
                      "95 % low": low, "95 % high": high}
    return pd.DataFrame(rows).T


def defect_f1_intervals_by(columns: pd.DataFrame, level: str, *, resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """:func:`defect_f1_intervals` of each group of rows (e.g. each host of :func:`trusted_columns_by_host`).

    Parameters
    ----------
    columns : pandas.DataFrame
        Rows of :func:`trusted_columns`, with ``level`` in their index.
    level : str
        The index level that names the groups.
    resamples, seed : int
        As for :func:`defect_f1_intervals` (each group is resampled with the same seed).

    Returns
    -------
    pandas.DataFrame
        Indexed by (group, defect name), groups sorted; columns as :func:`defect_f1_intervals`.
    """
    return pd.concat({group: defect_f1_intervals(rows, resamples=resamples, seed=seed)
                      for group, rows in columns.groupby(level=level)})


def uncertain_shares(cases: dict, *, weights_dir=None) -> pd.DataFrame:
    """How often ``classify`` says ``uncertain`` on each of several images with a stated context.

    Parameters
    ----------
    cases : dict
        Name -> dict with ``image``, ``context`` (an :class:`~ctxlib.materials.imaging.ImagingContext`) and
        the keyword arguments of :func:`~ctxlib.micrographs.classify.classify_image` (``pixel_size``).
    weights_dir : path, optional

    Returns
    -------
    pandas.DataFrame
        Indexed by name: ``columns``, ``uncertain``, ``unlike the training data`` and ``models disagree``
        (shares of columns; a column may be both), ``interior uncertain`` (away from the image edge), the
        ``contrast factor`` of :mod:`~ctxlib.micrographs.contrast` and whether it gave a ``context warning``;
        an image that cannot be classified has ``columns`` 0 and its reason in ``refused``.
    """
    rows = {}
    for name, case in cases.items():
        case = dict(case)
        image, context = case.pop("image"), case.pop("context")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = classify_image(image, context, weights_dir=weights_dir, **case)
        except ValueError as error:
            rows[name] = {"columns": 0, "refused": str(error).split(";")[0]}
            continue
        table = result.table
        interior = ~table["edge"]
        rows[name] = {"columns": len(table), "uncertain": table["uncertain"].mean(),
                      "unlike the training data": table["outlier"].mean(),
                      "models disagree": (table["agreement"] < TrustSettings().min_agreement).mean(),
                      "interior uncertain": table.loc[interior, "uncertain"].mean() if interior.any() else 0.0,
                      "contrast factor": result.summary()["contrast factor"],
                      "context warning": result.contrast is not None and not result.contrast.consistent,
                      "refused": ""}
    return pd.DataFrame(rows).T


def feature_gap(result, context: ImagingContext, *, trust: TrustSettings = TrustSettings()) -> pd.DataFrame:
    """Where an image's columns sit against the training features of their context, moment by moment.

    Parameters
    ----------
    result : Classification
        :func:`~ctxlib.micrographs.classify.classify_image`'s result for the image.
    context : ImagingContext
        The context it was classified in.
    trust : TrustSettings
        Its reference settings.

    Returns
    -------
    pandas.DataFrame
        Indexed by the vote's class (classes with columns only): ``columns``, and per Zernike moment the median
        shift of the class's interior columns from their nearest training motif, in training standard deviations
        (:meth:`ctxlib.learning.outliers.FeatureReference.shifts`).
    """
    reference = context_reference(context, settings=trust.reference)
    interior = ~result.table["edge"].to_numpy()
    shifts = pd.DataFrame(reference.shifts(result.encoding.features[interior]), columns=list(ZERNIKE_FEATURE_NAMES))
    shifts["vote"] = result.table["vote"].to_numpy()[interior]
    gap = shifts.groupby("vote").median()
    gap.insert(0, "columns", shifts.groupby("vote").size())
    return gap.reindex([c for c in CLASS_NAMES if c in gap.index])


def training_coverage(result, context: ImagingContext, *, augmentations: dict[str, AugmentationSettings],
                      trust: TrustSettings = TrustSettings()) -> pd.DataFrame:
    """How well training data made with each of several augmentations cover an image's columns.

    Parameters
    ----------
    result : Classification
        :func:`~ctxlib.micrographs.classify.classify_image`'s result for the image.
    context : ImagingContext
        The context it was classified in.
    augmentations : dict of str to AugmentationSettings
        A name -> the degradations a reference of the context's training features is drawn with.
    trust : TrustSettings
        ``trust.reference`` gives the reference's other settings (realisations, quantile, seed).

    Returns
    -------
    pandas.DataFrame
        One row per augmentation: ``outlier share`` (the image's interior columns beyond that reference's
        threshold) and, per Zernike moment, the median absolute shift from the nearest motif in training
        standard deviations (:meth:`ctxlib.learning.outliers.FeatureReference.shifts`).
    """
    X = result.encoding.features[~result.table["edge"].to_numpy()]
    rows = {}
    for name, augmentation in augmentations.items():
        reference = context_reference(context, settings=replace(trust.reference, augmentation=augmentation))
        shifts = np.median(np.abs(reference.shifts(X)), axis=0)
        rows[name] = {"outlier share": float(reference.outliers(X).mean()), **dict(zip(ZERNIKE_FEATURE_NAMES, shifts))}
    return pd.DataFrame.from_dict(rows, orient="index")


def microscope_scores(*, root=None, weights_dir=None, trust: TrustSettings = TrustSettings()) -> pd.DataFrame:
    """The stand-ins made at microscopes unlike the catalog's (:data:`~ctxlib.simulation.standins.MICROSCOPE_CASES`),
    classified as ``ctxlib classify`` does when told the true energy and detector angles: each image is classified
    as the nearest trained context (:func:`~ctxlib.micrographs.microscope.nearest_trained_context`).

    Returns
    -------
    pandas.DataFrame
        Indexed by case and detector angles: ``classified as`` (the trained context used), ``site flags reversed``
        and ``metal / X2`` (the simulated signal ratio at the stated microscope, see
        :func:`~ctxlib.micrographs.microscope.nearest_trained_context`), ``columns`` (true
        sites), ``found`` (share matched within 0.4 of the nearest-neighbour distance), ``accuracy`` and ``kappa``
        of the vote over the matched columns, ``defect F1``, ``uncertain`` (share of matched columns), and
        ``accuracy kept`` (over the columns not uncertain).
    """
    rows = {}
    for name, case in MICROSCOPE_CASES.items():
        micrograph = load_hard_case(name, root, kind="microscope")
        pixel = float(np.mean(micrograph.pixel_size))
        reach = match_reach(case.field.host) / pixel
        for d, angles in enumerate(case.field.detector_angles):
            mapping = nearest_trained_context(case.field.energy_kev, angles_mrad=angles,
                                              convergence_mrad=case.field.convergence_mrad, host=case.field.host)
            with warnings.catch_warnings():
                for category in IMAGE_WARNINGS:  # the scores say what the warnings would
                    warnings.simplefilter("ignore", category)
                context = ImagingContext(case.field.host, case.dopant, detector=mapping.detector,
                                         energy_kev=mapping.energy_kev)
                result = classify_image(micrograph.degraded[d], context, pixel_size=pixel, weights_dir=weights_dir,
                                        trust=trust, reverse_sites=mapping.sites_reversed)
            matched = match_columns(result.table, micrograph.truth, reach)
            uncertain = result.table["uncertain"].to_numpy()[matched.pred_index]
            correct = matched.y_true == matched.y_pred
            rows[(name, f"{angles[0]:g}-{angles[1]:g} mrad")] = {
                "classified as": f"{mapping.detector}, {mapping.energy_kev} keV", "site flags reversed":
                mapping.sites_reversed, "metal / X2": mapping.contrast.get("stated", np.nan), "columns": len(micrograph.truth),
                "found": len(matched.y_true) / len(micrograph.truth), "accuracy": correct.mean(),
                "kappa": cohen_kappa(matched.y_true, matched.y_pred), "defect F1": defect_f1(matched.y_true,
                                                                                              matched.y_pred),
                "uncertain": uncertain.mean(), "accuracy kept": correct[~uncertain].mean()}
    return pd.DataFrame(rows).T.rename_axis(["microscope", "detector"])
