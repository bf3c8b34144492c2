"""From the clean library to the training features (paper §4, Figs. 4e-g, S5).

For every imaging context (doped host, energy, detector) and every realisation
(:mod:`ctxlib.simulation.augmentation`), the 34 clean motif windows are degraded together,
normalised by the degraded pristine motif (:class:`ctxlib.base.intensity.IntensityNormaliser`,
as a micrograph is normalised by itself), cut into patches of side ``sqrt(3) a``
centred on the motif, and encoded as the 31 features: 23 context + 6 Zernike + 2 site
flags. The site flag of a context marks the sublattice whose clean pristine column is
brighter; which one that is depends on host, detector and energy (Fig. S2).

Features are written one file per doped host (``<host>-<dopant>.npz``: ``X`` float32
(N, 31), ``y`` int8 labels, and per-row ``energy``, ``detector``, ``motif``,
``realisation``), atomically, so an interrupted run resumes where it stopped, and
the paper's ~55 M rows never need to be in memory at once. Every file depends only on
the seed and its doped host, not on which others exist, and carries a stamp of all it was
made from, including the digest of this module's source (:data:`FEATURE_CODE`); reading,
splitting and streaming the files is :mod:`ctxlib.learning.reading`, so a change there
does not make the features again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ctxlib import __version__
from ctxlib.base import config as knobs
from ctxlib.base.cluster import local_cluster
from ctxlib.base.files import atomic_write, source_digest, write_npz
from ctxlib.base.intensity import IntensityNormaliser
from ctxlib.base.settings import check_number, record
from ctxlib.encoding.columns import site_flags
from ctxlib.encoding.context import encode_context
from ctxlib.encoding.features import assemble_features
from ctxlib.encoding.patches import (
    PATCH_SIZE,
    PATCH_SIZE_BOUNDS,
    centre_intensity,
    footprint,
    window_patches,
    window_resampling,
)
from ctxlib.encoding.zernike import resampled_basis
from ctxlib.learning.reading import stamp_of
from ctxlib.learning.scale import scale_preset
from ctxlib.materials.catalog import DETECTORS, ENERGIES_KEV, HOSTS, check_choice, parse_pair_name, trained_pairs
from ctxlib.materials.imaging import ImagingContext
from ctxlib.materials.motifs import MOTIFS, PRISTINE, UNDOPED_MOTIFS
from ctxlib.simulation.augmentation import AugmentationSettings, Degradation, degrade, draw_degradations, one_at_a_time
from ctxlib.simulation.library import LibraryEntry, library_source, load_library, read_manifest, trained_status
from ctxlib.simulation.noise import EXACT_BELOW

#: Sublattice of each motif's centre: 0 chalcogen site, 1 metal site.
MOTIF_SUBLATTICE = np.array([int(m.metal_site) for m in MOTIFS])
LABELS = np.array([m.label for m in MOTIFS], dtype=np.int8)
_CHALCOGEN_REFERENCE = 0  # X2[M,M,M]: the pristine chalcogen-site motif


@dataclass(frozen=True)
class FeatureSettings:
    """Everything a feature file is made from, apart from the library file it reads.

    Attributes
    ----------
    realisations : int
        Noisy realisations per imaging context.
    realisation_batch : int
        Realisations degraded at once (bounds memory, ~15 MB of windows; part of the
        seeded stream, so it is recorded).
    augmentation : AugmentationSettings
        The ranges the realisations are drawn from.
    patch_size : int
        Patch grid, pixels per side.
    pixel_geometry : {"per-axis", "mean"}
        How the patch side ``sqrt(3) a`` becomes pixels: over each axis's own pixel size
        (a physically square patch, as on a calibrated micrograph), or over their mean (the
        rule before 2026-12; the library's pixels are up to 6 % non-square).
    seed : int
    """

    realisations: int = 8
    realisation_batch: int = 64
    augmentation: AugmentationSettings = AugmentationSettings()
    patch_size: int = PATCH_SIZE
    pixel_geometry: str = "per-axis"
    seed: int = 0

    def __post_init__(self) -> None:
        check_number("realisations", self.realisations, 1, 100_000, integer=True)
        check_number("realisation_batch", self.realisation_batch, 1, 4096, integer=True)
        check_number("patch_size", self.patch_size, *PATCH_SIZE_BOUNDS, integer=True)
        check_number("seed", self.seed, 0, 2**32 - 1, integer=True)
        check_choice(self.pixel_geometry, PIXEL_GEOMETRIES, "pixel_geometry")

    @classmethod
    def at_scale(cls, scale: str, seed: int = 0, **changes) -> "FeatureSettings":
        """The settings of a scale preset (:func:`ctxlib.learning.scale.scale_preset`)."""
        return cls(realisations=scale_preset(scale).realisations, seed=seed, **changes)


def realisations_for(scale: str) -> int:
    """Realisations per context for a scale name."""
    return scale_preset(scale).realisations


#: The rules :attr:`FeatureSettings.pixel_geometry` may name.
PIXEL_GEOMETRIES = ("per-axis", "mean")


def patch_sides(pixel_size: tuple[float, float], a: float, *, geometry: str = "per-axis") -> tuple[float, float]:
    """The patch side ``sqrt(3) a`` (``a`` in Angstrom) in pixels along y and along x (see :class:`FeatureSettings`)."""
    pixel = np.asarray(pixel_size, dtype=np.float64)
    if check_choice(geometry, PIXEL_GEOMETRIES, "pixel_geometry") == "mean":
        pixel = np.full(2, pixel.mean())
    return float(np.sqrt(3) * a / pixel[0]), float(np.sqrt(3) * a / pixel[1])


def motif_patches(windows: np.ndarray, pixel_size: tuple[float, float], a: float, *, size: int = PATCH_SIZE,
                  geometry: str = "per-axis") -> np.ndarray:
    """Patches of side ``sqrt(3) a`` centred on each window's centre, (..., size, size) float32."""
    return window_patches(windows, patch_sides(pixel_size, a, geometry=geometry), size=size)


def pristine_centre_intensities(clean: np.ndarray, pixel_size: tuple[float, float], a: float, *,
                                geometry: str = "per-axis") -> np.ndarray:
    """Normalised centre intensity of the clean pristine (chalcogen-site X2, metal-site M) columns of a context.

    ``clean`` holds the 34 clean windows of one context; the ratio of the two numbers
    is the M/X2 contrast of Fig. S2.
    """
    normalised = IntensityNormaliser().fit(clean[PRISTINE]).transform(clean[[_CHALCOGEN_REFERENCE, PRISTINE]])
    return centre_intensity(motif_patches(normalised, pixel_size, a, geometry=geometry))


def context_site_flags(clean: np.ndarray, pixel_size: tuple[float, float], a: float, *,
                       geometry: str = "per-axis") -> np.ndarray:
    """(34, 2) site flags of a context: the sublattice with the brighter clean pristine centre is [1, 0]."""
    reference_flags = site_flags(np.array([0, 1]), pristine_centre_intensities(clean, pixel_size, a, geometry=geometry))
    return reference_flags[MOTIF_SUBLATTICE]


@dataclass(frozen=True)
class ContextSample:
    """Realisations of one context (realisation-major, 34 motifs each).

    Attributes
    ----------
    X : numpy.ndarray, float32, (realisations * 34, 31)
    patches : numpy.ndarray, float32, (realisations * 34, size, size), or None
        Normalised patches (made only when asked for: the features do not need them).
    crops : numpy.ndarray, float32, (realisations * 34, h, w), or None
        The degraded, normalised pixels the patches are resampled from (the middle of each
        window; kept only when asked for).
    """

    X: np.ndarray
    patches: np.ndarray | None = None
    crops: np.ndarray | None = None


def realise_context(
    clean: np.ndarray, pixel_size: tuple[float, float], energy_kev: int, reference_mean: float,
    params: Degradation, rng: np.random.Generator, *, exact_below: float = EXACT_BELOW,
) -> np.ndarray:
    """Degrade the 34 clean windows of a context with one realisation and normalise them by the degraded pristine motif."""
    noisy = degrade(clean, pixel_size, energy_kev, reference_mean, params, rng, exact_below=exact_below)
    return IntensityNormaliser().fit(noisy[PRISTINE]).transform(noisy)


def degradation_examples(entry: LibraryEntry, motifs: Sequence[int], *, energy_kev: int = 80, detector: str = "HAADF",
                         settings: AugmentationSettings = AugmentationSettings(),
                         rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Normalised patches of some motifs of a doped host under each degradation alone
    (:func:`~ctxlib.simulation.augmentation.one_at_a_time`): case name -> (len(motifs), size, size)."""
    e, d = ENERGIES_KEV.index(energy_kev), tuple(DETECTORS).index(detector)
    clean, reference_mean = entry.images[e, :, d], float(entry.levels[e, PRISTINE, d, 1])
    a = HOSTS[entry.host].a
    return {name: motif_patches(realise_context(clean, entry.pixel_size, energy_kev, reference_mean, params, rng)[list(motifs)],
                                entry.pixel_size, a)
            for name, params in one_at_a_time(settings).items()}


_OTHERS = np.delete(np.arange(len(MOTIFS)), PRISTINE)


@dataclass(frozen=True)
class ContextPlan:
    """What every realisation of one context shares, found once a context.

    Attributes
    ----------
    clean : numpy.ndarray, float32, (34, ny, nx)
        The clean motif windows.
    flags : numpy.ndarray, (34, 2)
        Site flags (:func:`context_site_flags`).
    context : numpy.ndarray, (23,)
        The context vector.
    reference_mean : float
        Mean clean intensity of the pristine motif (scales the read noise).
    rows, cols : numpy.ndarray, float32, (size, ny) and (size, nx)
        The patch resampling matrices (:func:`ctxlib.encoding.patches.window_resampling`).
    window : (slice, slice)
        The pixels they read.
    moments : numpy.ndarray, float32, (h * w, 6)
        The Zernike moments of a window's patch as weights on the window's pixels
        (:func:`ctxlib.encoding.zernike.resampled_basis`).
    needed : numpy.ndarray of bool, (h, w)
        The window's pixels with a weight (about 80 %: the patch's disc and the pixels its
        resampling reads); only these are given noise for the features.
    """

    clean: np.ndarray
    flags: np.ndarray
    context: np.ndarray
    reference_mean: float
    rows: np.ndarray
    cols: np.ndarray
    window: tuple[slice, slice]
    moments: np.ndarray
    needed: np.ndarray

    @classmethod
    def of(cls, entry: LibraryEntry, energy_kev: int, detector: str, *,
           settings: FeatureSettings = FeatureSettings(), undoped: bool = False) -> "ContextPlan":
        """The plan of one context (doped host ``entry``, beam energy, detector) at ``settings``'s patch grid;
        ``undoped`` makes it the context of ``entry``'s host without a dopant (the dopant block of the context zero)."""
        e, d = ENERGIES_KEV.index(energy_kev), tuple(DETECTORS).index(detector)
        clean = entry.images[e, :, d]
        a = HOSTS[entry.host].a
        geometry = settings.pixel_geometry
        rows, cols = window_resampling(clean.shape[-2:], patch_sides(entry.pixel_size, a, geometry=geometry),
                                       size=settings.patch_size)
        window = footprint(rows), footprint(cols)
        moments = resampled_basis(rows[:, window[0]], cols[:, window[1]])
        needed = (moments != 0).any(axis=1).reshape(window[0].stop - window[0].start, -1)
        return cls(clean, context_site_flags(clean, entry.pixel_size, a, geometry=geometry),
                   encode_context(ImagingContext(entry.host, None if undoped else entry.dopant, detector=detector,
                                                 energy_kev=energy_kev)),
                   float(entry.levels[e, PRISTINE, d, 1]), rows, cols, window, moments, needed)


def context_features(
    entry: LibraryEntry, energy_kev: int, detector: str, realisations: int, rng: np.random.Generator, *,
    settings: FeatureSettings = FeatureSettings(), plan: ContextPlan | None = None, pixels: bool = False,
) -> ContextSample:
    """Features of ``realisations`` degraded copies of the 34 motifs of one context (ranges and grid from ``settings``).

    The pristine motif is degraded whole (it normalises the context, as a micrograph is
    normalised by itself); of the other 33 only the pixels their patch reads are made, and
    only those the moments weigh (:attr:`ContextPlan.needed`) are given noise, unless
    ``pixels`` asks for the crops (the features are the same either way).
    All realisations pass through each step at once: blur by matrix products, shot noise
    compiled (:mod:`ctxlib.simulation.noise`), and the Zernike moments of the patches by one
    product with weights on the window's pixels (:attr:`ContextPlan.moments`): the moments,
    the patch resampling and the normalisation are linear, so the patches themselves are
    made only with ``pixels=True`` (with the normalised crops they come from). ``plan``
    (:meth:`ContextPlan.of`, made here if not given) holds what does not change from one
    batch of realisations to the next.
    """
    plan = plan or ContextPlan.of(entry, energy_kev, detector, settings=settings)
    clean, (rows, cols) = plan.clean, plan.window
    exact = settings.augmentation.exact_poisson_below
    params = draw_degradations(rng, realisations, settings=settings.augmentation)
    pristine = degrade(clean[PRISTINE], entry.pixel_size, energy_kev, plan.reference_mean, params, rng,
                       exact_below=exact)
    others = degrade(clean[_OTHERS], entry.pixel_size, energy_kev, plan.reference_mean, params, rng,
                     window=plan.window, exact_below=exact, where=plan.needed, fill=pixels)
    background, mean = IntensityNormaliser().levels(pristine)
    raw = np.empty((realisations, len(MOTIFS), plan.moments.shape[1]), np.float32)
    raw[:, _OTHERS] = (others.reshape(realisations * len(_OTHERS), -1) @ plan.moments).reshape(realisations, -1,
                                                                                                  raw.shape[2])
    raw[:, PRISTINE] = np.ascontiguousarray(pristine[:, rows, cols]).reshape(realisations, -1) @ plan.moments
    flat = plan.moments.sum(axis=0, dtype=np.float64)  # the moments of a window of ones
    moments = (raw - background[:, None, None] * flat) / (mean - background)[:, None, None]
    X = assemble_features(plan.context, moments.reshape(-1, raw.shape[2]).astype(np.float32),
                          np.tile(plan.flags, (realisations, 1)))
    if not pixels:
        return ContextSample(X)
    crops = np.empty((realisations, len(MOTIFS), *others.shape[-2:]), np.float32)
    crops[:, PRISTINE], crops[:, _OTHERS] = pristine[:, rows, cols], others
    crops -= background.astype(np.float32)[:, None, None, None]
    crops /= (mean - background).astype(np.float32)[:, None, None, None]
    patches = plan.rows[:, rows] @ crops.reshape(-1, *crops.shape[-2:]) @ plan.cols[:, cols].T
    return ContextSample(X, patches, crops.reshape(-1, *crops.shape[-2:]))


def host_features(entry: LibraryEntry, settings: FeatureSettings = FeatureSettings(), *,
                  undoped: bool = False) -> dict[str, np.ndarray]:
    """All 6 contexts of one doped host: arrays ``X``, ``y``, ``energy``, ``detector``, ``motif``, ``realisation``.

    Realisations are degraded ``settings.realisation_batch`` at a time, so memory stays bounded at the
    full scale (2,800 realisations: 571,200 rows, 71 MB of features per doped host). With
    ``undoped``, the contexts of ``entry``'s host without a dopant: the dopant block of the
    context is zero and only the 14 motifs without a dopant
    (:data:`~ctxlib.materials.motifs.UNDOPED_MOTIFS`) are kept, so no row is of class D.
    """
    pair = trained_pairs().index((entry.host, None if undoped else entry.dopant))
    realisations = settings.realisations
    parts = {k: [] for k in ("X", "y", "energy", "detector", "motif", "realisation")}
    for e, energy in enumerate(ENERGIES_KEV):
        for d, detector in enumerate(DETECTORS):
            rng = np.random.default_rng([settings.seed, pair, e, d])
            step = settings.realisation_batch
            batches = [min(step, realisations - start) for start in range(0, realisations, step)]
            plan = ContextPlan.of(entry, energy, detector, settings=settings, undoped=undoped)
            X = np.concatenate([context_features(entry, energy, detector, b, rng, settings=settings, plan=plan).X
                                for b in batches])
            n = len(X)
            parts["X"].append(X)
            parts["y"].append(np.tile(LABELS, realisations))
            parts["energy"].append(np.full(n, energy, np.int16))
            parts["detector"].append(np.full(n, d, np.int8))
            parts["motif"].append(np.tile(np.arange(len(MOTIFS), dtype=np.int8), realisations))
            parts["realisation"].append(np.repeat(np.arange(realisations, dtype=np.int32), len(MOTIFS)))
    arrays = {k: np.concatenate(v) for k, v in parts.items()}
    if undoped:
        keep = np.isin(arrays["motif"], UNDOPED_MOTIFS)
        arrays = {k: v[keep] for k, v in arrays.items()}
    return arrays


@dataclass(frozen=True)
class FeatureRun:
    """What :func:`build_features` did: files written (and why), reused, doped hosts skipped for lack of library files."""

    directory: Path
    written: list[str]
    reused: list[str]
    missing_library: list[str]
    #: Files rebuilt because their stamp changed -> the stamp entries that changed.
    rebuilt: dict[str, list[str]]


#: The modules whose code makes a feature file (their source digest is in its stamp).
FEATURE_CODE = (
    "ctxlib.learning.dataset", "ctxlib.simulation.augmentation", "ctxlib.simulation.noise",
    "ctxlib.encoding.patches", "ctxlib.encoding.zernike", "ctxlib.encoding.context", "ctxlib.encoding.features",
    "ctxlib.encoding.columns", "ctxlib.base.intensity", "ctxlib.materials.motifs", "ctxlib.materials.catalog",
)


def feature_stamp(name: str, settings: FeatureSettings, library_files: dict) -> dict:
    """Everything a trained pair's feature file is made from: settings, the library file (name and SHA-256,
    :func:`~ctxlib.simulation.library.library_source`), code digest, version."""
    source = library_source(name, library_files)
    stamp = {"settings": record(settings), "library_sha256": library_files[f"{source}.npz"]["sha256"],
             "code": source_digest(*FEATURE_CODE), "ctxlib": __version__}
    return stamp if source == name else {**stamp, "library_file": source}


def write_feature_file(path: Path, settings: FeatureSettings, stamp: dict) -> str:
    """Compute one trained pair's features (``path.stem`` is a pair name, ``WSe2-Ti`` or ``WSe2-none``) and write
    them with ``stamp``, atomically."""
    from threadpoolctl import threadpool_limits

    host, dopant = parse_pair_name(path.stem)
    source = stamp.get("library_file", path.stem)
    with threadpool_limits(1):  # one BLAS thread, as on a dask worker: the same sums in the same order, the same bytes
        arrays = host_features(load_library(*parse_pair_name(source)), settings, undoped=dopant is None)
    text = np.array(json.dumps(stamp, sort_keys=True))
    atomic_write(path, lambda h: write_npz(h, stamp=text, **arrays))
    return path.stem


def build_features(directory: str | Path, scale: str = "quick", *, seed: int = 0, progress: bool | None = None,
                   settings: FeatureSettings | None = None, workers: int | None = None,
                   scheduler: str | None = None) -> FeatureRun:
    """Write the feature files of every trained pair present in the library (resumable): the doped hosts and the
    hosts without a dopant (:func:`~ctxlib.materials.catalog.trained_pairs`).

    Each file is stamped with everything it was made from (:func:`feature_stamp`):
    ``settings`` (default: the preset of ``scale`` with ``seed``), the library file's
    SHA-256, the digest of the code that computes features, and ctxlib's version. A file
    whose stamp matches is reused; any other is rebuilt, and :attr:`FeatureRun.rebuilt`
    says which stamp entries changed. Doped hosts without a library file are listed in
    the result (never replaced by other data).

    Doped hosts are computed in parallel on a ``dask.distributed`` cluster: ``scheduler``
    (an address), else a local cluster of ``workers`` single-threaded processes; with
    ``workers=1`` and no scheduler, in this process. Every file is seeded by its doped
    host alone, so the bytes do not depend on the number of workers. ``workers`` and ``progress`` default
    to the knobs of :mod:`ctxlib.base.config`.
    """
    from tqdm.auto import tqdm

    workers, progress = knobs.resolve("workers", workers), knobs.resolve("progress", progress)
    settings = settings or FeatureSettings.at_scale(scale, seed)
    directory = Path(directory)
    present, missing = trained_status()
    files = read_manifest()["files"]
    todo, reused, rebuilt = [], [], {}
    for name in present:
        path = directory / f"{name}.npz"
        stamp = feature_stamp(name, settings, files)
        old = stamp_of(path)
        if old == stamp:
            reused.append(name)
            continue
        if old is not None:
            rebuilt[name] = _changes(old, stamp)
        todo.append((path, stamp))
    bar = tqdm(total=len(todo), desc=f"features ({settings.realisations} realisations)", disable=not progress)
    written = []
    if workers == 1 and scheduler is None:
        for path, stamp in todo:
            written.append(write_feature_file(path, settings, stamp))
            bar.update()
    elif todo:
        from dask.distributed import Client, as_completed

        cluster = None if scheduler else local_cluster(workers)
        try:
            with Client(scheduler or cluster) as client:
                futures = [client.submit(write_feature_file, path, settings, stamp, pure=False) for path, stamp in todo]
                for future in as_completed(futures):
                    written.append(future.result())
                    bar.update()
        finally:
            if cluster is not None:
                cluster.close()
    bar.close()
    order = {name: k for k, name in enumerate(present)}
    return FeatureRun(directory, sorted(written, key=order.get), reused, missing, rebuilt)


def _changes(old: dict, new: dict, prefix: str = "") -> list[str]:
    """The dotted keys whose values differ between two stamps."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _changes(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}")
    return out
