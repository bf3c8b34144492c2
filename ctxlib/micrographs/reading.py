"""Reading a user's micrograph with its pixel size (``.dm3``, ``.dm4``, ``.emd``, ``.tif``, ``.png``, ``.npy``, ``.npz``).

Microscope formats are read through RosettaSciIO (the HyperSpy readers), which returns
the data with calibrated axes; the pixel size is taken from the x (column) axis and
converted to Angstrom (a non-square pixel is measured from the lattice and corrected
later, :func:`ctxlib.encoding.features.encode_image`). A ``.npy`` or ``.png`` file has no
metadata (a colour PNG is read as its luminance). A
``.npz`` file is read by key: ``channel`` names the array (``KEY`` or ``KEY:INDEX`` for one
image of a stack); without it, the file's only 2-D array, or for the test micrographs of
:mod:`ctxlib.simulation.standins` the ``degraded`` image of the stated detector, with the
file's ``pixel_size`` (y, x). An explicit ``pixel_size`` always wins over the file's
calibration; an image with none gets it from the host's lattice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: RosettaSciIO plugin per file suffix (None: plain NumPy).
READERS: dict[str, str | None] = {".dm3": "digitalmicrograph", ".dm4": "digitalmicrograph", ".emd": "emd",
                                  ".tif": "tiff", ".tiff": "tiff", ".npy": None, ".npz": None,
                                  ".png": None}
#: Image order of the ``degraded`` stack in a test-micrograph ``.npz`` (that of ``ctxlib.materials.catalog.DETECTORS``).
STANDIN_CHANNELS = ("HAADF", "MAADF")
#: Angstrom per unit of a calibrated axis.
ANGSTROM_PER_UNIT: dict[str, float] = {"pm": 0.01, "Å": 1.0, "A": 1.0, "angstrom": 1.0, "nm": 10.0,
                                       "µm": 1e4, "um": 1e4}


@dataclass(frozen=True)
class Micrograph:
    """A 2-D image (float64, row = y) with its pixel size in Angstrom (None where unknown)."""

    image: np.ndarray
    pixel_size: float | None
    source: str


def _spatial_pixel_size(axes: list[dict]) -> float | None:
    """Pixel size (Angstrom) of the x (last) image axis, or None when the axes carry no length unit."""
    scales = []
    for axis in axes:
        unit = str(axis.get("units") or "").strip()
        if unit not in ANGSTROM_PER_UNIT or "scale" not in axis:
            return None
        scales.append(float(axis["scale"]) * ANGSTROM_PER_UNIT[unit])
    if len(scales) != 2 or not all(s > 0 for s in scales):
        return None
    return float(scales[-1])


class ImageFileError(ValueError):
    """A readable file that does not hold what the reader needs (no 2-D image, an unknown channel)."""


def _read_npz(path: Path, channel: str | None, detector: str | None) -> tuple[np.ndarray, float | None]:
    """One image (and the pixel size along x, if stored) from a ``.npz`` file."""
    with np.load(path, allow_pickle=False) as data:
        keys = list(data.keys())
        size = float(np.ravel(data["pixel_size"])[-1]) if "pixel_size" in keys else None
        if channel is None and "degraded" in keys and detector in STANDIN_CHANNELS:
            return data["degraded"][STANDIN_CHANNELS.index(detector)], size
        if channel is None:
            flat = [k for k in keys if np.ndim(data[k]) == 2]
            if len(flat) != 1:
                raise ImageFileError(f"{path} holds {len(flat)} 2-D arrays ({', '.join(flat) or 'none'}; all keys: "
                                 f"{', '.join(keys)}); name one with --channel KEY (or KEY:INDEX for a stack)")
            return data[flat[0]], size
        key, _, index = channel.partition(":")
        if key not in keys:
            raise ImageFileError(f"{path} has no array {key!r}; its keys are {', '.join(keys)}")
        array = data[key]
        if index:
            if not index.isdigit() or int(index) >= len(array):
                raise ImageFileError(f"channel index {index!r} is not one of 0-{len(array) - 1} for {key!r} of shape "
                                 f"{array.shape}")
            array = array[int(index)]
        return array, size


def _read_file(path: Path, suffix: str, channel: str | None, detector: str | None):
    """The image array and the file's pixel size (Angstrom, or None) by the suffix's reader."""
    if suffix == ".npz":
        return _read_npz(path, channel, detector)
    if suffix == ".png":
        from PIL import Image  # Matplotlib's own dependency

        return np.asarray(Image.open(path).convert("F")), None
    if READERS[suffix] is None:
        return np.load(path, allow_pickle=False), None
    from importlib import import_module

    signals = import_module(f"rsciio.{READERS[suffix]}").file_reader(str(path))
    images = [s for s in signals if np.ndim(s["data"]) == 2]
    if not images:
        shapes = [np.shape(s["data"]) for s in signals]
        raise ImageFileError(f"{path} holds no 2-D image (signals of shape {shapes})")
    return images[0]["data"], _spatial_pixel_size(images[0]["axes"])


def read_micrograph(path: str | Path, pixel_size: float | None = None, *, channel: str | None = None,
                    detector: str | None = None) -> Micrograph:
    """Read a micrograph and its pixel size.

    Parameters
    ----------
    path : str or Path
        A ``.dm3``, ``.dm4``, ``.emd``, ``.tif``/``.tiff``, ``.npy`` or ``.npz`` file holding a 2-D
        image (a file with several signals: the first 2-D one).
    pixel_size : float, optional
        Angstrom per pixel; overrides the file's calibration.
    channel : str, optional
        For ``.npz``: the array's key, or ``KEY:INDEX`` for one image of a stack.
    detector : str, optional
        For a test-micrograph ``.npz`` without ``channel``: which detector's image.

    Raises
    ------
    ValueError
        Unsupported suffix, an empty, truncated or corrupt file, no 2-D image, NaN or infinite
        pixels, or a non-positive pixel size.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise ValueError(f"cannot read {path.name}: suffix {suffix!r} is not one of {', '.join(READERS)}")
    if not path.is_file():
        raise FileNotFoundError(f"file not found: {path}")
    if path.stat().st_size == 0:
        raise ValueError(f"{path} is empty (0 bytes)")
    try:
        image, calibrated = _read_file(path, suffix, channel, detector)
        image = np.asarray(image, dtype=np.float64)
    except ImageFileError:
        raise
    except Exception as error:  # a truncated or corrupt file: the reader's own error, named in one line
        raise ValueError(f"cannot read {path}: it is truncated or not a valid {suffix} file "
                         f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else 'no detail'})") \
            from error
    if image.ndim != 2:
        raise ValueError(f"{path} holds an array of shape {image.shape}, not a 2-D image")
    bad = int(np.count_nonzero(~np.isfinite(image)))
    if bad:
        raise ValueError(f"{path} has {bad} NaN or infinite pixels; crop or inpaint them first")
    size = calibrated if pixel_size is None else float(pixel_size)
    if size is not None and not size > 0:
        raise ValueError(f"pixel size must be positive (Angstrom), got {size}")
    return Micrograph(image, size, str(path))
