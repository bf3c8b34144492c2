"""Execute the book's notebooks in order with papermill: ``python -m ctxlib.book.reproduce``.

Each notebook under ``notebooks/`` (jupytext MyST markdown, ``NN_name.md``) is converted,
executed with the chosen parameters and written to ``book/notebooks/NN_name.ipynb``, the
copy the book renders (the book never executes a notebook itself). A page starts with
a note of the parameters it ran with.

An executed copy carries a stamp (:func:`execution_stamp`): the digest of its source, of
everything it reads (:data:`EXECUTION_INPUTS`) and its parameters. A copy whose stamp
matches is reused, not executed again, so ``make book`` after ``make test`` (whose book
test executes the notebooks into the same folder) only builds the pages; ``--force``
executes them anyway. A failing cell stops the chain with the notebook
and cell named, and leaves the partial output beside it as ``NN_name.failed.ipynb``; an
output notebook is only replaced once its run has succeeded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ctxlib.base import config
from ctxlib.base.files import sha256, tree_digest
from ctxlib.base.paths import ROOT
from ctxlib.book.settings import settings_markdown
from ctxlib.learning.scale import SCALE_NAMES, paper_scale_folders

NOTEBOOKS = ROOT / "notebooks"
OUTPUT = ROOT / "book" / "notebooks"
SCALES = SCALE_NAMES


#: What the notebooks read beside their own source, relative to the repository root: the code,
#: the shipped data and records, and the declared dependencies.
EXECUTION_INPUTS = ("ctxlib", "data", "benchmarks/results", "pyproject.toml")


def execution_stamp(source: Path, parameters: dict, *, inputs: str | None = None) -> dict:
    """What an executed notebook was made from: its source's digest, the digest of
    :data:`EXECUTION_INPUTS` (``inputs``, computed when not given) and its parameters."""
    if inputs is None:
        inputs = tree_digest(*(ROOT / name for name in EXECUTION_INPUTS))
    return {"source": sha256(source), "inputs": inputs, "parameters": dict(parameters)}


def stamp_of(path: Path) -> dict | None:
    """The stamp an executed notebook carries, or None (no file, no stamp, unreadable)."""
    import nbformat

    try:
        return nbformat.read(str(path), as_version=4).metadata.get("ctxlib", {}).get("stamp")
    except (OSError, ValueError):
        return None


class NotebookFailed(RuntimeError):
    """A notebook cell raised; the message names the notebook and the cell."""


@dataclass(frozen=True)
class Run:
    """One executed notebook: its output path, parameters and wall time in seconds."""

    path: Path
    parameters: dict
    seconds: float
    reused: bool = False


def notebook_sources(only: list[str] | None = None, folder: Path = NOTEBOOKS) -> list[Path]:
    """Notebook sources in paper order, optionally only those whose names start with an entry of ``only``."""
    sources = sorted(folder.glob("[0-9][0-9]_*.md"))
    if only:
        sources = [s for s in sources if any(s.name.startswith(prefix) for prefix in only)]
        if not sources:
            raise ValueError(f"no notebook matches {only}; available: {[s.stem for s in notebook_sources(folder=folder)]}")
    return sources


def declared_parameters(source: Path) -> set[str]:
    """Names assigned in a notebook's ``parameters`` cell."""
    import re

    import jupytext

    cells = [c for c in jupytext.read(source).cells if "parameters" in c.metadata.get("tags", [])]
    return {m for c in cells for m in re.findall(r"^(\w+)\s*=", c.source, flags=re.M)}


def _provenance_cell(parameters: dict, seconds: float):
    import nbformat

    listing = ", ".join(f"`{k}={v!r}`" for k, v in parameters.items())
    text = (
        "```{note}\n"
        f"This page was executed by `python -m ctxlib.book.reproduce` with {listing}; "
        f"it ran in {seconds:.0f} s on {os.cpu_count()} CPU cores. "
        "The numbers and figures below are computed in that run, except where the text names a shipped record "
        "(`benchmarks/results/`, `data/`) that a cell reads.\n```\n\n"
        "````{dropdown} Settings of every stage for this run\n"
        f"{settings_markdown(parameters['scale'], parameters['seed'])}\n````"
    )
    return nbformat.v4.new_markdown_cell(text, metadata={"tags": ["provenance"]})


def _after_title(notebook) -> int:
    """Where the provenance note goes: after the page's leading Markdown (its title, result box and introduction),
    so that a reader meets the result before the settings."""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "markdown":
            return index
    return len(notebook.cells)


def execute(source: Path, output_dir: Path, parameters: dict, *, stamp: dict | None = None) -> Run:
    """Execute one notebook with papermill and write it atomically to ``output_dir``, with ``stamp``
    (:func:`execution_stamp`, computed when not given) in its metadata."""
    import jupytext
    import nbformat
    import papermill

    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / f"{source.stem}.ipynb"
    failed = output_dir / f"{source.stem}.failed.ipynb"
    partial = output_dir / f".{source.stem}.partial.ipynb"
    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    start = time.perf_counter()
    try:
        executed = papermill.execute_notebook(
            notebook,
            str(partial),
            parameters=parameters,
            kernel_name="python3",
            cwd=str(ROOT),
            progress_bar=False,
        )
    except papermill.PapermillExecutionError as error:
        partial.replace(failed)
        raise NotebookFailed(
            f"{source.name}: cell {error.cell_index} (execution count {error.exec_count}) raised "
            f"{error.ename}: {error.evalue}  [partial output: {failed}]"
        ) from None
    seconds = time.perf_counter() - start
    executed.cells.insert(_after_title(executed), _provenance_cell(parameters, seconds))
    executed.metadata["ctxlib"] = {"stamp": stamp or execution_stamp(source, parameters), "seconds": seconds}
    nbformat.write(executed, str(partial))
    partial.replace(target)
    failed.unlink(missing_ok=True)
    return Run(target, parameters, seconds)


def run_all(
    scale: str = "quick",
    seed: int = 0,
    *,
    only: list[str] | None = None,
    output_dir: Path = OUTPUT,
    extra: dict | None = None,
    force: bool = False,
) -> list[Run]:
    """Execute the notebooks in order; see the module docstring.

    Parameters
    ----------
    scale : {"quick", "full"}
    seed : int
    only : list of str, optional
        Notebook name prefixes, e.g. ``["01"]``.
    output_dir : pathlib.Path
    extra : dict, optional
        More papermill parameters, each passed to the notebooks that declare it. At
        ``scale="full"``, ``features_dir`` and ``weights_dir`` default to the staged
        paper-scale run's folders (:func:`ctxlib.learning.scale.paper_scale_folders`).
    force : bool
        Execute every notebook, even where an executed copy with the same stamp exists.
    """
    if scale not in SCALES:
        raise ValueError(f"scale {scale!r} is not one of {SCALES}")
    from tqdm.auto import tqdm

    # At the paper's scale the notebooks read and write the staged run's folders (benchmarks/full_scale.py), so the
    # book resumes that run instead of starting another; ``extra`` may name others.
    folders = ({name: str(path.relative_to(ROOT)) for name, path in paper_scale_folders(seed).items()}
               if scale == "full" else {})
    runs = []
    sources = notebook_sources(only)
    inputs = tree_digest(*(ROOT / name for name in EXECUTION_INPUTS))
    with tqdm(sources, desc="notebooks", unit="nb", disable=not config.get("progress")) as bar:
        for source in bar:
            bar.set_postfix_str(source.stem)
            declared = declared_parameters(source)
            given = {**folders, **(extra or {})}
            parameters = {"scale": scale, "seed": seed, **{k: v for k, v in given.items() if k in declared}}
            target = Path(output_dir) / f"{source.stem}.ipynb"
            stamp = execution_stamp(source, parameters, inputs=inputs)
            if not force and stamp_of(target) == stamp:
                runs.append(Run(target, parameters, 0.0, reused=True))
                continue
            runs.append(execute(source, Path(output_dir), parameters, stamp=stamp))
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ctxlib.book.reproduce", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, default="quick")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", help="notebook prefixes, e.g. 01 03")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--force", action="store_true", help="execute even the notebooks whose executed copy is current")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "JSON"),
                        help="extra papermill parameter, value parsed as JSON")
    args = parser.parse_args(argv)
    extra = {name: json.loads(value) for name, value in args.parameter}
    try:
        runs = run_all(args.scale, args.seed, only=args.only, output_dir=args.output, extra=extra, force=args.force)
    except NotebookFailed as error:
        print(f"FAILED {error}", file=sys.stderr)
        return 1
    for run in runs:
        shown = run.path.relative_to(ROOT) if run.path.is_relative_to(ROOT) else run.path
        print(f"{shown}  " + ("reused: same source, inputs and parameters" if run.reused else f"{run.seconds:.0f} s"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
