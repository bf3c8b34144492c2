"""How far a column's features lie from the training features of its imaging context.

In: the feature rows of an image's columns and the context they were encoded in. Out:
per row a squared Mahalanobis distance to the nearest motif of that context, and whether
it lies beyond what the training data themselves reach.

The reference is made the way the training set is made (:func:`ctxlib.learning.dataset.context_features`:
the context's 34 clean motifs, or 14 for an undoped host, through the training
degradations), so it needs no stored training set and follows any change of the
library, the augmentation or the feature code. Each motif is a class mean of the six
Zernike moments; the covariance is pooled within motifs (a shared-covariance Gaussian
per motif, the Mahalanobis detector of Lee et al., 2018); a row is compared with the
motifs of its own sublattice (its site flags). The threshold is a high quantile of the
same distance over a second, independent draw of training realisations, so that about
``1 - quantile`` of training-like columns are called outliers.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ctxlib.base.settings import check_number
from ctxlib.encoding.features import FEATURE_NAMES
from ctxlib.encoding.zernike import ZERNIKE_FEATURE_NAMES
from ctxlib.learning.dataset import LABELS, ContextPlan, FeatureSettings, context_features
from ctxlib.materials.catalog import parse_pair_name
from ctxlib.materials.imaging import ImagingContext
from ctxlib.materials.motifs import MOTIFS, UNDOPED_MOTIFS
from ctxlib.simulation.augmentation import AugmentationSettings
from ctxlib.simulation.library import library_source, load_library, read_manifest

_MOMENTS = np.array([FEATURE_NAMES.index(n) for n in ZERNIKE_FEATURE_NAMES])
_FLAGS = np.array([FEATURE_NAMES.index("site:bright"), FEATURE_NAMES.index("site:dim")])


@dataclass(frozen=True)
class ReferenceSettings:
    """How the training-feature reference of a context is drawn.

    Attributes
    ----------
    realisations : int
        Training realisations of each motif drawn for the means and the covariance (and
        as many again, independently, for the threshold).
    quantile : float
        Share of training-like columns inside the threshold.
    seed : int
    augmentation : AugmentationSettings
        The degradations the realisations are drawn with: the training's (default), or
        others, to measure how far an image lies from training data made otherwise.
    """

    realisations: int = 128
    quantile: float = 0.999
    seed: int = 0
    augmentation: AugmentationSettings = AugmentationSettings()

    def __post_init__(self) -> None:
        check_number("realisations", self.realisations, 8, 100_000, integer=True)
        check_number("quantile", self.quantile, 0.5, 1.0)
        check_number("seed", self.seed, 0, 2**32 - 1, integer=True)


@dataclass(frozen=True)
class FeatureReference:
    """The training features of one context, summarised for distances.

    Attributes
    ----------
    means : numpy.ndarray, (K, 6)
        Mean Zernike moments of each motif of the context.
    flags : numpy.ndarray, (K, 2)
        Site flags of each motif (which sublattice it sits on, bright or dim).
    labels : numpy.ndarray of int, (K,)
        Class of each motif.
    precision : numpy.ndarray, (6, 6)
        Inverse of the covariance pooled within motifs.
    threshold : float
        Squared distance beyond which a row is an outlier (``settings.quantile`` of the
        held-out training rows).
    """

    means: np.ndarray
    flags: np.ndarray
    labels: np.ndarray
    precision: np.ndarray
    threshold: float

    @classmethod
    def fit(cls, X: np.ndarray, motif: np.ndarray, held_out: np.ndarray, quantile: float) -> "FeatureReference":
        """The reference of training rows ``X`` (N, 31) of motifs ``motif`` (N,), thresholded on ``held_out`` (M, 31)."""
        kinds = np.unique(motif)
        moments = X[:, _MOMENTS].astype(np.float64)
        means = np.stack([moments[motif == k].mean(axis=0) for k in kinds])
        flags = np.stack([X[motif == k][0, _FLAGS] for k in kinds])
        residual = moments - means[np.searchsorted(kinds, motif)]
        covariance = residual.T @ residual / max(1, len(X) - len(kinds))
        covariance += 1e-9 * np.trace(covariance) * np.eye(len(_MOMENTS))  # a moment that never varies
        partial = cls(means, flags, LABELS[kinds].astype(int), np.linalg.inv(covariance), np.inf)
        return cls(means, flags, partial.labels, partial.precision,
                   float(np.quantile(partial.distance(held_out), quantile)))

    def _distances(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The (N, K) squared distances to every motif (inf on the other sublattice) and the (N, K, 6) differences."""
        X = np.asarray(X)
        delta = X[:, None, _MOMENTS] - self.means[None]  # (N, K, 6)
        d2 = np.einsum("nki,ij,nkj->nk", delta, self.precision, delta)
        same_site = (X[:, None, _FLAGS] == self.flags[None]).all(axis=2)
        d2[~same_site] = np.inf
        return d2, delta

    def distance(self, X: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance of each row of ``X`` (N, 31) to the nearest motif of its sublattice."""
        return self._distances(X)[0].min(axis=1)

    def shifts(self, X: np.ndarray) -> np.ndarray:
        """Each row's six Zernike moments minus those of its nearest motif, in standard deviations of the training
        rows about their motif means, (N, 6): which moments carry a row away from the training data."""
        d2, delta = self._distances(X)
        nearest = d2.argmin(axis=1)
        sd = np.sqrt(np.diag(np.linalg.inv(self.precision)))
        return delta[np.arange(len(nearest)), nearest] / sd

    def outliers(self, X: np.ndarray) -> np.ndarray:
        """True for the rows beyond :attr:`threshold`."""
        return self.distance(X) > self.threshold


@lru_cache(maxsize=16)
def context_reference(context: ImagingContext, *,
                      settings: ReferenceSettings = ReferenceSettings()) -> FeatureReference:
    """The :class:`FeatureReference` of a trained context, drawn from the shipped library (cached per process).

    Parameters
    ----------
    context : ImagingContext
        Host, dopant, detector and beam energy of the training features.
    settings : ReferenceSettings

    Raises
    ------
    ValueError
        When the library holds no file for the pair (a pair outside
        :func:`ctxlib.materials.catalog.trained_pairs`).
    """
    name = context.pair
    source = library_source(name, read_manifest()["files"])
    if source is None:
        raise ValueError(f"no library file for {name}: it is not a trained pair, so it has no training features")
    entry = load_library(*parse_pair_name(source))
    features = FeatureSettings(augmentation=settings.augmentation)  # the training degradations by default
    undoped = context.dopant is None
    plan = ContextPlan.of(entry, context.energy_kev, context.detector, settings=features, undoped=undoped)
    kept = np.array(UNDOPED_MOTIFS if undoped else range(len(MOTIFS)))
    draws = []
    for stream in (0, 1):  # means and covariance, then the threshold
        rng = np.random.default_rng([settings.seed, stream])
        X = context_features(entry, context.energy_kev, context.detector, settings.realisations, rng,
                             settings=features, plan=plan).X
        motif = np.tile(np.arange(len(MOTIFS)), settings.realisations)
        keep = np.isin(motif, kept)
        draws.append((X[keep], motif[keep]))
    (X, motif), (held_out, _) = draws
    return FeatureReference.fit(X, motif, held_out, settings.quantile)
