"""Every notebook executes at the default scale, and the book builds with no warnings."""

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from ctxlib.book.reproduce import ROOT, notebook_sources, run_all

SOURCES = notebook_sources()


@pytest.fixture(scope="session")
def book_copy(tmp_path_factory):
    """A copy of the book's sources with freshly executed notebooks."""
    root = tmp_path_factory.mktemp("book")
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, root / name)
    shutil.copytree(ROOT / "book", root / "book", ignore=shutil.ignore_patterns("notebooks"))
    extra = {"features_path": str(root / "data" / "features.csv"), "features_dir": str(root / "data" / "features"),
             "weights_dir": str(root / "data" / "weights")}
    run_all(scale="quick", seed=0, output_dir=root / "book" / "notebooks", extra=extra)
    return root


@pytest.mark.parametrize("source", SOURCES, ids=[s.stem for s in SOURCES])
def test_notebook_executes_without_errors(book_copy, source):
    notebook = nbformat.read(book_copy / "book" / "notebooks" / f"{source.stem}.ipynb", as_version=4)
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    assert any(o.output_type == "display_data" and "image/png" in o.data for c in notebook.cells for o in c.get("outputs", []))


def test_each_notebook_has_one_parameters_cell():
    import jupytext

    for source in SOURCES:
        cells = jupytext.read(source).cells
        tagged = [c for c in cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, source.name
        assert "scale" in tagged[0].source and "seed" in tagged[0].source


def test_book_builds_without_warnings(book_copy):
    result = subprocess.run(
        [str(Path(sys.executable).parent / "jupyter-book"), "build", "--warningiserror", "--nitpick", str(book_copy)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (book_copy / "_build" / "html" / "book" / "notebooks" / "01_encoding.html").exists()


def test_toc_lists_every_notebook():
    toc = (ROOT / "_toc.yml").read_text()
    for source in SOURCES:
        assert f"book/notebooks/{source.stem}" in toc
