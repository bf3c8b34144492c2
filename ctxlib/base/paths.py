"""Where the repository keeps things (one place, so notebooks and library agree)."""

from pathlib import Path

#: Repository root (the package is used from a clone: ``pip install -e .``).
ROOT = Path(__file__).resolve().parents[2]
#: Curated tables and shipped artifacts: the default of the ``data_root`` knob (:mod:`ctxlib.base.config`), under
#: which the library (``library/``), weights (``weights/``, ``weights-full/``) and stand-ins (``micrographs/``) lie.
DATA = ROOT / "data"
