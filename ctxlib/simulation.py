"""abTEM simulation of annular dark-field images (paper §4, Fig. 4d).

One multislice scan gives the HAADF and MAADF images together. The potential
sampling is derived from the largest collection angle: abTEM band-limits the wave to
2/3 of the Nyquist frequency, so scattering up to ``theta_max`` needs a real-space
sampling of at most ``(2/3) * lambda / (2 * theta_max)``.
"""

from __future__ import annotations

import numpy as np

from .catalog import CONVERGENCE_MRAD, DETECTORS, HOSTS, check_detector, check_energy

#: Extra margin on the antialiasing limit (scattering up to 2 % beyond the detector edge).
ANGLE_MARGIN = 1.02


def electron_wavelength(energy_kev: float) -> float:
    """Relativistic electron wavelength, Angstrom."""
    from ase import units

    energy = energy_kev * 1e3 * units._e
    mc2 = units._me * units._c**2
    return units._hplanck * units._c / np.sqrt(energy * (2 * mc2 + energy)) * 1e10


def potential_sampling(energy_kev: float, max_angle_mrad: float) -> float:
    """Largest potential sampling, Angstrom, that keeps ``max_angle_mrad`` inside abTEM's antialias aperture."""
    return (2 / 3) * electron_wavelength(energy_kev) / (2 * ANGLE_MARGIN * max_angle_mrad * 1e-3)


def host_cell(host: str):
    """Orthogonal unit cell (6 atoms) of a 1H MX2 monolayer with the catalog lattice constant.

    Parameters
    ----------
    host : str
        Catalog host with a documented X-X height, e.g. ``"WSe2"``.

    Returns
    -------
    ase.Atoms
        Cell ``a x sqrt(3) a`` in-plane, 2 Angstrom of vacuum above and below.
    """
    from abtem.atoms import orthogonalize_cell
    from ase.build import mx2

    if host not in HOSTS:
        raise ValueError(f"host {host!r} is not in the catalog; allowed: {', '.join(HOSTS)}")
    if HOSTS[host].height is None:
        with_height = [h.formula for h in HOSTS.values() if h.height is not None]
        raise ValueError(f"the catalog has no X-X height for {host} yet; simulable hosts: {', '.join(with_height)}")
    atoms = mx2(host, kind="2H", a=HOSTS[host].a, thickness=HOSTS[host].height, vacuum=2.0)
    return orthogonalize_cell(atoms)


def simulate_periodic_images(
    cell,
    energy_kev: int,
    detectors: tuple[str, ...] = tuple(DETECTORS),
    scan_sampling: float = 0.2,
    repeat: tuple[int, int] = (3, 2),
    slices: int = 8,
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
        Supercell repetition in x and y for the potential.
    slices : int
        Number of potential slices through the cell thickness.

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
    supercell = cell * (repeat[0], repeat[1], 1)
    potential = abtem.Potential(
        supercell,
        sampling=potential_sampling(energy_kev, max_angle),
        slice_thickness=supercell.cell[2, 2] / slices,
        projection="infinite",
        parametrization="lobato",
    )
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


def column_species(cell, xy: np.ndarray, tolerance: float = 0.5) -> np.ndarray:
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
    columns: dict[tuple[float, float], list[str]] = {}
    for atom in cell:
        key = tuple(np.round(np.mod(atom.position[:2], lengths), 2))
        columns.setdefault(key, []).append(atom.symbol)
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
