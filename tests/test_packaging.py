"""The README's commands, CI and the Binder environment stay in step with pyproject.toml."""

import tomllib

import yaml

from ctxlib.book.reproduce import ROOT


def test_environment_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = set(project["dependencies"]) | {r for extra in project["optional-dependencies"].values() for r in extra}
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    listed = {r for r in pip if not r.startswith(("-", "torch"))}
    assert listed == {r for r in declared if not r.startswith("torch")}
    assert "torch==2.13.0" in pip and "torch>=2.3" in declared  # the pinned CPU build satisfies the range


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make book" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_makefile_installs_torch_first():
    makefile = (ROOT / "Makefile").read_text()
    assert makefile.index("torch==2.13.0") < makefile.index('-e ".[test,book]"')
