"""The clean simulated library: every motif of every doped host at every energy (paper §4).

Layout (format 1), one file per doped host, ``data/library/<host>-<dopant>.npz``:

``images``  float16, (3 energies, 34 motifs, 2 detectors, n, n): each image divided by its maximum
``scale``   float32, (3, 34, 2): that maximum, a fraction of the incident beam
``levels``  float32, (3, 34, 2, 2): background and mean of the whole periodic scan
``pixel_size`` float64, (2,): (y, x) Angstrom per pixel

``manifest.json`` records the format, the simulation settings, abTEM's version, and the
SHA-256 and size of every file, with the summed wall time of its scans. A file is complete or absent: scans land one by one in
a staging folder (``_build/library-parts``), each written atomically, and a doped host's
file is packed (again atomically) once its 102 scans exist. An interrupted run loses at
most the scans in flight.

Regenerate with ``python -m ctxlib.simulation.library generate`` (``--help`` for a cluster
scheduler address, GPU, a subset, or a time limit); ``python -m ctxlib.simulation.library status``
lists what is missing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ctxlib.base.cluster import local_cluster
from ctxlib.base.files import atomic_write, sha256
from ctxlib.base.intensity import IntensityNormaliser
from ctxlib.base import config
from ctxlib.base.paths import ROOT
from ctxlib.materials.catalog import (DETECTORS, ENERGIES_KEV, check_choice, check_detector, check_dopant, check_energy,
                                     doped_hosts, pair_name, parse_pair_name, trained_pairs)
from ctxlib.materials.motifs import MOTIF_NAMES, Motif, resolve_motif
from ctxlib.simulation.scans import MotifSimulation, simulate_motif

FORMAT = 1
PARTS = ROOT / "_build" / "library-parts"
REGENERATE = "python -m ctxlib.simulation.library generate"


class LibraryError(RuntimeError):
    """A library file is missing, truncated or does not match the manifest."""


def library_root(root: str | Path | None = None) -> Path:
    """``root``, or where none is given the ``library`` folder under the ``data_root`` knob
    (:mod:`ctxlib.base.config`; default ``data/library``)."""
    return config.data_folder("library", root)


def library_file(host: str, dopant: str, *, root: Path | None = None) -> Path:
    """Path of a doped host's library file."""
    return library_root(root) / f"{pair_name(host, dopant)}.npz"


def read_manifest(root: Path | None = None) -> dict:
    """The library manifest, or an empty one where none exists yet."""
    path = library_root(root) / "manifest.json"
    if not path.exists():
        return {"format": FORMAT, "files": {}}
    return json.loads(path.read_text())


def _write_manifest(manifest: dict, root: Path) -> None:
    text = json.dumps(manifest, indent=1, sort_keys=True).encode()
    atomic_write(Path(root) / "manifest.json", lambda handle: handle.write(text))


@dataclass(frozen=True)
class LibraryEntry:
    """The clean images of one doped host, as read by :func:`load_library`.

    Attributes
    ----------
    host, dopant : str
    images : numpy.ndarray, float32, (3, 34, 2, n, n)
        Fraction of the incident beam; axes energy (:data:`ENERGIES_KEV`), motif
        (:data:`ctxlib.materials.motifs.MOTIFS`), detector (:data:`DETECTORS`), y, x.
    levels : numpy.ndarray, (3, 34, 2, 2)
        Background and mean of each whole periodic scan.
    pixel_size : (float, float)
        (y, x) Angstrom per pixel.
    """

    host: str
    dopant: str
    images: np.ndarray
    levels: np.ndarray
    pixel_size: tuple[float, float]

    def image(self, energy_kev: int, motif, detector: str) -> np.ndarray:
        """One clean image (fraction of the beam), motif centre at pixel ``n // 2``."""
        e = ENERGIES_KEV.index(check_energy(energy_kev))
        d = tuple(DETECTORS).index(check_detector(detector))
        return self.images[e, MOTIF_NAMES.index(resolve_motif(motif).name), d]


def load_library(host: str, dopant: str, *, root: Path | None = None) -> LibraryEntry:
    """Read and verify one doped host's clean images.

    Raises
    ------
    ValueError
        Unknown host or dopant.
    LibraryError
        The file is missing, its checksum or size differs from the manifest, or its
        arrays have the wrong shape; the message names the file and the command that
        regenerates it.
    """
    check_dopant(host, dopant)
    path = library_file(host, dopant, root=root)
    fix = f"regenerate it with `{REGENERATE} --pairs {pair_name(host, dopant)}`"
    record = read_manifest(root)["files"].get(path.name)
    if not path.exists() or record is None:
        raise LibraryError(f"library file {path} is missing (not generated yet); {fix}")
    if path.stat().st_size != record["bytes"] or sha256(path) != record["sha256"]:
        raise LibraryError(f"library file {path} does not match its manifest entry (truncated or changed); {fix}")
    with np.load(path) as data:
        images, scale, levels, pixel = data["images"], data["scale"], data["levels"], data["pixel_size"]
    expected = (len(ENERGIES_KEV), len(MOTIF_NAMES), len(DETECTORS))
    if images.shape[:3] != expected or scale.shape != expected:
        raise LibraryError(f"library file {path} has images of shape {images.shape}, expected {expected} + (n, n); {fix}")
    images = images.astype(np.float32) * scale[..., None, None]
    return LibraryEntry(host, dopant, images, levels.astype(np.float64), tuple(float(p) for p in pixel))


def verify_library(n_scans: int, seed: int = 0, *, root: Path | None = None, device: str | None = None) -> pd.DataFrame:
    """Re-simulate ``n_scans`` random scans of the shipped library and compare.

    Parameters
    ----------
    n_scans : int
        Scans drawn at random (doped host, energy, motif) with ``seed``.
    seed : int
    root : Path, optional
        The library folder (default: :func:`library_root`).
    device : str, optional
        ``"cpu"`` or ``"cuda"`` (abTEM on the GPU needs CuPy): the same scans on either device; default: the
        ``device`` knob of :mod:`ctxlib.base.config`.

    Returns
    -------
    pandas.DataFrame
        One row per scan and detector with ``relative_difference`` = max |new - stored| /
        max(stored) (the float16 storage alone contributes up to 2.4e-4) and ``seconds``,
        the wall time of that scan (both detectors; the first scan includes abTEM's
        warm-up: FFT plans, compiled kernels).
    """
    root, device = library_root(root), config.resolve("device", device)
    present, _ = library_status(root)
    if not present:
        raise LibraryError(f"the library in {root} is empty; generate it with `{REGENERATE}`")
    settings = settings_from_record(read_manifest(root)["settings"])
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n_scans):
        host, dopant = parse_pair_name(present[rng.integers(len(present))])
        energy, motif = ENERGIES_KEV[rng.integers(len(ENERGIES_KEV))], int(rng.integers(len(MOTIF_NAMES)))
        stored = load_library(host, dopant, root=root)
        start = time.perf_counter()
        fresh = simulate_motif(host, dopant, motif, energy, settings=settings, device=device).images
        seconds = time.perf_counter() - start
        for d, detector in enumerate(DETECTORS):
            old = stored.image(energy, motif, detector)
            rows.append({"host": host, "dopant": dopant, "energy_kev": energy, "motif": MOTIF_NAMES[motif],
                         "detector": detector, "relative_difference": float(np.abs(fresh[d] - old).max() / old.max()),
                         "seconds": seconds})
    return pd.DataFrame(rows)


def library_status(root: Path | None = None) -> tuple[list[str], list[str]]:
    """(present, missing) doped hosts, as ``"host-dopant"``, judged by the manifest."""
    files = read_manifest(root)["files"]
    names = [pair_name(h, d) for h, d in doped_hosts()]
    return [n for n in names if f"{n}.npz" in files], [n for n in names if f"{n}.npz" not in files]


def first_present(host: str, root: Path | None = None) -> LibraryEntry | None:
    """The library entry of the first doped ``host`` present in the library (catalog order), or None."""
    name = library_source(pair_name(host, None), read_manifest(root)["files"])
    return None if name is None else load_library(*parse_pair_name(name), root=root)


def library_bytes(manifest: dict) -> int:
    """Size of the library on disk, bytes: the sum over the files the manifest lists (:func:`read_manifest`)."""
    return sum(record["bytes"] for record in manifest["files"].values())


def motif_indices(motifs: Sequence[Motif | str | int]) -> list[int]:
    """Positions on the library's motif axis (:data:`~ctxlib.materials.motifs.MOTIFS` order) of motifs given by
    name, index or :class:`~ctxlib.materials.motifs.Motif`, in the order given.

    Raises
    ------
    ValueError
        An unknown motif, naming the allowed ones.
    """
    return [MOTIF_NAMES.index(resolve_motif(motif).name) for motif in motifs]


def clean_views(entries: dict[str, LibraryEntry], *, energy_kev: int, motif: Motif | str | int,
                detectors: Sequence[str] = ("HAADF",), normalise: bool = False,
                label: str = "{name} {detector} {energy_kev} keV",
                ) -> tuple[dict[str, np.ndarray], dict[str, tuple[float, float]]]:
    """One motif's clean image from several library entries and detectors, labelled for a figure.

    Parameters
    ----------
    entries : dict
        Name (used in the labels, e.g. the host) -> :class:`LibraryEntry`.
    energy_kev : {60, 80, 100}
        Beam energy, keV.
    motif : Motif, str or int
        The motif shown (name, index or :class:`~ctxlib.materials.motifs.Motif`).
    detectors : sequence of str
        Catalog detectors; for each entry, one image per detector.
    normalise : bool
        Each image mapped by its own :class:`~ctxlib.base.intensity.IntensityNormaliser` (background 0,
        mean 1) instead of the fraction of the incident beam.
    label : str
        Format of each image's name, with fields ``name``, ``detector`` and ``energy_kev``.

    Returns
    -------
    images : dict
        Label -> image (entries in the order given, detectors within each).
    pixel_size : dict
        Label -> (y, x) Angstrom per pixel of the image's entry.
    """
    images, pixel_size = {}, {}
    for name, entry in entries.items():
        for detector in detectors:
            key = label.format(name=name, detector=detector, energy_kev=energy_kev)
            image = entry.image(energy_kev, motif, detector)
            images[key] = IntensityNormaliser().fit_transform(image) if normalise else image
            pixel_size[key] = entry.pixel_size
    return images, pixel_size


def library_source(name: str, files: dict) -> str | None:
    """The library file (a doped host's name) whose images make a trained pair's features, or None if absent.

    A doped host's own file; for an undoped host (``"WSe2-none"``) the first doped host of
    the same host in catalog order, since the 14 motifs without a dopant are the same
    images in every doped host's file (:data:`ctxlib.materials.motifs.UNDOPED_MOTIFS`).

    Parameters
    ----------
    name : str
        A pair name (:func:`ctxlib.materials.catalog.pair_name`).
    files : dict
        The library manifest's ``files`` (:func:`read_manifest`).
    """
    host, dopant = parse_pair_name(name)
    candidates = [pair_name(host, dopant)] if dopant is not None else [pair_name(h, d) for h, d in doped_hosts()
                                                                      if h == host]
    return next((n for n in candidates if f"{n}.npz" in files), None)


def trained_status(root: Path | None = None) -> tuple[list[str], list[str]]:
    """(present, missing) trained pairs (:func:`ctxlib.materials.catalog.trained_pairs`), as pair names: a pair is
    present when its :func:`library_source` is."""
    files = read_manifest(root)["files"]
    names = [pair_name(h, d) for h, d in trained_pairs()]
    return ([n for n in names if library_source(n, files) is not None],
            [n for n in names if library_source(n, files) is None])


def _part_path(parts: Path, host: str, dopant: str, energy: int, motif: int) -> Path:
    return Path(parts) / pair_name(host, dopant) / f"{energy}_{motif:02d}.npz"


def _simulate_part(host, dopant, energy, motif, settings, device):
    started = time.perf_counter()
    result = simulate_motif(host, dopant, motif, energy, settings=settings, device=device)
    return result, time.perf_counter() - started


def _pack(host: str, dopant: str, parts: Path, root: Path, settings: MotifSimulation) -> None:
    shape = (len(ENERGIES_KEV), len(MOTIF_NAMES), len(DETECTORS))
    images, scale, levels, seconds, pixel = None, np.zeros(shape, np.float32), np.zeros(shape + (2,), np.float32), 0.0, None
    for e, energy in enumerate(ENERGIES_KEV):
        for m in range(len(MOTIF_NAMES)):
            with np.load(_part_path(parts, host, dopant, energy, m)) as part:
                if images is None:
                    images = np.zeros(shape + part["images"].shape[1:], np.float16)
                    pixel = part["pixel_size"]
                peak = part["images"].max(axis=(1, 2))
                images[e, m] = part["images"] / peak[:, None, None]
                scale[e, m], levels[e, m] = peak, part["levels"]
                seconds += float(part["seconds"])
    path = library_file(host, dopant, root=root)
    atomic_write(path, lambda h: np.savez_compressed(h, images=images, scale=scale, levels=levels, pixel_size=pixel))
    manifest = read_manifest(root)
    manifest.update(format=FORMAT, settings=settings_record(settings), abtem=_abtem_version(), energies_kev=list(ENERGIES_KEV),
                    detectors=list(DETECTORS), motifs=list(MOTIF_NAMES))
    manifest["files"][path.name] = {"sha256": sha256(path), "bytes": path.stat().st_size, "scan_seconds": round(seconds, 1)}
    _write_manifest(manifest, root)
    shutil.rmtree(Path(parts) / pair_name(host, dopant))


def settings_record(settings: MotifSimulation) -> dict:
    """Settings as the manifest stores them (JSON types: tuples become lists)."""
    return json.loads(json.dumps(asdict(settings)))


def settings_from_record(record: dict) -> MotifSimulation:
    """Inverse of :func:`settings_record`."""
    return MotifSimulation(**{k: tuple(v) if isinstance(v, list) else v for k, v in record.items()})


def _abtem_version() -> str:
    import abtem

    return abtem.__version__


def generate_library(
    pairs: list[tuple[str, str]] | None = None,
    settings: MotifSimulation = MotifSimulation(),
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    processes: bool = True,
    device: str | None = None,
    root: Path | None = None,
    parts: Path = PARTS,
    time_limit_s: float | None = None,
    progress: bool | None = None,
) -> list[str]:
    """Simulate the missing scans and pack every doped host whose scans are all done.

    Parameters
    ----------
    pairs : list of (host, dopant), optional
        Doped hosts to generate; all 96 by default, in :func:`generation_order`.
    settings : MotifSimulation
        Must equal the manifest's settings when the library already has files.
    scheduler : str, optional
        Address of a running ``dask.distributed`` scheduler (a cluster); by default a
        local cluster of ``workers`` single-threaded processes.
    workers : int, optional
        Workers of the local cluster (one scan each at a time); default: the ``workers`` knob.
    processes : bool
        Local workers as processes (faster: no shared interpreter lock) or as threads
        of this process.
    device : str, optional
        ``"cpu"`` or ``"cuda"``; default: the ``device`` knob.
    root, parts : Path
        Library folder (default: :func:`library_root`) and staging folder.
    time_limit_s : float, optional
        Stop submitting new scans after this many seconds (finished scans are kept).
    progress : bool, optional
        Show a tqdm bar; default: the ``progress`` knob.

    Returns
    -------
    list of str
        The doped hosts packed by this call.
    """
    from dask.distributed import Client, as_completed
    from tqdm.auto import tqdm

    root = library_root(root)
    workers, device, progress = (config.resolve(knob, value) for knob, value in
                                 (("workers", workers), ("device", device), ("progress", progress)))
    manifest = read_manifest(root)
    if manifest["files"] and manifest.get("settings") != settings_record(settings):
        raise ValueError(
            f"settings {asdict(settings)} differ from the library's {manifest.get('settings')}; "
            f"use another root or delete {root} to start over"
        )
    pairs = generation_order() if pairs is None else [(h, check_dopant(h, d)) for h, d in pairs]
    pairs = [(h, d) for h, d in pairs if library_file(h, d, root=root).name not in manifest["files"]]
    todo = [
        (h, d, e, m)
        for h, d in pairs for e in ENERGIES_KEV for m in range(len(MOTIF_NAMES))
        if not _part_path(parts, h, d, e, m).exists()
    ]
    remaining = {(h, d): 0 for h, d in pairs}
    for h, d, _, _ in todo:
        remaining[(h, d)] += 1
    packed = [pair_name(h, d) for (h, d), n in remaining.items() if n == 0]
    for name in packed:
        _pack(*parse_pair_name(name), parts, root, settings)
    started = time.perf_counter()
    cluster = None if scheduler else local_cluster(workers, processes)
    try:
        with Client(scheduler or cluster) as client:
            pending, jobs, futures = iter(todo), {}, as_completed()

            def submit():
                out_of_time = time_limit_s is not None and time.perf_counter() - started > time_limit_s
                job = None if out_of_time else next(pending, None)
                if job is not None:
                    future = client.submit(_simulate_part, *job, settings, device, pure=False)
                    jobs[future.key] = job
                    futures.add(future)

            for _ in range(2 * sum(client.nthreads().values())):  # keep every worker thread busy
                submit()
            with tqdm(total=len(todo), desc="library scans", disable=not progress) as bar:
                for future in futures:
                    h, d, e, m = jobs.pop(future.key)
                    result, seconds = future.result()
                    atomic_write(
                        _part_path(parts, h, d, e, m),
                        lambda handle: np.savez(handle, images=result.images, levels=result.levels,
                                                pixel_size=np.array(result.pixel_size), seconds=seconds),
                    )
                    bar.update()
                    remaining[(h, d)] -= 1
                    if remaining[(h, d)] == 0:
                        _pack(h, d, parts, root, settings)
                        packed.append(pair_name(h, d))
                    submit()
    finally:
        if cluster is not None:
            cluster.close()
    return packed


def generation_order() -> list[tuple[str, str]]:
    """The 96 doped hosts in the order the generator takes them.

    The experimental validation's pairs (WSe2 with Ti, V, Mn, Co) come first, then one
    dopant per host in turn, so that a partial library already spans every host.
    """
    first = [("WSe2", d) for d in ("Ti", "V", "Mn", "Co")]
    by_host: dict[str, list[tuple[str, str]]] = {}
    for pair in doped_hosts():
        if pair not in first:
            by_host.setdefault(pair[0], []).append(pair)
    rounds = max(len(v) for v in by_host.values())
    return first + [v[k] for k in range(rounds) for v in by_host.values() if k < len(v)]


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m ctxlib.simulation.library {generate,status}``."""
    parser = argparse.ArgumentParser(prog="python -m ctxlib.simulation.library", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="simulate what is missing (resumable)")
    gen.add_argument("--pairs", nargs="*", metavar="HOST-DOPANT", help="e.g. WSe2-Ti; default: all 96")
    gen.add_argument("--scheduler", help="dask.distributed scheduler address, e.g. tcp://10.0.0.1:8786")
    gen.add_argument("--workers", type=int, help="processes of the local cluster (default: the workers knob, 2)")
    gen.add_argument("--device", help="cpu or cuda (default: the device knob, cpu)")
    gen.add_argument("--minutes", type=float, help="stop submitting scans after this many minutes")
    gen.add_argument("--root", type=Path, help="library folder (another one for other settings; default data/library)")
    gen.add_argument("--method", choices=("prism", "multislice"), default=MotifSimulation.method)
    gen.add_argument("--sampling-factor", type=float, default=MotifSimulation.sampling_factor,
                     help="potential sampling relative to the 280 mrad limit (< 1 is finer; default 1)")
    gen.add_argument("--repeat", type=int, nargs=2, default=MotifSimulation.repeat, metavar=("NX", "NY"),
                     help="orthogonal host cells of the supercell (default 3 2)")
    sub.add_parser("status", help="list the doped hosts present and missing")
    args = parser.parse_args(argv)
    if args.command == "status":
        present, missing = library_status()
        print(f"{len(present)} of {len(present) + len(missing)} doped hosts present")
        print("missing:", " ".join(missing) or "none")
        return 0
    pairs = None if not args.pairs else [parse_pair_name(p) for p in args.pairs]
    settings = MotifSimulation(method=args.method, sampling_factor=args.sampling_factor, repeat=tuple(args.repeat))
    packed = generate_library(
        pairs, settings=settings, scheduler=args.scheduler, workers=args.workers, device=args.device, root=args.root,
        time_limit_s=None if args.minutes is None else 60 * args.minutes,
    )
    print(f"packed {len(packed)} doped hosts: {' '.join(packed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
