"""abTEM simulation of annular dark-field images (paper §4, Fig. 4d).

One multislice scan gives the HAADF and MAADF images together. The potential
sampling is derived from the largest collection angle: abTEM band-limits the wave to
2/3 of the Nyquist frequency, so scattering up to ``theta_max`` needs a real-space
sampling of at most ``(2/3) * lambda / (2 * theta_max)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ctxlib.base import config
from ctxlib.base.electrons import electron_wavelength  # noqa: F401 (also imported from here by augmentation)
from ctxlib.base.intensity import IntensityNormaliser
from ctxlib.materials.catalog import CONVERGENCE_MRAD, DETECTORS, check_choice, check_detector, check_energy, check_host
from ctxlib.materials.motifs import MOTIF_REPEAT, host_cell, motif_structure, projected_columns

#: Extra margin on the antialiasing limit (scattering up to 2 % beyond the detector edge).
ANGLE_MARGIN = 1.02


def potential_sampling(energy_kev: float, max_angle_mrad: float) -> float:
    """Largest potential sampling, Angstrom, that keeps ``max_angle_mrad`` inside abTEM's antialias aperture."""
    return (2 / 3) * electron_wavelength(energy_kev) / (2 * ANGLE_MARGIN * max_angle_mrad * 1e-3)


def simulate_periodic_images(
    cell,
    energy_kev: int,
    *,
    detectors: tuple[str, ...] = tuple(DETECTORS),
    scan_sampling: float = 0.2,
    repeat: tuple[int, int] = (3, 2),
) -> dict[str, "object"]:
    """Simulate annular dark-field images of one periodic cell with abTEM multislice.

    The probe runs over one cell of the ``repeat``-times larger supercell (so it never
    overlaps its own periodic image) and the result is periodic: tile it with abTEM's
    ``Images.tile`` and interpolate with ``Images.interpolate`` (Fourier) as needed.

    Parameters
    ----------
    cell : ase.Atoms
        Orthogonal periodic cell.
    energy_kev : {60, 80, 100}
    detectors : tuple of str
        Catalog detector names.
    scan_sampling : float
        Probe step, Angstrom.
    repeat : (int, int)
        Supercell repetition in x and y for the potential (sliced one slice per atomic
        plane, as the motif library).

    Returns
    -------
    dict
        Detector name -> ``abtem.Images`` (intensity as a fraction of the incident beam).
    """
    import abtem

    check_energy(energy_kev)
    for name in detectors:
        check_detector(name)
    max_angle = max(DETECTORS[name][1] for name in detectors)
    potential = build_potential(cell * (repeat[0], repeat[1], 1), energy_kev, max_angle)
    probe = abtem.Probe(energy=energy_kev * 1e3, semiangle_cutoff=CONVERGENCE_MRAD)
    scan = abtem.GridScan(
        start=(0, 0), end=(cell.cell[0, 0], cell.cell[1, 1]), sampling=scan_sampling, endpoint=False
    )
    annular = [abtem.AnnularDetector(inner=DETECTORS[n][0], outer=DETECTORS[n][1]) for n in detectors]
    measurements = probe.scan(potential, scan=scan, detectors=annular)
    measurements = measurements if isinstance(measurements, list) else [measurements]
    computed = abtem.stack(measurements).compute() if len(measurements) > 1 else measurements[0].compute()
    if len(measurements) == 1:
        return {detectors[0]: computed}
    return {name: computed[i] for i, name in enumerate(detectors)}


def periodic_fields(images: dict[str, "object"], *, sampling: float = 0.1,
                    tiles: tuple[int, int] = (12, 7)) -> dict[str, "object"]:
    """Fields of view from periodic one-cell images: Fourier-interpolated, then tiled.

    Parameters
    ----------
    images : dict
        Detector name -> ``abtem.Images`` of one periodic cell (:func:`simulate_periodic_images`).
    sampling : float
        Target pixel size, Angstrom (``Images.interpolate``: the nearest sampling that divides the
        cell into whole pixels).
    tiles : (int, int)
        Cells along x and y (``Images.tile``).

    Returns
    -------
    dict
        Detector name -> ``abtem.Images`` of the tiled field, in the order of ``images``.
    """
    return {name: image.interpolate(sampling).tile(tiles) for name, image in images.items()}


def pristine_column_intensities(host: str, *, energy_kev: float, detector_angles: tuple[float, float],
                                convergence_mrad: float = CONVERGENCE_MRAD) -> tuple[float, float]:
    """Annular-detector signal with the probe on a metal column and on an X2 column of the pristine host.

    abTEM multislice of the orthogonal host cell (in a 3 x 2 supercell), the probe parked on
    one column of each kind: which sublattice is the brighter at a microscope, and by how
    much (Fig. S2's ratio, without source blur). About a second.

    Parameters
    ----------
    host : str
        Catalog host.
    energy_kev : float
        Beam energy, keV (any; the catalog's are 60, 80 and 100).
    detector_angles : (float, float)
        Inner and outer collection semi-angles, mrad.
    convergence_mrad : float
        Probe convergence semi-angle, mrad.

    Returns
    -------
    metal, chalcogen : float
        Fraction of the incident beam reaching the detector.
    """
    import abtem

    check_host(host)
    cell = host_cell(host)
    columns = projected_columns(cell)
    metal = next(xy for xy, symbols in columns.items() if len(symbols) == 1)
    chalcogen = next(xy for xy, symbols in columns.items() if len(symbols) == 2)
    centre = np.diag(cell.cell)[:2]  # one cell in from the supercell's corner
    potential = build_potential(cell * (3, 2, 1), energy_kev, detector_angles[1])
    probe = abtem.Probe(energy=energy_kev * 1e3, semiangle_cutoff=convergence_mrad)
    scan = abtem.CustomScan(np.array([metal, chalcogen]) + centre)
    detector = abtem.AnnularDetector(inner=detector_angles[0], outer=detector_angles[1])
    with abtem.config.set({"diagnostics.progress_bar": False}):
        signal = np.asarray(probe.scan(potential, scan=scan, detectors=detector).compute(scheduler="synchronous").array)
    return float(signal[0]), float(signal[1])


def column_species(cell, xy: np.ndarray, *, tolerance: float = 0.5) -> np.ndarray:
    """Name the column of a periodic cell found at each in-plane position.

    Parameters
    ----------
    cell : ase.Atoms
        Orthogonal periodic cell.
    xy : numpy.ndarray, shape (N, 2)
        Positions, Angstrom, in the cell's x-y frame (any periodic image).
    tolerance : float
        Largest distance to a column, Angstrom.

    Returns
    -------
    numpy.ndarray of str
        e.g. ``"W"`` or ``"Se2"`` (atoms stacked on one column, with their count), or
        ``""`` where no column lies within ``tolerance``.
    """
    lengths = np.diag(cell.cell)[:2]
    columns = projected_columns(cell)
    sites = np.array(list(columns))
    names = []
    for symbols in columns.values():
        counts = {s: symbols.count(s) for s in dict.fromkeys(symbols)}
        names.append("".join(s + (str(c) if c > 1 else "") for s, c in counts.items()))
    delta = np.asarray(xy, dtype=np.float64)[:, None, :] - sites[None]
    delta -= np.round(delta / lengths) * lengths
    distance = np.hypot(delta[..., 0], delta[..., 1])
    nearest = distance.argmin(axis=1)
    found = distance[np.arange(len(nearest)), nearest] <= tolerance
    return np.where(found, np.array(names)[nearest], "")


@dataclass(frozen=True)
class MotifSimulation:
    """Settings of the motif library scans (paper §4, Fig. 4d).

    The defaults are the library's; notebook 02 measures them against strict settings.

    Attributes
    ----------
    method : {"prism", "multislice"}
        PRISM (abTEM ``SMatrix``, interpolation 1: identical to multislice up to float
        rounding) is ~2x faster here because one S-matrix serves every probe position.
    repeat : (int, int)
        Orthogonal host cells in the periodic supercell (:data:`ctxlib.materials.motifs.MOTIF_REPEAT`).
    slice_thickness : float or None
        ``None``: one slice per atomic plane, each plane at the entrance of its slice,
        so the wave propagates exactly the X-M-X spacings (uniform slices would move
        the planes to slice edges: 3 uniform slices shift the HAADF mean by ~6 %).
        A number: uniform slices of that thickness, Angstrom (the strict reference).
    scan_sampling : float
        Largest probe step, Angstrom; below the 100 keV Nyquist step lambda / (4 alpha)
        = 0.30 A, so the scan holds all the image's frequencies at every energy.
    window : float
        Side of the stored window around the motif, in patch sides ``sqrt(3) a``.
    sampling_factor : float
        Potential sampling relative to the largest step that keeps 280 mrad (< 1 is finer).
    """

    method: str = "prism"
    repeat: tuple[int, int] = MOTIF_REPEAT
    slice_thickness: float | None = None
    scan_sampling: float = 0.28
    window: float = 1.5
    sampling_factor: float = 1.0

    def __post_init__(self):
        check_choice(self.method, ("prism", "multislice"), "simulation method")


@dataclass(frozen=True)
class MotifImages:
    """Clean images of one motif scan.

    Attributes
    ----------
    images : numpy.ndarray, shape (detectors, n, n), float32
        Window of side ``window * sqrt(3) a`` centred on the motif (pixel ``n // 2``),
        rows along y; intensity as a fraction of the incident beam.
    pixel_size : (float, float)
        (y, x) Angstrom per pixel.
    levels : numpy.ndarray, shape (detectors, 2)
        Background and mean of the whole periodic scan (:class:`ctxlib.base.intensity.IntensityNormaliser`).
    """

    images: np.ndarray
    pixel_size: tuple[float, float]
    levels: np.ndarray


def simulate_motif(
    host: str,
    dopant: str,
    motif,
    energy_kev: int,
    *,
    settings: MotifSimulation = MotifSimulation(),
    device: str | None = None,
) -> MotifImages:
    """Simulate HAADF and MAADF images of one catalog motif with one abTEM scan.

    Parameters
    ----------
    host, dopant : str
        Catalog doped host.
    motif : Motif, str or int
        See :func:`ctxlib.materials.motifs.resolve_motif`.
    energy_kev : {60, 80, 100}
    settings : MotifSimulation
    device : str, optional
        ``"cpu"`` or ``"cuda"`` (abTEM on the GPU needs CuPy); default: the ``device`` knob of
        :mod:`ctxlib.base.config`.

    Returns
    -------
    MotifImages
    """
    atoms = motif_structure(host, dopant, motif, repeat=settings.repeat)
    return simulate_structure(atoms, energy_kev, settings.window * np.sqrt(3) * check_host(host).a, settings=settings,
                              device=device)


def simulate_structure(
    atoms, energy_kev: int, window_side: float, *, settings: MotifSimulation = MotifSimulation(),
    device: str | None = None,
) -> MotifImages:
    """Scan a periodic structure whose centre of interest is the cell centre (see :func:`simulate_motif`).

    The probe runs over the whole periodic cell on a grid with an even number of steps
    per host cell, so the cell centre is a scan point and the image is periodic; a
    window of side ``window_side`` (Angstrom) around the centre is kept.
    """
    import abtem

    check_energy(energy_kev)
    device = config.abtem_device(device)
    lengths = np.diag(atoms.cell)[:2]
    detectors = tuple(DETECTORS)
    # an even number of steps per host cell: the centre is a scan point and the pixel
    # size does not depend on the supercell (so settings compare pixel by pixel)
    scan_gpts = [r * 2 * int(np.ceil(length / r / (2 * settings.scan_sampling))) for r, length in zip(settings.repeat, lengths)]
    annular = [abtem.AnnularDetector(inner=DETECTORS[d][0], outer=DETECTORS[d][1]) for d in detectors]
    with abtem.config.set({"device": device, "diagnostics.progress_bar": False}):
        potential = build_potential(atoms, energy_kev, max(o for _, o in DETECTORS.values()),
                                    sampling_factor=settings.sampling_factor, slice_thickness=settings.slice_thickness)
        scan = abtem.GridScan(start=(0, 0), end=tuple(lengths), gpts=scan_gpts, endpoint=False)
        if settings.method == "prism":
            source = abtem.SMatrix(potential=potential, energy=energy_kev * 1e3, semiangle_cutoff=CONVERGENCE_MRAD)
            measurements = source.scan(scan=scan, detectors=annular)
        else:
            probe = abtem.Probe(energy=energy_kev * 1e3, semiangle_cutoff=CONVERGENCE_MRAD)
            measurements = probe.scan(potential, scan=scan, detectors=annular)
        result = abtem.stack(measurements).compute(scheduler="synchronous").array
    result = result.get() if hasattr(result, "get") else np.asarray(result)  # CuPy -> NumPy on a GPU
    full = np.swapaxes(result, 1, 2)  # abTEM (x, y) -> image rows along y
    pixel = (lengths[1] / scan_gpts[1], lengths[0] / scan_gpts[0])
    half = int(np.ceil(window_side / 2 / min(pixel)))
    rows = np.arange(scan_gpts[1] // 2 - half, scan_gpts[1] // 2 + half + 1)
    cols = np.arange(scan_gpts[0] // 2 - half, scan_gpts[0] // 2 + half + 1)
    window = full.take(rows, axis=1, mode="wrap").take(cols, axis=2, mode="wrap")
    levels = []
    for image in full:
        normaliser = IntensityNormaliser().fit(image)
        levels.append((normaliser.background_, normaliser.mean_))
    return MotifImages(window.astype(np.float32), pixel, np.array(levels, dtype=np.float32))


def build_potential(atoms, energy_kev: int, max_angle_mrad: float, *, sampling_factor: float = 1.0,
               slice_thickness: float | None = None):
    """abTEM potential of a periodic structure: FFT-friendly grid fine enough for ``max_angle_mrad``, per-plane slices."""
    import abtem

    sampling = potential_sampling(energy_kev, max_angle_mrad) * sampling_factor
    gpts = [fft_friendly(int(np.ceil(length / sampling))) for length in np.diag(atoms.cell)[:2]]
    return abtem.Potential(atoms, gpts=gpts, slice_thickness=_slice_thicknesses(atoms, slice_thickness),
                           projection="infinite", parametrization="lobato")


def _slice_thicknesses(atoms, uniform: float | None) -> tuple[float, ...] | float:
    """Slice thicknesses, Angstrom: uniform, or with a slice edge 0.01 A above each atomic plane."""
    if uniform is not None:
        return uniform
    planes = np.unique(np.round(atoms.positions[:, 2], 3))
    edges = np.concatenate([[0.0], planes - 0.01, [atoms.cell[2, 2]]])
    return tuple(np.diff(edges))


def fft_friendly(n: int) -> int:
    """Smallest integer >= n whose only prime factors are 2, 3 and 5."""
    while True:
        rest = n
        for p in (2, 3, 5):
            while rest % p == 0:
                rest //= p
        if rest == 1:
            return n
        n += 1
