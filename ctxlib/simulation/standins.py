"""Test micrographs for section 6: large-field abTEM images of doped WSe2 with known truth.

The paper validates on experimental images of WSe2 doped with Ti, V, Mn and Co, labelled
by three experts; those images are not available. In their place, one large periodic
field per dopant is simulated with abTEM (80 keV, HAADF and MAADF from one scan), with
dopants on random metal sites and single and double Se vacancies on random X2 sites,
and the ground truth of every column is kept. To keep the test away from the training
distribution (:mod:`ctxlib.simulation.augmentation`), the images differ from it in ways the
training never saw: the probe is defocused, the scan pixel is finer (0.2 against
0.28 Angstrom), the field is sheared by linear drift and its rows wobble sinusoidally
(scan distortion), the source has a finite size, and the dose and detector offset are
fixed values of their own (:class:`ExperimentLike`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage

from ctxlib.base import config
from ctxlib.base.files import atomic_write
from ctxlib.materials.catalog import CONVERGENCE_MRAD, DETECTORS, HOSTS, check_dopant, parse_formula
from ctxlib.materials.motifs import CLASS_NAMES, host_cell, projected_columns
from ctxlib.simulation.scans import build_potential

#: The experimental dopants of §6.
TEST_DOPANTS: tuple[str, ...] = ("Ti", "V", "Mn", "Co")
FORMAT = 1
#: Field layouts (:class:`FieldSettings`), and the truth regions they mark (0 bulk, 1 domain boundary, 2 hole edge).
LAYOUTS = ("perfect", "twin", "hole")
#: Per-column truth stored in a micrograph file (``truth_<key>``).
TRUTH_KEYS = ("x", "y", "row", "col", "label", "region")


@dataclass(frozen=True)
class FieldSettings:
    """The simulated field: host, size, defect densities and the scan.

    Attributes
    ----------
    host : str
    energy_kev : int
    repeat : (int, int)
        Orthogonal host cells (a x sqrt(3) a) in x and y: 12 x 7 is 39 x 40 Angstrom, 336 columns.
        (PRISM's cost grows about as the cube of the area here: a 20 x 12 field took over
        half an hour on two cores, 12 x 7 about half a minute.)
    dopant_fraction, single_vacancy_fraction, double_vacancy_fraction : float
        Shares of metal sites carrying the dopant and of X2 sites missing one or both atoms.
    scan_sampling : float
        Probe step, Angstrom.
    defocus : float
        Probe defocus, Angstrom (abTEM's sign convention; the training library is in focus).
    interpolation : int
        PRISM interpolation factor (the probe is cut to 1/interpolation of the field).
    layout : {"perfect", "twin", "hole"}
        One crystal; two grains whose sublattices swap across mirror-twin boundaries at
        x = 0 and x = half the field (the right half has metal and X2 columns exchanged); or a
        hole of ``hole_radius`` at the centre.
    hole_radius : float
        Angstrom (``layout="hole"`` only).
    detector_angles : ((float, float), (float, float))
        Inner and outer angles of the two annular detectors, mrad, in the order of
        :data:`ctxlib.materials.catalog.DETECTORS` (default: the catalog's own).
    convergence_mrad : float
        Probe convergence semi-angle, mrad (default: the catalog's).
    """

    host: str = "WSe2"
    energy_kev: int = 80
    repeat: tuple[int, int] = (12, 7)
    dopant_fraction: float = 0.04
    single_vacancy_fraction: float = 0.05
    double_vacancy_fraction: float = 0.03
    scan_sampling: float = 0.2
    defocus: float = 30.0
    interpolation: int = 4
    layout: str = "perfect"
    hole_radius: float = 8.0
    detector_angles: tuple[tuple[float, float], tuple[float, float]] = tuple(DETECTORS.values())
    convergence_mrad: float = CONVERGENCE_MRAD

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {self.layout!r}")
        if len(self.detector_angles) != len(DETECTORS) or not all(0 <= i < o for i, o in self.detector_angles):
            raise ValueError(f"detector_angles must be {len(DETECTORS)} (inner, outer) pairs in mrad with "
                             f"0 <= inner < outer, got {self.detector_angles!r}")
        if not self.convergence_mrad > 0:
            raise ValueError(f"convergence_mrad must be > 0 mrad, got {self.convergence_mrad!r}")


@dataclass(frozen=True)
class ExperimentLike:
    """Degradations unlike the training augmentation (see the module docstring).

    Attributes
    ----------
    source_fwhm : float
        Gaussian source size, Angstrom.
    shear : float
        Linear drift: row r is shifted by ``shear * r`` pixels in x.
    wobble_amplitude, wobble_period : float
        Sinusoidal row displacement, Angstrom, and its period in rows.
    dose : float
        Electrons per square Angstrom (Poisson noise).
    offset : float
        Detector offset, fraction of the mean signal.
    """

    source_fwhm: float = 0.5
    shear: float = 0.015
    wobble_amplitude: float = 0.12
    wobble_period: float = 37.0
    dose: float = 3e4
    offset: float = 0.05


def _stream(dopant: str | None) -> int:
    """Which seeded random stream a field uses (one per test dopant)."""
    return TEST_DOPANTS.index(dopant) if dopant in TEST_DOPANTS else len(TEST_DOPANTS)


def _apply_layout(atoms, settings: FieldSettings):
    """The field's atoms after its layout, and a function giving each column's truth region from its (x, y)."""
    lengths = np.diag(atoms.cell)[:2]
    a = lengths[1] / settings.repeat[1] / np.sqrt(3)  # the lattice constant: the cell is a x sqrt(3) a
    if settings.layout == "twin":
        metal = np.array(atoms.get_chemical_symbols()) == parse_formula(settings.host)[0]
        bond = a / np.sqrt(3)  # metal -> X2 along y in the orthogonal cell
        xy = atoms.positions[:, :2]
        gap = np.mod(xy[metal][0] + [0.0, bond] - xy[~metal] + lengths / 2, lengths) - lengths / 2
        t = np.array([0.0, bond if np.hypot(*gap.T).min() < 0.05 else -bond])  # from a metal to its X2 along y
        right = xy[:, 0] >= lengths[0] / 2
        xy[right & metal] += t
        xy[right & ~metal] -= t
        atoms.wrap()
        xy = atoms.positions[:, :2]  # a view: edits below move the atoms
        xy -= (xy > lengths - 0.005) * lengths  # wrapped to within rounding of the far edge: it is the near one
        xy[np.abs(xy) < 1e-6] = 0.0

        def region(x, y):
            to_boundary = np.minimum(np.abs(x - lengths[0] / 2), np.minimum(x, lengths[0] - x))
            return np.where(to_boundary < a, 1, 0)
    elif settings.layout == "hole":
        centre = lengths / 2
        del atoms[np.flatnonzero(np.hypot(*(atoms.positions[:, :2] - centre).T) < settings.hole_radius)]

        def region(x, y):
            return np.where(np.hypot(x - centre[0], y - centre[1]) < settings.hole_radius + a, 2, 0)
    else:
        def region(x, y):
            return np.zeros(np.shape(x), int)
    return atoms, region


def defect_field(dopant: str | None, settings: FieldSettings = FieldSettings(), *, seed: int = 0):
    """The atoms of one field and the truth of every column (``dopant=None``: an undoped host).

    Returns
    -------
    atoms : ase.Atoms
    truth : pandas.DataFrame
        One row per lattice site: ``x``, ``y`` (Angstrom), ``label`` (0-4), ``class`` and
        ``region`` (0 bulk, 1 within a lattice constant of a domain boundary, 2 of a hole).
    """
    if dopant is not None:
        check_dopant(settings.host, dopant)
    rng = np.random.default_rng([seed, _stream(dopant)])
    atoms, region = _apply_layout(host_cell(settings.host) * (settings.repeat[0], settings.repeat[1], 1), settings)
    symbols = atoms.get_chemical_symbols()
    metal = [i for i, symbol in enumerate(symbols) if symbol == parse_formula(settings.host)[0]]
    n_doped = 0 if dopant is None else int(round(settings.dopant_fraction * len(metal)))
    doped = rng.choice(metal, n_doped, replace=False)
    for i in doped:
        symbols[i] = dopant
    atoms.set_chemical_symbols(symbols)
    columns = projected_columns(atoms)  # {(x, y): [symbols]} ; X2 columns hold two chalcogen atoms
    x_sites = [xy for xy, members in columns.items() if len(members) == 2]
    n_single = int(round(settings.single_vacancy_fraction * len(x_sites)))
    n_double = int(round(settings.double_vacancy_fraction * len(x_sites)))
    chosen = rng.permutation(len(x_sites))[: n_single + n_double]
    remove, labels = [], {}
    positions = atoms.positions
    for rank, k in enumerate(chosen):
        x, y = x_sites[k]
        here = np.flatnonzero(np.hypot(positions[:, 0] - x, positions[:, 1] - y) < 0.1)
        here = here[np.argsort(positions[here, 2])]
        remove += list(here[:1] if rank < n_single else here)  # single: the beam-entrance atom
        labels[(x, y)] = 1 if rank < n_single else 2
    del atoms[sorted(remove)]
    rows = []
    for (x, y), members in columns.items():
        if len(members) == 2:
            label = labels.get((x, y), 0)
        else:
            label = 4 if members[0] == dopant else 3
        rows.append({"x": x, "y": y, "label": label, "class": CLASS_NAMES[label]})
    truth = pd.DataFrame(rows)
    return atoms, truth.assign(region=region(truth["x"].to_numpy(), truth["y"].to_numpy()).astype(int))


def simulate_field(atoms, settings: FieldSettings = FieldSettings(), *,
                   device: str | None = None) -> tuple[np.ndarray, tuple]:
    """Clean HAADF and MAADF images of a periodic field, one PRISM scan over the whole cell, on ``device``
    (``"cpu"`` or ``"cuda"``; default: the ``device`` knob of :mod:`ctxlib.base.config`).

    Returns
    -------
    images, pixel_size
        (2, ny, nx) float32, fraction of the beam, rows along y, pixel (0, 0) at the
        cell origin; (y, x) Angstrom per pixel.
    """
    import abtem


    lengths = np.diag(atoms.cell)[:2]
    gpts = [int(np.ceil(length / settings.scan_sampling)) for length in lengths]
    annular = [abtem.AnnularDetector(inner=inner, outer=outer) for inner, outer in settings.detector_angles]
    with abtem.config.set({"device": config.abtem_device(device), "diagnostics.progress_bar": False}):
        # 3 % finer than the library: with PRISM interpolation the grid must reach 280 mrad in every direction
        potential = build_potential(atoms, settings.energy_kev, max(o for _, o in settings.detector_angles),
                                    sampling_factor=0.97)
        source = abtem.SMatrix(potential=potential, energy=settings.energy_kev * 1e3,
                               semiangle_cutoff=settings.convergence_mrad, interpolation=settings.interpolation)
        scan = abtem.GridScan(start=(0, 0), end=tuple(lengths), gpts=gpts, endpoint=False)
        ctf = abtem.CTF(semiangle_cutoff=settings.convergence_mrad, aberration_coefficients={"C10": -settings.defocus},
                        energy=settings.energy_kev * 1e3)
        measurements = source.scan(scan=scan, detectors=annular, ctf=ctf)
        result = abtem.stack(measurements).compute().array
    result = result.get() if hasattr(result, "get") else np.asarray(result)
    return np.swapaxes(result, 1, 2).astype(np.float32), (lengths[1] / gpts[1], lengths[0] / gpts[0])


def row_shift(rows: np.ndarray, params: ExperimentLike, pixel_x: float) -> np.ndarray:
    """Scan distortion: how far (pixels, along x) row ``rows`` of the degraded image samples from the clean one."""
    return params.shear * rows + params.wobble_amplitude / pixel_x * np.sin(2 * np.pi * rows / params.wobble_period)


def degrade_field(images: np.ndarray, pixel_size: tuple[float, float], params: ExperimentLike,
                  rng: np.random.Generator) -> np.ndarray:
    """Apply the experiment-like degradations to clean images (each detector the same scan distortion)."""
    py, px = pixel_size
    sigma = params.source_fwhm / 2.3548 / np.array([py, px])
    ny, nx = images.shape[-2:]
    rows = np.arange(ny)[:, None]
    shift_px = row_shift(rows, params, px)
    coords = np.array(np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij"), dtype=np.float64)
    coords[1] = coords[1] + shift_px
    out = []
    for image in images:
        blurred = ndimage.gaussian_filter(image.astype(np.float64), sigma, mode="wrap")
        distorted = ndimage.map_coordinates(blurred, coords, order=3, mode="grid-wrap")
        electrons = rng.poisson(np.clip(distorted, 0, None) * params.dose * py * px)
        out.append(electrons / (params.dose * py * px) + params.offset * distorted.mean())
    return np.array(out, dtype=np.float32)


def truth_pixels(truth: pd.DataFrame, pixel_size: tuple[float, float], params: ExperimentLike,
                 shape: tuple[int, int]) -> pd.DataFrame:
    """The truth table with each column's pixel position (``row``, ``col``) in the distorted image."""
    py, px = pixel_size
    row = truth["y"].to_numpy() / py
    col = truth["x"].to_numpy() / px
    # the distorted image at (r, c) shows the clean image at (r, c + shift(r)): a column moves by -shift(r)
    return truth.assign(row=row, col=(col - row_shift(row, params, px)) % shape[1])


@dataclass(frozen=True)
class TestMicrograph:
    """One test field as stored in ``data/micrographs/<host>-<dopant or undoped>.npz``.

    Attributes
    ----------
    dopant : str or None
    clean, degraded : numpy.ndarray, (2, ny, nx)
        HAADF and MAADF (order of :data:`ctxlib.materials.catalog.DETECTORS`), fraction of the beam.
    pixel_size : (float, float)
        (y, x) Angstrom per pixel.
    truth : pandas.DataFrame
        Every lattice site: ``x``, ``y`` (Angstrom), ``row``, ``col`` (pixels in the degraded
        image), ``label`` and ``class``.
    """

    dopant: str | None
    clean: np.ndarray
    degraded: np.ndarray
    pixel_size: tuple[float, float]
    truth: pd.DataFrame

    def image(self, detector: str, degraded: bool = True) -> np.ndarray:
        """One detector's image."""
        return (self.degraded if degraded else self.clean)[tuple(DETECTORS).index(detector)]


#: FieldSettings fields added after files were made: a stamp names them only where they differ from their
#: default, so that the files made before they existed stay current.
_LATER_FIELDS = ("detector_angles", "convergence_mrad")


def _stamp(settings: FieldSettings, params: ExperimentLike, seed: int) -> str:
    import json

    field = asdict(settings)
    for name in _LATER_FIELDS:
        if getattr(settings, name) == getattr(FieldSettings(), name):
            del field[name]
    return json.dumps({"format": FORMAT, "field": field, "degradation": asdict(params), "seed": seed},
                      sort_keys=True)


def micrographs_root(root: str | Path | None = None) -> Path:
    """``root``, or where none is given the ``micrographs`` folder under the ``data_root`` knob
    (:mod:`ctxlib.base.config`; default ``data/micrographs``)."""
    return config.data_folder("micrographs", root)


def micrograph_file(dopant: str | None, host: str = "WSe2", *, root: Path | None = None) -> Path:
    """Path of one test micrograph."""
    return micrographs_root(root) / f"{host}-{dopant or 'undoped'}.npz"


def _write_field(path: Path, dopant: str | None, settings: FieldSettings, params: ExperimentLike, seed: int) -> bool:
    """Simulate, degrade and write one field unless a file with the same stamp exists; True when written."""
    stamp = _stamp(settings, params, seed)
    if path.exists():
        with np.load(path) as data:
            if str(data["stamp"]) == stamp:
                return False
    atoms, truth = defect_field(dopant, settings, seed=seed)
    clean, pixel = simulate_field(atoms, settings)
    rng = np.random.default_rng([seed, _stream(dopant), 1])
    degraded = degrade_field(clean, pixel, params, rng)
    truth = truth_pixels(truth, pixel, params, clean.shape[-2:])
    arrays = {"clean": clean.astype(np.float16), "degraded": degraded, "pixel_size": np.array(pixel),
              "stamp": stamp, "dopant": dopant or "", **{f"truth_{k}": truth[k].to_numpy() for k in TRUTH_KEYS}}
    atomic_write(path, lambda handle: np.savez(handle, **arrays))
    return True


def generate_test_micrographs(
    dopants: tuple[str | None, ...] = TEST_DOPANTS, settings: FieldSettings = FieldSettings(), *,
    params: ExperimentLike = ExperimentLike(), seed: int = 0, root: Path | None = None,
    progress: bool | None = None,
) -> list[str]:
    """Simulate, degrade and write the test micrographs that are missing (resumable, atomic writes).

    Returns the dopants written; a file made with the same settings and seed is kept.
    """
    from tqdm.auto import tqdm

    return [d for d in tqdm(dopants, desc="test micrographs", disable=not config.resolve("progress", progress))
            if _write_field(micrograph_file(d, settings.host, root=root), d, settings, params, seed)]


@dataclass(frozen=True)
class HardCase:
    """A stand-in for what real images do to site finding (section 6, "hard cases").

    Attributes
    ----------
    description : str
    dopant : str or None
    field : FieldSettings
    degradation : ExperimentLike
    """

    description: str
    dopant: str | None
    field: FieldSettings
    degradation: ExperimentLike


#: The hard cases, by name (file ``data/micrographs/hard-<name>.npz``).
HARD_CASES: dict[str, HardCase] = {
    "dim-sulfide": HardCase("MoS2 + V at 60 keV, 6 nm defocus, 1 A source: in HAADF the S2 columns make no peak",
                            "V", FieldSettings(host="MoS2", energy_kev=60, defocus=60.0),
                            ExperimentLike(source_fwhm=1.0)),
    "twin": HardCase("MoSe2 + V, two grains whose sublattices swap across mirror-twin boundaries", "V",
                     FieldSettings(host="MoSe2", repeat=(14, 7), layout="twin"), ExperimentLike()),
    "hole": HardCase("WSe2 + Ti with a hole of 8 A radius at the centre", "Ti", FieldSettings(layout="hole"),
                     ExperimentLike()),
    "low-dose": HardCase("WSe2 + Ti at a tenth of the dose (3,000 e/A^2)", "Ti", FieldSettings(),
                         ExperimentLike(dose=3e3)),
}


#: Microscopes unlike the catalog's (section on real micrographs, "any microscope"): WSe2 + Ti as the §6
#: stand-ins, at an energy or with angles the models were not trained on (file ``data/micrographs/microscope-<name>.npz``).
MICROSCOPE_CASES: dict[str, HardCase] = {
    "40 keV": HardCase("WSe2 + Ti at 40 keV (no model was trained below 60 keV)", "Ti", FieldSettings(energy_kev=40),
                       ExperimentLike()),
    "other angles": HardCase("WSe2 + Ti at 80 keV with a 25 mrad probe and detectors of 50-200 mrad (HAADF) and "
                             "25-90 mrad (MAADF), against the catalog's 31, 68-280 and 30-120 mrad", "Ti",
                             FieldSettings(detector_angles=((50.0, 200.0), (25.0, 90.0)), convergence_mrad=25.0),
                             ExperimentLike()),
}
_CASES = {"hard": HARD_CASES, "microscope": MICROSCOPE_CASES}


def hard_case_file(name: str, root: Path | None = None, *, kind: str = "hard") -> Path:
    """Path of one hard case's (``kind="hard"``, :data:`HARD_CASES`) or microscope case's (``"microscope"``,
    :data:`MICROSCOPE_CASES`) micrograph."""
    cases = _CASES[kind]
    if name not in cases:
        raise ValueError(f"no {kind} case {name!r}; the cases are {', '.join(cases)}")
    return micrographs_root(root) / f"{kind}-{name.replace(' ', '-')}.npz"


def generate_hard_cases(names: tuple[str, ...] | None = None, seed: int = 0, *, root: Path | None = None,
                        progress: bool | None = None, kind: str = "hard") -> list[str]:
    """Simulate and write the cases of ``kind`` (all, or ``names``) that are missing or stale (resumable, atomic
    writes)."""
    from tqdm.auto import tqdm

    cases = _CASES[kind]
    progress = config.resolve("progress", progress)
    return [n for n in tqdm(names or tuple(cases), desc=f"{kind} cases", disable=not progress)
            if _write_field(hard_case_file(n, root, kind=kind), cases[n].dopant, cases[n].field,
                            cases[n].degradation, seed)]


def _read_micrograph_file(path: Path, dopant: str | None) -> TestMicrograph:
    """Read a micrograph file; a clear error names the command that makes a missing one."""
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; make it with `python -m ctxlib.simulation.standins generate`")
    with np.load(path) as data:
        truth = pd.DataFrame({k: data[f"truth_{k}"] for k in TRUTH_KEYS if f"truth_{k}" in data})
        truth["region"] = truth["region"].astype(int) if "region" in truth else 0
        truth["class"] = np.array(CLASS_NAMES)[truth["label"]]
        return TestMicrograph(dopant, data["clean"].astype(np.float32), data["degraded"],
                              tuple(float(v) for v in data["pixel_size"]), truth)


def load_hard_case(name: str, root: Path | None = None, *, kind: str = "hard") -> TestMicrograph:
    """Read one hard case (:data:`HARD_CASES`) or, with ``kind="microscope"``, one of :data:`MICROSCOPE_CASES`."""
    return _read_micrograph_file(hard_case_file(name, root, kind=kind), _CASES[kind][name].dopant)


def load_test_micrograph(dopant: str | None, host: str = "WSe2", *, root: Path | None = None) -> TestMicrograph:
    """Read one test micrograph; a clear error names the command that makes a missing one."""
    return _read_micrograph_file(micrograph_file(dopant, host, root=root), dopant)


def load_test_micrograph_sets(root: Path | None = None, dopants: tuple[str, ...] = TEST_DOPANTS) -> dict:
    """Every doped test field present, by host: ``{host: {dopant: TestMicrograph}}`` (WSe2 first, then the other
    hosts in catalog order; ``python -m ctxlib.simulation.standins generate --host WS2`` makes more)."""
    hosts = ["WSe2", *(h for h in HOSTS if h != "WSe2")]
    present = {host: {d: load_test_micrograph(d, host, root=root) for d in dopants
                   if micrograph_file(d, host, root=root).exists()}
               for host in hosts}
    return {host: fields for host, fields in present.items() if fields}


def load_test_micrographs(dopants: tuple[str | None, ...] = TEST_DOPANTS, host: str = "WSe2", *,
                          root: Path | None = None) -> dict[str | None, TestMicrograph]:
    """Read the test micrographs of one host, one per dopant (each must exist).

    Parameters
    ----------
    dopants : tuple of str or None
        The dopants, in the order of the result (None: the undoped field).
    host : str
    root : Path, optional
        Folder of the micrograph files (default :func:`micrographs_root`).

    Returns
    -------
    dict
        Dopant -> :class:`TestMicrograph`.
    """
    return {dopant: load_test_micrograph(dopant, host, root=root) for dopant in dopants}


def load_hard_cases(root: Path | None = None, *, kind: str = "hard") -> dict[str, TestMicrograph]:
    """Read every hard case (:data:`HARD_CASES`) or, with ``kind="microscope"``, every one of
    :data:`MICROSCOPE_CASES`: name -> :class:`TestMicrograph`, in the order of the cases."""
    return {name: load_hard_case(name, root, kind=kind) for name in _CASES[kind]}


#: Fig. S18's stand-in: undoped MoSe2 with single and double Se vacancies.
UNDOPED_FIELD = FieldSettings(host="MoSe2", dopant_fraction=0.0)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m ctxlib.simulation.standins generate [--host WSe2 --dopants Ti V none] [--seed 0]``.

    Without ``--host``, makes the WSe2 fields of :data:`TEST_DOPANTS`, the undoped
    MoSe2 field (:data:`UNDOPED_FIELD`), the hard cases (:data:`HARD_CASES`) and the microscope
    cases (:data:`MICROSCOPE_CASES`).
    """
    import argparse
    from dataclasses import replace

    parser = argparse.ArgumentParser(prog="python -m ctxlib.simulation.standins", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    command = sub.add_parser("generate", help="simulate the missing test micrographs into data/micrographs")
    command.add_argument("--host", help="one host (default: WSe2 with the four dopants, and undoped MoSe2)")
    command.add_argument("--dopants", nargs="*", default=list(TEST_DOPANTS), help="dopants; 'none' for undoped")
    command.add_argument("--seed", type=int, default=0)
    command.add_argument("--root", type=Path, help="folder of the fields (default data/micrographs)")
    command.add_argument("--hard-only", action="store_true", help="only the hard and microscope cases (HARD_CASES, MICROSCOPE_CASES)")
    args = parser.parse_args(argv)
    dopants = tuple(None if d.lower() == "none" else d for d in args.dopants)
    if args.host:
        jobs = [(replace(FieldSettings(), host=args.host), dopants)]
    else:
        jobs = [(FieldSettings(), dopants), (UNDOPED_FIELD, (None,))]
    written = [] if args.hard_only else [f"{settings.host}-{d or 'undoped'}" for settings, batch in jobs
                                         for d in generate_test_micrographs(batch, settings, seed=args.seed,
                                                                            root=args.root)]
    if not args.host:
        written += [f"{kind}-{n}" for kind in _CASES for n in generate_hard_cases(seed=args.seed, root=args.root,
                                                                                  kind=kind)]
    print(f"wrote {len(written)} micrograph(s): {' '.join(written) or 'none (all present)'}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
