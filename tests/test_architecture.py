"""The package keeps its shape: data flows one way through the stages, and each stage imports lightly."""

import subprocess
import sys
import textwrap

import pytest

from ctxlib.book.architecture import STAGES, allowed, import_edges, module_table, rule_violations


def test_ctxlib_keeps_every_rule():
    assert rule_violations(import_edges()) == []


def test_every_module_belongs_to_a_stage_and_says_what_it_does():
    table = module_table()
    assert set(table["stage"]) <= {"package", *STAGES, "ptycho"}
    assert not table.loc[table["what"] == "", "module"].tolist()


def _tree(tmp_path, files: dict[str, str]):
    root = tmp_path / "ctxlib"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


@pytest.mark.parametrize("files, expected", [
    ({"encoding/features.py": "from ctxlib.micrographs.classify import fill\n",
      "micrographs/classify.py": "x = 1\n"}, "may not import stage 'micrographs'"),
    ({"learning/training.py": "def f():\n    from ctxlib.learning.dataset import stream\n",
      "learning/dataset.py": "x = 1\n"}, "inside a function"),
    ({"micrographs/standins.py": "from ctxlib.simulation.scans import _potential\n",
      "simulation/scans.py": "x = 1\n"}, "private ['_potential']"),
    ({"learning/a.py": "from ctxlib.learning.b import x\n", "learning/b.py": "from ctxlib.learning.a import y\n"},
     "import cycle"),
    ({"learning/a.py": "from .b import x\n", "learning/b.py": "from ..micrographs.c import y\n",
      "micrographs/c.py": "y = 1\n"}, "may not import stage 'micrographs'"),
    ({"ptycho/engine.py": "from ctxlib.encoding.lattice import a\n", "encoding/lattice.py": "a = 1\n"},
     "may not import stage 'encoding'"),
    ({"encoding/features.py": "import ctxlib.base.files, ctxlib.learning.models\n", "learning/models.py": "x = 1\n",
      "base/files.py": "x = 1\n"}, "imports ctxlib.learning.models: stage 'encoding' may not import stage 'learning'"),
])
def test_the_checker_catches_each_broken_rule(tmp_path, files, expected):
    problems = rule_violations(import_edges(_tree(tmp_path, files)))
    assert any(expected in p for p in problems), problems


def test_stage_order_is_the_pipeline():
    assert allowed("ctxlib.learning.training", "ctxlib.simulation.library")
    assert not allowed("ctxlib.simulation.library", "ctxlib.learning.training")
    assert allowed("ctxlib.book.figures.validation", "ctxlib.micrographs.overlay")
    assert not allowed("ctxlib.base.files", "ctxlib.materials.catalog")


@pytest.mark.parametrize("module, heavy", [
    ("ctxlib.learning.training", "abtem"),
    ("ctxlib.encoding.features", "torch"),
    ("ctxlib.encoding.features", "abtem"),
    ("ctxlib.micrographs.cli", "torch"),
    ("ctxlib.learning", "torch"),
])
def test_importing_a_stage_module_does_not_pull_in_heavy_siblings(module, heavy):
    code = f"import sys, {module}; print({heavy!r} in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_public_names_resolve_from_each_stage():
    import importlib

    for stage in STAGES:
        package = importlib.import_module(f"ctxlib.{stage}")
        for name in package.__all__:
            assert getattr(package, name) is not None, (stage, name)


def test_readme_layout_names_every_stage():
    from ctxlib.base.paths import ROOT

    readme = (ROOT / "README.md").read_text()
    for stage in STAGES:
        assert f"| `ctxlib/{stage}/` |" in readme, stage


def test_notebook_code_cells_call_the_library_in_a_few_lines():
    """No code cell computes at length: at most 15 lines of statements other than imports and parameters."""
    import ast

    import jupytext

    from ctxlib.book.reproduce import notebook_sources

    long = []
    for source in notebook_sources():
        for k, cell in enumerate(jupytext.read(source).cells):
            if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
                continue
            body = [s for s in ast.parse(cell.source).body if not isinstance(s, (ast.Import, ast.ImportFrom))]
            lines = sum(s.end_lineno - s.lineno + 1 for s in body)
            if lines > 15:
                long.append(f"{source.name} cell {k}: {lines} lines")
    assert not long


def test_public_functions_take_their_options_by_keyword():
    """Data first, options keyword-only (scikit-image's ``gaussian(image, sigma=1.0, *, mode=...)``)."""
    from ctxlib.book.architecture import positional_options

    assert positional_options() == []


def test_the_keyword_checker_catches_a_positional_option(tmp_path):
    from ctxlib.book.architecture import positional_options

    root = _tree(tmp_path, {
        "learning/a.py": """
            def fine(image, sigma=1.0, *, mode="reflect"):
                pass

            def loose(image, pixel_size, threshold=0.5, *, mode="reflect"):
                pass

            def _private(a, b, c=1):
                pass

            class Model:
                def predict(self, X, batch_size=64, seed=0):
                    pass
            """,
    })
    assert positional_options(root) == ["ctxlib.learning.a.loose: threshold", "ctxlib.learning.a.Model.predict: seed"]


def test_notebook_cells_only_call_the_library():
    """No notebook code cell holds a loop or comprehension that computes a result: that lives in ctxlib, tested.
    Loops that only show things carry ``# display``; comprehensions inside ``"...".join`` build text."""
    import jupytext

    from ctxlib.book.architecture import computing_loops
    from ctxlib.book.reproduce import notebook_sources

    computing = []
    for source in notebook_sources():
        for k, cell in enumerate(jupytext.read(source).cells):
            if cell.cell_type == "code":
                code = "\n".join(line for line in cell.source.splitlines() if not line.startswith(("%", "!")))
                computing += [f"{source.name} cell {k} line {line}" for line in computing_loops(code)]
    assert not computing


@pytest.mark.parametrize("code, expected", [
    ("total = sum(x for x in values)", [1]),
    ("for name in names:\n    scores[name] = 1", [1]),
    ("for ax in axes:  # display\n    ax.set_axis_off()", []),
    ("text = ', '.join(f'{n}' for n in names)", []),
    ("rows = [f(x) for x in xs]  # display", []),
    ("while busy:\n    busy = step()", [1]),
    ("table = {k: v for k, v in d.items()}\nshown = ', '.join(map(str, table))", [1]),
])
def test_the_notebook_checker_tells_computing_from_showing(code, expected):
    from ctxlib.book.architecture import computing_loops

    assert computing_loops(code) == expected
