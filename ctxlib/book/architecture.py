"""The code's own map: which module imports which, stage by stage, and the rules it keeps.

In: the source tree of ``ctxlib`` (read with :mod:`ast`, nothing is imported). Out: the
table of import edges, a table of modules with the first line of their docstrings, and
the list of broken rules: an import from a later stage, an import inside a function
(allowed only where the command line defers heavy imports), a private name imported
from another module, and import cycles. ``tests/test_architecture.py`` fails on any of
them; the book's page "How the code is organised" draws the same tables.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ctxlib.base.paths import ROOT

#: The main pipeline, in the order data flows; a stage may import only from stages before it.
STAGES = ("base", "materials", "simulation", "encoding", "learning", "micrographs", "book")
#: Part II (ptychography) is a pipeline of its own: the stages it may import, and the stages that may import it.
SIDE_STAGES = {"ptycho": {"reads": ("base",), "read_by": ("book",)}}
#: Modules that may import ctxlib inside a function: the command line defers its imports so
#: that ``ctxlib --help`` answers at once.
DEFERRED_IMPORTS = ("ctxlib.micrographs.cli",)
PACKAGE = ROOT / "ctxlib"


@dataclass(frozen=True)
class Edge:
    """One ``import`` statement of ctxlib by ctxlib."""

    importer: str
    imported: str
    names: tuple[str, ...]
    in_function: bool
    line: int


def module_name(path: Path, package: Path = PACKAGE) -> str:
    """Dotted module name of a source file (``ctxlib/encoding/lattice.py`` -> ``ctxlib.encoding.lattice``)."""
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def stage_of(module: str) -> str:
    """The stage a module belongs to: its first subpackage (``ctxlib.__main__`` is the command line)."""
    parts = module.split(".")
    if len(parts) == 1:
        return "package"
    if parts[1] == "__main__":
        return "micrographs"
    return parts[1]


def _resolve(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def import_edges(package: Path = PACKAGE) -> list[Edge]:
    """Every import of ``ctxlib`` inside ``package``, with where it sits."""
    edges = []
    for path in sorted(package.rglob("*.py")):
        importer = module_name(path, package)
        tree = ast.parse(path.read_text(), filename=str(path))
        functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        inner = {id(n) for f in functions for n in ast.walk(f) if n is not f}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                targets = [(_resolve(node, importer, path.name == "__init__.py"), tuple(a.name for a in node.names))]
            elif isinstance(node, ast.Import):
                targets = [(alias.name, ()) for alias in node.names]
            else:
                continue
            edges += [Edge(importer, target, names, id(node) in inner, node.lineno)
                      for target, names in targets if target.split(".")[0] == package.name]
    return edges


def _cycles(edges: list[Edge]) -> list[list[str]]:
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e.importer, set()).add(e.imported)
    found, state = [], {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":  # on the current path: a cycle back to it
                found.append(trail[trail.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    return found


def allowed(importer: str, imported: str) -> bool:
    """Whether module ``importer`` may import module ``imported`` (data flows one way)."""
    a, b = stage_of(importer), stage_of(imported)
    if a == b or b == "package":  # the top-level package holds only ``__version__``
        return True
    if a in SIDE_STAGES:
        return b in SIDE_STAGES[a]["reads"]
    if b in SIDE_STAGES:
        return a in SIDE_STAGES[b]["read_by"]
    if a in STAGES and b in STAGES:
        return STAGES.index(b) < STAGES.index(a)
    return False


def rule_violations(edges: list[Edge]) -> list[str]:
    """Broken rules, one line each (empty when the code keeps them all)."""
    problems = []
    for e in edges:
        where = f"{e.importer}:{e.line}"
        if not allowed(e.importer, e.imported):
            problems.append(f"{where} imports {e.imported}: stage {stage_of(e.importer)!r} may not import "
                            f"stage {stage_of(e.imported)!r}")
        if e.in_function and e.importer not in DEFERRED_IMPORTS:
            problems.append(f"{where} imports {e.imported} inside a function")
        private = [n for n in e.names if n.startswith("_") and not n.startswith("__")]
        if private:
            problems.append(f"{where} imports private {private} from {e.imported}")
    for cycle in _cycles(edges):
        problems.append("import cycle: " + " -> ".join(cycle))
    return problems


def stage_edges(edges: list[Edge]) -> pd.DataFrame:
    """How many imports each stage makes of each other stage (rows import columns)."""
    order = [s for s in STAGES if any(stage_of(e.importer) == s for e in edges)] + list(SIDE_STAGES)
    table = pd.DataFrame(0, index=order, columns=order)
    for e in edges:
        a, b = stage_of(e.importer), stage_of(e.imported)
        if a != b and a in table.index and b in table.columns:
            table.loc[a, b] += 1
    used = (table.sum(axis=1) > 0) | (table.sum(axis=0) > 0)
    return table.loc[used, used]


def module_table(package: Path = PACKAGE) -> pd.DataFrame:
    """One row per module: stage, module, lines of code and the first line of its docstring."""
    rows = []
    for path in sorted(package.rglob("*.py")):
        name = module_name(path, package)
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        rows.append({"stage": stage_of(name), "module": name, "lines": len(path.read_text().splitlines()),
                     "what": " ".join(doc.split("\n\n")[0].split())})
    table = pd.DataFrame(rows)
    rank = {s: i for i, s in enumerate(("package", *STAGES, *SIDE_STAGES))}
    return table.sort_values(["stage", "module"], key=lambda c: c.map(rank) if c.name == "stage" else c,
                             ignore_index=True)


if __name__ == "__main__":
    print(module_table().to_string(index=False))
    print()
    print(stage_edges(import_edges()))
    print("\n".join(rule_violations(import_edges())) or "no broken rules")


def _public_functions(tree: ast.Module):
    """Module-level public functions and the public methods of public classes."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            yield node.name, node
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and not item.name.startswith("_"):
                    yield f"{node.name}.{item.name}", item


def positional_options(package: Path = PACKAGE) -> list[str]:
    """Public functions whose options can be passed by position.

    The rule is scikit-image's ``gaussian(image, sigma=1.0, *, mode=...)``: in a public
    function of more than two parameters (``self``/``cls`` not counted), every parameter
    that has a default and is not one of the first two is keyword-only.

    Parameters
    ----------
    package : Path
        Root of the package to read.

    Returns
    -------
    list of str
        ``"module.function: parameter, ..."`` for each function that breaks the rule.
    """
    problems = []
    for path in sorted(package.rglob("*.py")):
        for name, node in _public_functions(ast.parse(path.read_text())):
            args = node.args
            positional = [*args.posonlyargs, *args.args]
            if positional and positional[0].arg in ("self", "cls"):
                positional = positional[1:]
            if len(positional) + len(args.kwonlyargs) <= 2:
                continue
            defaulted = positional[len(positional) - len(args.defaults):] if args.defaults else []
            loose = [a.arg for a in defaulted if positional.index(a) >= 2]
            if loose:
                problems.append(f"{module_name(path, package)}.{name}: {', '.join(loose)}")
    return problems


#: The comment that names a loop of a notebook cell as one that only shows things (figures, tables, text).
DISPLAY_MARK = "# display"


def _formatting(node: ast.AST, parents: dict) -> bool:
    """A comprehension that only feeds ``"...".join(...)``: text for the reader, not a result."""
    parent = parents.get(node)
    return (isinstance(parent, ast.Call) and isinstance(parent.func, ast.Attribute) and parent.func.attr == "join"
            and isinstance(parent.func.value, ast.Constant) and isinstance(parent.func.value.value, str))


def computing_loops(source: str) -> list[int]:
    """Lines of a notebook code cell that hold a loop or comprehension computing a result.

    Allowed are comprehensions that only build text (the argument of ``"...".join``) and loops
    or comprehensions whose first line carries :data:`DISPLAY_MARK` (they show, they do not
    compute). Everything else belongs in ctxlib, where it is tested.

    >>> computing_loops("names = ', '.join(f'{n}' for n in range(3))")
    []
    >>> computing_loops("total = sum(x * x for x in range(3))")
    [1]
    """
    tree = ast.parse(source)
    lines = source.splitlines()
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    loops = (ast.For, ast.While, ast.ListComp, ast.DictComp, ast.SetComp, ast.GeneratorExp)
    return sorted({node.lineno for node in ast.walk(tree) if isinstance(node, loops)
                   and not _formatting(node, parents) and DISPLAY_MARK not in lines[node.lineno - 1]})
