"""The README's commands, CI and the Binder environment stay in step with pyproject.toml."""

import tomllib

import nbformat
import yaml

from ctxlib.book.binder import write_notebooks
from ctxlib.book.reproduce import ROOT, notebook_sources



def test_environment_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = set(project["dependencies"]) | {r for extra in project["optional-dependencies"].values() for r in extra}
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    listed = {r for r in pip if not r.startswith(("-", "torch"))}
    assert listed == {r for r in declared if not r.startswith("torch")}
    assert "torch==2.13.0" in pip and "torch>=2.3" in declared  # the pinned CPU build satisfies the range
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in pip


def test_binder_and_conda_read_the_one_top_level_environment():
    # repo2docker reads binder/ alone when it exists, and would then ignore the top-level environment.yml that conda
    # users read: one file, at the top, for both.
    assert not (ROOT / "binder").exists()
    post_build = (ROOT / "postBuild").read_text()
    assert "pip install --no-deps -e ." in post_build and "python -m ctxlib.book.binder" in post_build
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["repository"] == {"url": "https://github.com/ctxlib/context-aware-stem", "path_to_book": ".",
                                    "branch": "main"}
    assert config["launch_buttons"] == {"binderhub_url": "https://mybinder.org", "notebook_interface": "jupyterlab"}
    assert config["html"]["use_repository_button"] is True


def test_binder_writes_the_notebooks_the_launch_buttons_open(tmp_path):
    written = write_notebooks(ROOT / "notebooks", tmp_path)
    assert [p.stem for p in written] == [s.stem for s in notebook_sources()]
    notebook = nbformat.read(written[0], as_version=4)
    assert "os.chdir(ROOT)" in notebook.cells[0].source
    assert any("parameters" in c.metadata.get("tags", []) for c in notebook.cells)


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make book" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "make check-book" in ci
    assert ci.index("make test") < ci.index("make check-book")


def test_makefile_installs_torch_first():
    makefile = (ROOT / "Makefile").read_text()
    assert makefile.index("torch==2.13.0") < makefile.index('-e ".[test,book]"')


def test_makefile_prefers_the_cpu_index_and_lets_the_user_choose():
    makefile = (ROOT / "Makefile").read_text()
    assert "TORCH_INDEX ?= auto" in makefile and "TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu" in makefile
    assert "timeout=5" in makefile  # the reachability probe is quick
    assert '--index-url "$$index" torch==2.13.0' in makefile
    for doc in ("README.md", "book/how_to_run.md"):
        assert "TORCH_INDEX" in (ROOT / doc).read_text(), doc


def test_the_provenance_appendix_lists_every_shipped_record():
    page = (ROOT / "book" / "provenance.md").read_text()
    for record in sorted((ROOT / "benchmarks" / "results").glob("*.json")):
        assert f"`{record.name}`" in page, record.name
    assert "book/provenance" in (ROOT / "_toc.yml").read_text()
