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


def test_the_paper_scale_reads_and_writes_the_staged_runs_folders(tmp_path, monkeypatch):
    """At scale full, features_dir and weights_dir default to benchmarks/full_scale.py's folders (per seed); a
    parameter given on the command line wins; a notebook gets only what it declares."""
    import ctxlib.book.reproduce as reproduce

    source = tmp_path / "03_x.md"
    source.write_text(FAILING.rsplit("```{code-cell}", 2)[0].replace('seed = 0', 'seed = 0\nfeatures_dir = "a"\nweights_dir = "b"'))
    seen = []
    monkeypatch.setattr(reproduce, "notebook_sources", lambda only=None: [source])
    monkeypatch.setattr(reproduce, "execute", lambda src, out, parameters, stamp=None: seen.append(parameters))
    run_all("full", 3, output_dir=tmp_path)
    run_all("full", 3, output_dir=tmp_path, extra={"weights_dir": "mine", "unknown": 1})
    run_all("quick", 3, output_dir=tmp_path)
    assert seen[0] == {"scale": "full", "seed": 3, "features_dir": "_build/data/features-full-seed3",
                       "weights_dir": "data/training-full-seed3"}
    assert seen[1]["weights_dir"] == "mine" and "unknown" not in seen[1]
    assert seen[2] == {"scale": "quick", "seed": 3}


def test_an_executed_copy_is_reused_while_its_stamp_matches(tmp_path, monkeypatch):
    """A second run with the same source, inputs and parameters reuses the copy; any change executes again."""
    import ctxlib.book.reproduce as reproduce

    source = tmp_path / "08_ok.md"
    source.write_text(FAILING.rsplit("```{code-cell}", 1)[0])
    monkeypatch.setattr(reproduce, "notebook_sources", lambda only=None: [source])
    out = tmp_path / "out"
    first = run_all("quick", 0, output_dir=out)
    assert not first[0].reused and reproduce.stamp_of(first[0].path)["parameters"] == {"scale": "quick", "seed": 0}
    assert run_all("quick", 0, output_dir=out)[0].reused
    assert not run_all("quick", 1, output_dir=out)[0].reused  # other parameters
    assert run_all("quick", 1, output_dir=out)[0].reused
    assert not run_all("quick", 1, output_dir=out, force=True)[0].reused
    source.write_text(source.read_text().replace('print("fine")', 'print("changed")'))
    assert not run_all("quick", 1, output_dir=out)[0].reused  # another source
    inputs = reproduce.tree_digest(*(reproduce.ROOT / name for name in reproduce.EXECUTION_INPUTS))
    monkeypatch.setattr(reproduce, "tree_digest", lambda *paths: inputs + "-changed")
    assert not run_all("quick", 1, output_dir=out)[0].reused  # other code or data


def test_tree_digest_follows_names_and_bytes_and_skips_caches(tmp_path):
    from ctxlib.base.files import tree_digest

    (tmp_path / "pkg" / "__pycache__").mkdir(parents=True)
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n")
    before = tree_digest(tmp_path / "pkg")
    (tmp_path / "pkg" / "__pycache__" / "a.pyc").write_bytes(b"cache")
    (tmp_path / "pkg" / ".lock").write_text("")
    assert tree_digest(tmp_path / "pkg") == before
    (tmp_path / "pkg" / "a.py").write_text("x = 2\n")
    assert tree_digest(tmp_path / "pkg") != before
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n")
    (tmp_path / "pkg" / "a.py").rename(tmp_path / "pkg" / "b.py")
    assert tree_digest(tmp_path / "pkg") != before
