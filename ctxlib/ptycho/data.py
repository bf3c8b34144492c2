"""Benchmark 4D-STEM data with known scan errors, simulated with abTEM: ``python -m ctxlib.ptycho.data generate``.

In: a scale (``"quick"``: 32 x 32 positions, ``"full"``: 64 x 64), the scan-error cases and
the doses of :class:`BenchmarkSettings`. Out: for each case, the diffraction patterns of
monolayer 1H-MoS2 (a = 3.16 Angstrom, two S vacancies so the object is not a perfect
crystal), 80 keV, 25 mrad, 40 Angstrom defocus, scan step 0.35 Angstrom, at the true
(erroneous) positions, with the nominal grid, the true positions, the probe and the
specimen's transmission function; cached under ``_build/ptycho/<scale>/`` with a JSON
manifest that records every setting and each file's SHA-256, all written atomically.

Cases: ``"affine"`` (1 degree rotation, 2 % scale, linear drift (0.5, 0.3) Angstrom over
the frame, 5 pm jitter per axis) and ``"lines"`` (flyback jumps on a quarter of the lines
that relax along the line, slow nonlinear drift, 5 pm jitter). Doses: infinite and two
finite doses (electrons per square Angstrom; Poisson noise with ``dose * step^2``
electrons per pattern on average, drawn from the clean patterns with the noise seed).

The patterns are computed by abTEM multislice (one slice per atomic plane) on the whole
periodic supercell of side ``L`` and sub-sampled every ``r``-th pixel in reciprocal space:
that is exactly the pattern of the exit wave folded onto a window of side ``L / r``, so the
patterns live on the reconstruction's window grid. The quick window (5.5 Angstrom) leaves 4 % of
the probe's intensity outside it; ``settings_for(scale, window=2)`` halves ``r`` (finer reciprocal
sampling, a window of twice the side, same real-space sampling and band limit), cached apart
under ``_build/ptycho/<scale>_window2/``.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
from dataclasses import dataclass, field, replace

import numpy as np

from ctxlib.base.files import atomic_write, sha256
from ctxlib.base.paths import ROOT
from ctxlib.base.settings import check_number, record
from ctxlib.ptycho.constraints import compose_affine
from ctxlib.ptycho.forward import crop_patterns, intensities
from ctxlib.ptycho.probe import BANDLIMIT, probe_wave

CACHE = ROOT / "_build" / "ptycho"
CASES = ("affine", "lines")
INFINITE = math.inf


@dataclass(frozen=True)
class ScanErrors:
    """The scan errors of one case; lengths in Angstrom, rotation in degrees.

    Attributes
    ----------
    rotation_deg : float
        Rotation of the scan about the frame centre, counter-clockwise positive, in [-180, 180].
    scale : float
        Isotropic scale of the scan (1.02 = 2 % too large).
    drift : (float, float)
        Linear drift over the whole frame, Angstrom (reached at the last position).
    jitter_pm : float
        Standard deviation of the independent per-position error on each axis, pm.
    line_jump : float
        Standard deviation of the flyback jumps along x, Angstrom (0: none).
    jump_fraction : float
        Fraction of lines that jump.
    wander : (float, float)
        Amplitudes of the slow nonlinear drift, Angstrom: ``x: a sin(1.5 pi t)``, ``y: b t^2``.
    """

    rotation_deg: float = 0.0
    scale: float = 1.0
    drift: tuple[float, float] = (0.0, 0.0)
    jitter_pm: float = 5.0
    line_jump: float = 0.0
    jump_fraction: float = 0.25
    wander: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self):
        compose_affine(self.rotation_deg, (self.scale, self.scale))
        check_number("jitter_pm", self.jitter_pm, 0, 100)
        check_number("jump_fraction", self.jump_fraction, 0, 1)


ERRORS = {
    "affine": ScanErrors(rotation_deg=1.0, scale=1.02, drift=(0.5, 0.3), jitter_pm=5.0),
    "lines": ScanErrors(line_jump=0.15, wander=(0.3, 0.25), jitter_pm=5.0),
}


@dataclass(frozen=True)
class BenchmarkSettings:
    """Everything the benchmark data depend on (recorded in the manifest).

    Attributes
    ----------
    scan_shape : (int, int)
        Scan lines, points per line (32 x 32 quick, 64 x 64 full).
    step : float
        Nominal scan step, Angstrom.
    energy_kev, semiangle_mrad, defocus : float
        Beam energy (keV), convergence semi-angle (mrad), defocus (Angstrom, abTEM's sign).
    lattice : float
        MoS2 lattice constant, Angstrom.
    cells : (int, int)
        Orthogonal MoS2 cells (3.16 x 5.47 Angstrom) in the periodic supercell.
    fold : int
        Reciprocal-space sub-sampling ``r``: the window is ``1 / r`` of the supercell (its side
        :attr:`window_side`, Angstrom); a smaller ``r`` samples the patterns more finely.
    window : int
        Pattern grid points per axis as simulated (and stored).
    crop : int
        Pattern grid points per axis the reconstruction reads (the central part; it holds
        the whole band-limited signal, see :func:`ctxlib.ptycho.forward.crop_patterns`).
    doses : tuple of float
        Electrons per square Angstrom (``inf``: no noise).
    vacancies : int
        S atoms removed (seeded).
    seed : int
        Seeds the jitter, the jumps and the vacancies.
    """

    scan_shape: tuple[int, int] = (32, 32)
    step: float = 0.35
    energy_kev: float = 80.0
    semiangle_mrad: float = 25.0
    defocus: float = 40.0
    lattice: float = 3.16
    cells: tuple[int, int] = (7, 4)
    fold: int = 4
    window: int = 48
    crop: int = 40
    doses: tuple[float, ...] = (INFINITE, 1e5, 1e4)
    vacancies: int = 2
    seed: int = 0
    errors: dict = field(default_factory=lambda: dict(ERRORS), compare=False, hash=False)

    def __post_init__(self):
        for n in self.scan_shape:
            check_number("scan_shape", n, 2, 512, integer=True)
        check_number("step", self.step, 0.01, 5)
        check_number("fold", self.fold, 1, 64, integer=True)
        check_number("window", self.window, 8, 1024, integer=True)
        check_number("crop", self.crop, 2, self.window, integer=True)
        for dose in self.doses:
            if not dose > 0:
                raise ValueError(f"dose = {dose!r} must be > 0 electrons per square Angstrom (inf: no noise)")

    @property
    def sampling(self) -> tuple[float, float]:
        """Real-space sampling of object and window, Angstrom per pixel (x, y)."""
        lengths = self.extent
        n = self.fold * self.window
        return (lengths[0] / n, lengths[1] / n)

    @property
    def window_side(self) -> tuple[float, float]:
        """Side of the reconstruction window (the patterns' reciprocal sampling inverted), Angstrom (x, y)."""
        return (self.extent[0] / self.fold, self.extent[1] / self.fold)

    def widened(self, factor: int) -> BenchmarkSettings:
        """The same data on a window ``factor`` times the side: patterns sampled ``factor`` times more finely in
        reciprocal space (``fold / factor``), ``window`` and ``crop`` pixels ``factor`` times more, so the
        real-space sampling and the band limit stay. ``factor`` must divide ``fold``."""
        check_number("window factor", factor, 1, self.fold, integer=True)
        if self.fold % factor:
            raise ValueError(f"window factor = {factor!r} does not divide fold = {self.fold}")
        factor = int(factor)
        return replace(self, fold=self.fold // factor, window=self.window * factor, crop=self.crop * factor)

    @property
    def extent(self) -> tuple[float, float]:
        """Side of the periodic supercell, Angstrom (x, y)."""
        return (self.cells[0] * self.lattice, self.cells[1] * self.lattice * math.sqrt(3))


def settings_for(scale: str, *, window: int = 1) -> BenchmarkSettings:
    """The benchmark settings of ``"quick"`` (32 x 32) or ``"full"`` (64 x 64), on a reconstruction window
    ``window`` times the side of the default's (:meth:`BenchmarkSettings.widened`)."""
    if scale == "quick":
        base = BenchmarkSettings()
    elif scale == "full":
        base = BenchmarkSettings(scan_shape=(64, 64), cells=(10, 6), fold=5)
    else:
        raise ValueError(f"scale {scale!r} is not one of 'quick', 'full'")
    return base if window == 1 else base.widened(window)


def cache_name(scale: str, window: int = 1) -> str:
    """Folder of a scale's data under the cache: ``quick``, or ``quick_window2`` for a window twice the side."""
    return scale if window == 1 else f"{scale}_window{window}"


def nominal_grid(settings: BenchmarkSettings) -> np.ndarray:
    """Nominal positions (N, 2), Angstrom, line by line (fast axis x), centred on the supercell."""
    lines, points = settings.scan_shape
    centre = np.array(settings.extent) / 2
    x = (np.arange(points) - (points - 1) / 2) * settings.step
    y = (np.arange(lines) - (lines - 1) / 2) * settings.step
    gx, gy = np.meshgrid(x, y)
    return np.column_stack([gx.ravel(), gy.ravel()]) + centre


def true_positions(settings: BenchmarkSettings, errors: ScanErrors) -> np.ndarray:
    """Positions (N, 2), Angstrom, the scan really visited under ``errors`` (seeded by ``settings.seed``)."""
    rng = np.random.default_rng([settings.seed, 7])
    nominal = nominal_grid(settings)
    centre = nominal.mean(axis=0)
    lines, points = settings.scan_shape
    t = np.linspace(0.0, 1.0, lines * points)[:, None]
    matrix = compose_affine(errors.rotation_deg, (errors.scale, errors.scale))
    positions = centre + (nominal - centre) @ matrix.T + t * np.asarray(errors.drift)
    wander = np.column_stack([errors.wander[0] * np.sin(1.5 * np.pi * t[:, 0]), errors.wander[1] * t[:, 0] ** 2])
    jumps = rng.normal(0.0, errors.line_jump, lines) * (rng.random(lines) < errors.jump_fraction)
    u = np.linspace(-1.0, 1.0, points)
    relax = (jumps[:, None] * (1.0 - (u[None] + 1.0) / 4.0)).ravel()
    jitter = rng.normal(0.0, errors.jitter_pm / 100.0, (lines * points, 2))
    return positions + wander + np.column_stack([relax, np.zeros_like(relax)]) + jitter


def specimen(settings: BenchmarkSettings):
    """The periodic supercell of monolayer 1H-MoS2 (orthogonal, built with ase) with S vacancies."""
    import ase

    a = settings.lattice
    cell = np.diag([a, a * math.sqrt(3), 7.0])
    z = 3.5
    half = 3.172 / 2  # S-S distance across the layer, Angstrom
    basis = [("Mo", 0.0, 0.0, z), ("Mo", 0.5, 0.5, z)]
    for fx, fy in ((0.5, 1 / 6), (0.0, 2 / 3)):
        basis += [("S", fx, fy, z - half), ("S", fx, fy, z + half)]
    atoms = ase.Atoms([b[0] for b in basis], positions=[(b[1] * a, b[2] * a * math.sqrt(3), b[3]) for b in basis],
                      cell=cell, pbc=True)
    atoms = atoms * (settings.cells[0], settings.cells[1], 1)
    rng = np.random.default_rng([settings.seed, 11])
    sulphur = np.flatnonzero(np.array(atoms.get_chemical_symbols()) == "S")
    del atoms[sorted(rng.choice(sulphur, settings.vacancies, replace=False).tolist())]
    return atoms


def simulate_case(settings: BenchmarkSettings, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """abTEM multislice patterns (N, window, window), folded to the window, and the transmission function.

    Returns
    -------
    patterns : numpy.ndarray, float32
        Centred intensities (fraction of the beam per pixel).
    transmission : numpy.ndarray, complex64
        abTEM's band-limited transmission function of the projected potential (one slice),
        the oracle's reference object, on the supercell grid.
    """
    import abtem
    from abtem.antialias import AntialiasAperture

    atoms = specimen(settings)
    gpts = (settings.fold * settings.window,) * 2
    planes = np.unique(np.round(atoms.positions[:, 2], 3))
    edges = np.concatenate([[0.0], planes - 0.01, [atoms.cell[2, 2]]])
    with abtem.config.set({"diagnostics.progress_bar": False, "device": "cpu"}):
        potential = abtem.Potential(atoms, gpts=gpts, slice_thickness=tuple(np.diff(edges)), projection="infinite",
                                    parametrization="lobato")
        probe = abtem.Probe(energy=settings.energy_kev * 1e3, semiangle_cutoff=settings.semiangle_mrad,
                            defocus=settings.defocus)
        detector = abtem.PixelatedDetector(max_angle=None)
        full = probe.scan(potential, scan=abtem.CustomScan(np.asarray(positions)), detectors=detector)
        full = np.asarray(full.compute(scheduler="synchronous").array)
        projected = abtem.Potential(atoms, gpts=gpts, slice_thickness=atoms.cell[2, 2], projection="infinite",
                                    parametrization="lobato")
        transmission = AntialiasAperture().bandlimit(projected.build().transmission_function(settings.energy_kev * 1e3))
    return fold(full, settings), np.asarray(transmission.array)[0].astype(np.complex64)


def fold(full: np.ndarray, settings: BenchmarkSettings) -> np.ndarray:
    """Patterns of the whole supercell (N, fold * window, fold * window), centred, sampled at every ``fold``-th
    frequency: the patterns of the exit wave folded onto the window (float32, fraction of the beam per pixel)."""
    r, n = settings.fold, settings.window
    centre = np.shape(full)[1] // 2
    keep = centre + (np.arange(n) - n // 2) * r  # every r-th frequency, the zero frequency kept at n // 2
    patterns = np.asarray(full)[:, keep][:, :, keep] * r**2  # each kept pixel stands for r x r of the fine grid
    return patterns.astype(np.float32)


def add_noise(patterns: np.ndarray, dose: float, step: float, seed: int) -> np.ndarray:
    """Poisson counts for ``dose`` electrons per square Angstrom, returned as a fraction of the beam per pattern."""
    if math.isinf(dose):
        return np.asarray(patterns, dtype=np.float32)
    electrons = dose * step**2
    rng = np.random.default_rng([seed, int(dose)])
    return (rng.poisson(np.maximum(patterns, 0) * electrons) / electrons).astype(np.float32)


@dataclass(frozen=True)
class PtychoData:
    """One benchmark dataset: what a reconstruction reads, and the truth it is scored against.

    Attributes
    ----------
    patterns : numpy.ndarray, (N, n, n), float32
        Centred diffraction intensities.
    nominal, truth : numpy.ndarray, (N, 2)
        Nominal grid and true positions, Angstrom, line by line.
    scan_shape : (int, int)
    sampling : (float, float)
        Angstrom per pixel.
    probe : numpy.ndarray, (n, n), complex128
        Nominal probe (the reconstruction's start).
    transmission : numpy.ndarray, complex64
        The specimen's transmission function (one slice) on the supercell grid.
    case : str
    dose : float
        Electrons per square Angstrom.
    bandlimit : float
        Band limit of the (cropped) patterns, fraction of their grid's Nyquist frequency.
    energy_kev : float or None
        Beam energy, keV (what a multislice reconstruction propagates with; ``None``: not known).
    """

    patterns: np.ndarray
    nominal: np.ndarray
    truth: np.ndarray
    scan_shape: tuple[int, int]
    sampling: tuple[float, float]
    probe: np.ndarray
    transmission: np.ndarray
    case: str
    dose: float
    bandlimit: float = BANDLIMIT
    energy_kev: float | None = None


def manifest_record(settings: BenchmarkSettings) -> dict:
    """JSON-able record of every setting the data depend on (the cases' errors included)."""
    out = record(settings)
    out["doses"] = [str(d) for d in settings.doses]
    out["errors"] = {name: record(settings.errors[name]) for name in CASES}
    return out


def _npz(arrays: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def dose_name(dose: float) -> str:
    """File-name tag of a dose: ``inf`` or e.g. ``1e+05``."""
    return "inf" if math.isinf(dose) else f"{dose:.0e}"


def generate(scale: str = "quick", cache=CACHE, *, force: bool = False,
             settings: BenchmarkSettings | None = None, window: int = 1) -> dict:
    """Simulate every case and dose of ``scale`` (unless the manifest already matches) and return the manifest.

    ``window`` widens the reconstruction window (:func:`settings_for`); the data go to ``cache /
    cache_name(scale, window)``. ``settings`` replaces the scale's (tests use tiny ones), same folder.
    """
    settings = settings or settings_for(scale, window=window)
    folder = cache / cache_name(scale, window)
    wanted = manifest_record(settings)
    manifest_path = folder / "manifest.json"
    if manifest_path.exists() and not force:
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("settings") == wanted and all((folder / f).exists() for f in manifest["files"]):
            return manifest
    files = {}
    for case in CASES:
        truth = true_positions(settings, settings.errors[case])
        patterns, transmission = simulate_case(settings, truth)
        for dose in settings.doses:
            name = f"{case}_{dose_name(dose)}.npz"
            noisy = add_noise(patterns, dose, settings.step, settings.seed)
            arrays = {"patterns": noisy, "nominal": nominal_grid(settings), "truth": truth}
            if math.isinf(dose):
                arrays["transmission"] = transmission
            atomic_write(folder / name, lambda h, a=arrays: h.write(_npz(a)))
            files[name] = sha256(folder / name)
    manifest = {"settings": wanted, "files": files,
                "command": "python -m ctxlib.ptycho.data generate --scale " + scale
                + (f" --window {window}" if window != 1 else "")}
    atomic_write(manifest_path, lambda h: h.write(json.dumps(manifest, indent=1).encode()))
    return manifest


def folded_probe(settings: BenchmarkSettings) -> np.ndarray:
    """The probe on the whole supercell folded onto the window (its translates by the window's side summed),
    centred on the window: on the window's frequencies its pattern is the whole probe's, sampled."""
    n, w = settings.fold * settings.window, settings.window
    whole = probe_wave((n, n), settings.sampling, settings.energy_kev, settings.semiangle_mrad,
                       defocus=settings.defocus)
    return np.roll(whole, (w // 2 - n // 2,) * 2, (0, 1)).reshape(settings.fold, w, settings.fold, w).sum((0, 2))


def model_patterns(data: PtychoData, scale: str = "quick", *, fold_probe: bool = False,
                   window: int = 1) -> np.ndarray:
    """Patterns of our own single-slice model of the data's specimen (abTEM's one-slice transmission
    function) at the true positions, cropped as the data: the data an exact model would see.

    The probe is built on the window (``fold_probe=False``) or is the whole probe folded onto the
    window (:func:`folded_probe`); either way the exit wave is the window's probe times the object
    under the window, as the reconstruction models it. ``window``: as the data's (:func:`settings_for`).
    """
    bench = settings_for(scale, window=window)
    probe = folded_probe(bench) if fold_probe else probe_wave((bench.window,) * 2, bench.sampling, bench.energy_kev,
                                                              bench.semiangle_mrad, defocus=bench.defocus)
    full = intensities(data.transmission, probe, data.truth, bench.sampling)
    return crop_patterns(full, bench.sampling, bench.crop)[0].astype(np.float32)


def folded_model_patterns(data: PtychoData, scale: str = "quick", *, batch: int = 64,
                          window: int = 1) -> np.ndarray:
    """Patterns of our own single-slice model of the data's specimen at the true positions, but computed as the
    benchmark data are: the probe on the whole supercell (its tails beyond the window included), its exit wave's
    pattern sampled at every ``fold``-th frequency (:func:`fold`), cropped as the data.

    Beside :func:`model_patterns` (the exit wave confined to the window, as the reconstruction models it), this
    separates the two ways abTEM's patterns differ from the reconstruction's model: multislice propagation
    through the layer, and the probe's tails beyond the window folded into the pattern. ``window``: as the
    data's (:func:`settings_for`).
    """
    bench = settings_for(scale, window=window)
    n = bench.fold * bench.window
    probe = probe_wave((n, n), bench.sampling, bench.energy_kev, bench.semiangle_mrad, defocus=bench.defocus)
    patterns = np.concatenate([fold(intensities(data.transmission, probe, data.truth[i:i + batch], bench.sampling,
                                                batch=batch), bench)
                               for i in range(0, len(data.truth), batch)])
    return crop_patterns(patterns, bench.sampling, bench.crop)[0].astype(np.float32)


def load_case(case: str, dose: float = INFINITE, *, scale: str = "quick", seed: int = 0, cache=CACHE,
              window: int = 1) -> PtychoData:
    """Read one benchmark dataset (generating the scale's data first if missing), on a reconstruction window
    ``window`` times the default's side (:func:`settings_for`).

    Finite doses with ``seed != 0`` draw new Poisson noise from the clean patterns. The
    patterns are cropped to ``settings.crop`` pixels and the probe is built on that grid.
    """
    if case not in CASES:
        raise ValueError(f"case {case!r} is not one of {CASES}")
    settings = settings_for(scale, window=window)
    if dose not in settings.doses and not (seed and dose > 0):
        raise ValueError(f"dose {dose!r} is not one of {settings.doses}")
    generate(scale, cache, window=window)
    folder = cache / cache_name(scale, window)
    clean = np.load(folder / f"{case}_inf.npz")
    if seed and not math.isinf(dose):
        patterns = add_noise(clean["patterns"], dose, settings.step, seed)
    else:
        patterns = np.load(folder / f"{case}_{dose_name(dose)}.npz")["patterns"]
    patterns, sampling, bandlimit = crop_patterns(patterns, settings.sampling, settings.crop)
    probe = probe_wave((settings.crop,) * 2, sampling, settings.energy_kev, settings.semiangle_mrad,
                       defocus=settings.defocus)
    return PtychoData(patterns, nominal=clean["nominal"], truth=clean["truth"], scan_shape=settings.scan_shape,
                      sampling=sampling, probe=probe, transmission=clean["transmission"], case=case, dose=dose,
                      bandlimit=bandlimit, energy_kev=settings.energy_kev)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ctxlib.ptycho.data", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["generate"])
    parser.add_argument("--scale", choices=["quick", "full"], default="quick")
    parser.add_argument("--force", action="store_true", help="simulate again even if the manifest matches")
    parser.add_argument("--window", type=int, default=1,
                        help="reconstruction window this many times the default's side (finer reciprocal sampling)")
    args = parser.parse_args(argv)
    manifest = generate(args.scale, force=args.force, window=args.window)
    for name, digest in manifest["files"].items():
        print(f"{CACHE / cache_name(args.scale, args.window) / name}  {digest[:12]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
