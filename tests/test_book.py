"""Every notebook executes at the default scale, and the book builds with no warnings."""

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from ctxlib.book.reproduce import ROOT, notebook_sources, run_all

SOURCES = notebook_sources()


# What a working tree holds beside the book once `make test` has run in it (`make book` after `make test` once
# read .pytest_cache/README.md): test caches and checkpoints with Markdown and notebooks of their own, and a page
# that no table of contents lists. The book is built among them, as `make book` builds it.
LEFTOVERS = {
    ".pytest_cache/README.md": "# pytest cache directory #\n",
    ".pytest_cache/v/cache/lastfailed": "{}\n",
    ".hypothesis/examples/README.md": "# hypothesis examples\n",
    ".benchmarks/README.md": "# benchmarks\n",
    ".ipynb_checkpoints/stray-checkpoint.md": "# a checkpoint\n",
    "book/notebooks/.ipynb_checkpoints/01_encoding-checkpoint.ipynb": '{"cells": [], "metadata": {}, "nbformat": 4, '
                                                                       '"nbformat_minor": 5}\n',
    "_build/.doctrees-stray/README.md": "# build leftovers\n",
    "stray.md": "# A page in no table of contents\n",
}
#: The working tree's own files and folders beside the book (the jupytext sources, the README, the tests, ...).
TREE = ("README.md", "notebooks", "tests", "benchmarks", "Makefile", "pyproject.toml", "environment.yml", "postBuild")


def _working_tree_layout(root):
    for name in TREE:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy(source, root / name)
    for readme in (ROOT / "data").rglob("*.md"):  # data/ itself is large; its Markdown is what a build could read
        (root / readme.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(readme, root / readme.relative_to(ROOT))
    if (ROOT / ".venv").is_dir():
        (root / ".venv").symlink_to(ROOT / ".venv", target_is_directory=True)
    for name, text in LEFTOVERS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


@pytest.fixture(scope="session")
def book_copy(tmp_path_factory):
    """A copy of the book's sources with executed notebooks, laid out like a working tree after `make test`.

    The notebooks are executed as `make book` executes them, into the working tree's ``book/notebooks`` (with
    their stamps), so that `make book` afterwards reuses them instead of executing them again; a copy whose
    stamp matches the current sources, inputs and parameters is itself reused (:func:`run_all`).
    """
    runs = run_all(scale="quick", seed=0)
    root = tmp_path_factory.mktemp("book")
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, root / name)
    shutil.copytree(ROOT / "book", root / "book", ignore=shutil.ignore_patterns("notebooks"))
    (root / "book" / "notebooks").mkdir()
    for run in runs:
        shutil.copy(run.path, root / "book" / "notebooks" / run.path.name)
    _working_tree_layout(root)
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
        check=False, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    html = book_copy / "_build" / "html"
    assert (html / "book" / "notebooks" / "01_encoding.html").exists()
    built = {p.relative_to(html).as_posix() for p in html.rglob("*.html")}
    assert not {p for p in built if p.startswith((".", "stray", "notebooks/", "tests/", "README"))}, built
    page = (html / "book" / "notebooks" / "01_encoding.html").read_text()
    # folded code cells render as a collapsible toggle, closed until clicked
    assert page.count('<div class="cell tag_hide-input') == page.count('<details class="admonition hide above-input">') > 5
    assert "Show code cell source" in page


def test_toc_lists_every_notebook():
    toc = (ROOT / "_toc.yml").read_text()
    for source in SOURCES:
        assert f"book/notebooks/{source.stem}" in toc
