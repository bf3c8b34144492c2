"""Foundation every stage shares (stage 0).

In: nothing from the rest of ctxlib. Out: the environment knobs - device, workers, progress bars,
data root - as ``from ctxlib.base import config; config.set(...)`` (``config``), where the
repository keeps things (``paths``),
the local dask cluster of the parallel stages (``cluster``), the electron wavelength (``electrons``),
writes that are complete or absent and SHA-256 digests (``files``), the one check every
image passes (``images``), the one intensity normalisation used for simulated and
experimental images alike (``intensity``), settings validation (``settings``) and the
lazy public names of every stage (``lazy``).
"""

from ctxlib.base.lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "cluster": ["local_cluster"],
        "electrons": ["electron_wavelength"],
        "files": ["atomic_write", "sha256"],
        "images": ["check_image"],
        "intensity": ["IntensityNormaliser"],
        "paths": ["ROOT", "DATA"],
        "settings": ["Range", "check_number", "record", "rows"],
    },
)
