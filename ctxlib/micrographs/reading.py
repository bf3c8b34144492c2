"""Reading a user's micrograph with its pixel size (``.dm3``, ``.dm4``, ``.emd``, ``.tif``, ``.npy``).

Microscope formats are read through RosettaSciIO (the HyperSpy readers), which returns
the data with calibrated axes; the pixel size is taken from the two spatial axes and
converted to Angstrom. A ``.npy`` file has no metadata: give the pixel size yourself.
An explicit ``pixel_size`` always wins over the file's calibration.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: RosettaSciIO plugin per file suffix (None: plain NumPy).
READERS: dict[str, str | None] = {".dm3": "digitalmicrograph", ".dm4": "digitalmicrograph", ".emd": "emd",
                                  ".tif": "tiff", ".tiff": "tiff", ".npy": None}
#: Angstrom per unit of a calibrated axis.
ANGSTROM_PER_UNIT: dict[str, float] = {"pm": 0.01, "Å": 1.0, "A": 1.0, "angstrom": 1.0, "nm": 10.0,
                                       "µm": 1e4, "um": 1e4}


@dataclass(frozen=True)
class Micrograph:
    """A 2-D image (float64, row = y) with its pixel size in Angstrom (None where unknown)."""

    image: np.ndarray
    pixel_size: float | None
    source: str


def _spatial_pixel_size(axes: list[dict], path: Path) -> float | None:
    """Mean pixel size (Angstrom) of the two image axes, or None when they carry no length unit."""
    scales = []
    for axis in axes:
        unit = str(axis.get("units") or "").strip()
        if unit not in ANGSTROM_PER_UNIT or "scale" not in axis:
            return None
        scales.append(float(axis["scale"]) * ANGSTROM_PER_UNIT[unit])
    if len(scales) != 2 or not all(s > 0 for s in scales):
        return None
    if abs(scales[0] / scales[1] - 1) > 0.01:
        raise ValueError(f"{path} has non-square pixels ({scales[0]:.4g} x {scales[1]:.4g} A); resample it first")
    return float(np.mean(scales))


def read_micrograph(path: str | Path, pixel_size: float | None = None) -> Micrograph:
    """Read a micrograph and its pixel size.

    Parameters
    ----------
    path : str or Path
        A ``.dm3``, ``.dm4``, ``.emd``, ``.tif``/``.tiff`` or ``.npy`` file holding a 2-D image
        (a file with several signals: the first 2-D one).
    pixel_size : float, optional
        Angstrom per pixel; overrides the file's calibration.

    Raises
    ------
    ValueError
        Unsupported suffix, no 2-D image, NaN or infinite pixels, or a non-positive pixel size.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise ValueError(f"cannot read {path.name}: suffix {suffix!r} is not one of {', '.join(READERS)}")
    if not path.exists():
        raise FileNotFoundError(path)
    if READERS[suffix] is None:
        image, calibrated = np.load(path, allow_pickle=False), None
    else:
        from importlib import import_module

        signals = import_module(f"rsciio.{READERS[suffix]}").file_reader(str(path))
        images = [s for s in signals if np.ndim(s["data"]) == 2]
        if not images:
            shapes = [np.shape(s["data"]) for s in signals]
            raise ValueError(f"{path} holds no 2-D image (signals of shape {shapes})")
        image, calibrated = images[0]["data"], _spatial_pixel_size(images[0]["axes"], path)
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"{path} holds an array of shape {image.shape}, not a 2-D image")
    bad = int(np.count_nonzero(~np.isfinite(image)))
    if bad:
        raise ValueError(f"{path} has {bad} NaN or infinite pixels; crop or inpaint them first")
    size = calibrated if pixel_size is None else float(pixel_size)
    if size is not None and not size > 0:
        raise ValueError(f"pixel size must be positive (Angstrom), got {size}")
    return Micrograph(image, size, str(path))
