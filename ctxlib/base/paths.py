"""Where the repository keeps things (one place, so notebooks and library agree)."""

from pathlib import Path

#: Repository root (the package is used from a clone: ``pip install -e .``).
ROOT = Path(__file__).resolve().parents[2]
#: Curated tables and shipped artifacts.
DATA = ROOT / "data"
#: The shipped clean simulated library (see ``data/library/README.md``).
LIBRARY = DATA / "library"
