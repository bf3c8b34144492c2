"""Write the notebooks that the book's Binder launch buttons open: ``python -m ctxlib.book.binder`` (run by ``postBuild``).

A page's launch button opens ``book/notebooks/NN_name.ipynb``, the executed copy that
the repository does not hold. This writes it from the jupytext source
``notebooks/NN_name.md``, unexecuted, with a first cell that moves to the repository
root: the notebooks' paths (``_build/data/...``, ``benchmarks/results/...``) start there,
as they do when ``python -m ctxlib.book.reproduce`` runs them.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ctxlib.base.paths import ROOT

import jupytext
import nbformat

CHDIR = (
    "# Binder: run from the repository root, where this notebook's paths start\n"
    "import os\n\n"
    "from ctxlib.base.paths import ROOT\n\n"
    "os.chdir(ROOT)"
)


def write_notebooks(sources: Path, output: Path) -> list[Path]:
    """Convert every ``NN_name.md`` under ``sources`` to ``output/NN_name.ipynb``; return the written paths."""
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted(sources.glob("[0-9][0-9]_*.md")):
        notebook = jupytext.read(source)
        notebook.cells.insert(0, nbformat.v4.new_code_cell(CHDIR, metadata={"tags": ["binder"]}))
        path = output / f"{source.stem}.ipynb"
        nbformat.write(notebook, path)
        written.append(path)
    return written


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT
    for path in write_notebooks(root / "notebooks", root / "book" / "notebooks"):
        print(path)
