"""Lazy public names for a stage's subpackage (the pattern of scikit-image's ``lazy_loader``).

``from ctxlib.learning import train_models`` imports ``ctxlib.learning.training`` only when
the name is asked for, so importing one module of a stage never pulls in the heavy
dependencies (abTEM, PyTorch, Matplotlib) of its siblings.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def attach(package: str, exports: dict[str, list[str]]) -> tuple[Callable[[str], object], Callable[[], list[str]], list[str]]:
    """``__getattr__``, ``__dir__`` and ``__all__`` for ``package`` exporting ``exports``.

    Parameters
    ----------
    package
        The subpackage's ``__name__``.
    exports
        Submodule name -> the public names it provides.
    """
    where = {name: module for module, names in exports.items() for name in names}
    clashes = sorted(n for n in where if sum(n in names for names in exports.values()) > 1)
    if clashes:
        raise ImportError(f"{package} exports {clashes} from more than one submodule")

    def __getattr__(name: str) -> object:
        if name in exports:
            return importlib.import_module(f"{package}.{name}")
        if name in where:
            return getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted([*where, *exports])

    return __getattr__, __dir__, sorted(where)
