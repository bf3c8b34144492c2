"""The environment knobs, in one place: device, local workers, progress bars, where data and records live.

These say *where* and *how visibly* a result is made, never *what* it is: the physics and
learning choices that change a result are the frozen, stamped settings objects of each stage
(``EncodingSettings``, ``FeatureSettings``, ``TrainingConfig``, ...). The knobs follow
``abtem.config.set`` and scikit-learn's ``config_context``: :func:`set` changes them for the
rest of the process, or, used in a ``with`` block, until the block ends; :func:`get` reads one.
Each starts from an environment variable (``CTXLIB_DEVICE``, ``CTXLIB_WORKERS``,
``CTXLIB_PROGRESS``, ``CTXLIB_DATA``, ``CTXLIB_RESULTS``) where it is set, so a CI job or a
Binder session can change them without code.

The device has one vocabulary, torch's: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``
(:func:`abtem_device` says it in abTEM's words). Knobs live in this process: dask workers
in other processes get the values their caller resolved, passed as arguments.

Examples
--------
>>> from ctxlib.base import config
>>> config.get("device")
'cpu'
>>> with config.set(progress=False, workers=1):
...     (config.get("progress"), config.get("workers"))
(False, 1)
>>> config.get("workers")
2
>>> config.set(device="gpu")
Traceback (most recent call last):
...
ValueError: device='gpu' is not allowed: use 'cpu', 'cuda' or 'cuda:N' (torch's names)
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ctxlib.base.paths import DATA, ROOT

#: The knobs and what each may be.
KNOBS = {
    "device": "'cpu', 'cuda' or 'cuda:N' (torch's names)",
    "workers": "an integer from 1 to 1024 (processes of a local dask cluster)",
    "progress": "True or False (progress bars of long jobs)",
    "data_root": "a folder (curated tables, the shipped library and weights; default data/)",
    "results_root": "a folder (benchmark records; default benchmarks/results/)",
}


def _check(name: str, value: Any) -> Any:
    if name not in KNOBS:
        raise ValueError(f"{name!r} is not a ctxlib config knob: use one of {', '.join(KNOBS)}")
    if name == "device":
        if not (isinstance(value, str) and re.fullmatch(r"cpu|cuda(:\d+)?", value)):
            raise ValueError(f"device={value!r} is not allowed: use {KNOBS['device']}")
        return value
    if name == "workers":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1024:
            raise ValueError(f"workers={value!r} is not allowed: use {KNOBS['workers']}")
        return value
    if name == "progress":
        if not isinstance(value, bool):
            raise ValueError(f"progress={value!r} is not allowed: use {KNOBS['progress']}")
        return value
    if not isinstance(value, (str, Path)) or not str(value):
        raise ValueError(f"{name}={value!r} is not allowed: use {KNOBS[name]}")
    return Path(value)


def _from_environment() -> dict[str, Any]:
    knobs: dict[str, Any] = {"device": "cpu", "workers": 2, "progress": True, "data_root": DATA,
                             "results_root": ROOT / "benchmarks" / "results"}
    parse = {"device": str, "workers": int, "progress": lambda text: text.lower() not in ("0", "false", "no", "off"),
             "data_root": Path, "results_root": Path}
    names = {"device": "CTXLIB_DEVICE", "workers": "CTXLIB_WORKERS", "progress": "CTXLIB_PROGRESS",
             "data_root": "CTXLIB_DATA", "results_root": "CTXLIB_RESULTS"}
    for knob, variable in names.items():
        if os.environ.get(variable):
            try:
                knobs[knob] = _check(knob, parse[knob](os.environ[variable]))
            except ValueError as error:
                raise ValueError(f"environment variable {variable}={os.environ[variable]!r}: {error}") from None
    return knobs


_state = _from_environment()


class set:  # noqa: A001 - the name abTEM and dask use
    """Set knobs for the process, or, as a context manager, until the ``with`` block ends.

    Parameters
    ----------
    **knobs
        Any of :data:`KNOBS`; each value is checked before any is set.
    """

    def __init__(self, **knobs: Any) -> None:
        checked = {name: _check(name, value) for name, value in knobs.items()}
        self._previous = {name: _state[name] for name in checked}
        _state.update(checked)

    def __enter__(self) -> set:
        return self

    def __exit__(self, *exc: object) -> None:
        _state.update(self._previous)


def get(name: str) -> Any:
    """The current value of one knob (see :data:`KNOBS`)."""
    if name not in KNOBS:
        raise ValueError(f"{name!r} is not a ctxlib config knob: use one of {', '.join(KNOBS)}")
    return _state[name]


def resolve(name: str, value: Any = None) -> Any:
    """``value`` checked, or the knob's current value where ``value`` is None (the default of every entry point)."""
    return get(name) if value is None else _check(name, value)


def data_folder(name: str, root: str | Path | None = None) -> Path:
    """``root`` where one is given, else the folder ``name`` under the ``data_root`` knob (e.g. ``data/library``).

    >>> data_folder("library", "/elsewhere")
    PosixPath('/elsewhere')
    """
    return get("data_root") / name if root is None else Path(root)


def abtem_device(device: str | None = None) -> str:
    """The device in abTEM's words (``"cpu"`` or ``"gpu"``) for a torch-style name or the current knob.

    >>> abtem_device("cuda:0")
    'gpu'
    """
    return "cpu" if resolve("device", device) == "cpu" else "gpu"
