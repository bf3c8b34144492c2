import nbformat
import pytest

from ctxlib.book.reproduce import NotebookFailed, execute, notebook_sources, run_all

FAILING = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

```{code-cell} ipython3
:tags: [parameters]
scale = "quick"
seed = 0
```

```{code-cell} ipython3
print("fine")
```

```{code-cell} ipython3
raise RuntimeError("boom in the third cell")
```
"""


def test_failing_cell_names_notebook_and_cell(tmp_path):
    source = tmp_path / "09_broken.md"
    source.write_text(FAILING)
    out = tmp_path / "out"
    (out).mkdir()
    (out / "09_broken.ipynb").write_text("previous good copy")
    with pytest.raises(NotebookFailed, match=r"09_broken.md: cell \d+ .*RuntimeError: boom in the third cell"):
        execute(source, out, {"scale": "quick", "seed": 1})
    assert (out / "09_broken.failed.ipynb").exists()
    assert (out / "09_broken.ipynb").read_text() == "previous good copy"  # not overwritten by the failed run


def test_success_records_parameters(tmp_path):
    source = tmp_path / "08_ok.md"
    source.write_text(FAILING.rsplit("```{code-cell}", 1)[0])
    run = execute(source, tmp_path, {"scale": "full", "seed": 7})
    notebook = nbformat.read(run.path, as_version=4)
    assert "`scale='full'`" in notebook.cells[0].source and "`seed=7`" in notebook.cells[0].source
    injected = [c for c in notebook.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert "seed = 7" in injected[0].source


def test_bad_scale_and_prefix():
    with pytest.raises(ValueError, match="scale 'huge'"):
        run_all(scale="huge")
    with pytest.raises(ValueError, match="no notebook matches"):
        notebook_sources(["99"])
