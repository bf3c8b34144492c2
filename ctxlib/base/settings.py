"""Frozen, validated settings: the one pattern every stage's settings object follows.

In: values a user or a scale preset chooses. Out: a frozen dataclass that refuses a value
outside its bounds (naming the value and what is allowed), that renders itself as a
table for the book's pages, and that records itself as JSON-able data for stamps, so
that a changed setting changes every artifact's stamp and forces a rebuild.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Range:
    """A closed interval ``[low, high]`` drawn ``"linear"`` (uniform) or ``"log"`` (log-uniform)."""

    low: float
    high: float
    scale: str = "linear"

    def __post_init__(self) -> None:
        if self.scale not in ("linear", "log"):
            raise ValueError(f"range scale {self.scale!r} is not one of 'linear', 'log'")
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.low > self.high:
            raise ValueError(f"range [{self.low}, {self.high}] must be finite with low <= high")
        if self.scale == "log" and self.low <= 0:
            raise ValueError(f"a log range needs low > 0, got {self.low}")

    def check_within(self, name: str, lowest: float, highest: float) -> "Range":
        """Return self if it lies inside ``[lowest, highest]``, else raise a ValueError naming both."""
        if self.low < lowest or self.high > highest:
            raise ValueError(f"{name} range [{self.low:g}, {self.high:g}] lies outside the allowed "
                             f"[{lowest:g}, {highest:g}]")
        return self


def check_number(name: str, value: float, lowest: float, highest: float, *, integer: bool = False) -> None:
    """Raise a ValueError naming ``value`` unless it is a finite number in ``[lowest, highest]``."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if integer:
        ok = ok and float(value).is_integer()
    if not ok or not lowest <= value <= highest:
        kind = "an integer" if integer else "a number"
        raise ValueError(f"{name} = {value!r} must be {kind} in [{lowest:g}, {highest:g}]")


def record(settings: object) -> dict:
    """JSON-able record of a settings dataclass (nested settings and ranges become dicts)."""
    if not dataclasses.is_dataclass(settings):
        raise TypeError(f"{type(settings).__name__} is not a settings dataclass")
    return {"type": type(settings).__name__, **{f.name: _plain(getattr(settings, f.name))
                                                 for f in dataclasses.fields(settings)}}


def from_mapping(kind: type, values: dict, *, where: str = ""):
    """A settings dataclass from a mapping (a section of a TOML or JSON file): the defaults of ``kind`` with the
    given values, nested settings from nested mappings, lists as tuples, each value validated by ``kind`` itself.

    Parameters
    ----------
    kind : type
        A settings dataclass whose fields all have defaults.
    values : dict
        Field name -> value; a ``"type"`` entry (as :func:`record` writes) is ignored.
    where : str
        Where the mapping came from, for the error messages (e.g. ``"settings.toml [encoding]"``).

    Raises
    ------
    ValueError
        For a name ``kind`` does not have (naming it and those it has), a mapping where a number is
        expected or the reverse, or any value ``kind`` refuses.

    Examples
    --------
    >>> from_mapping(Range, {"low": 1, "high": 2})
    Range(low=1, high=2, scale='linear')
    >>> from_mapping(Range, {"low": 1, "hgh": 2}, where="file")
    Traceback (most recent call last):
    ...
    ValueError: file: Range has no setting 'hgh'; it has low, high, scale
    """
    prefix = f"{where}: " if where else ""
    if not isinstance(values, dict):
        raise ValueError(f"{prefix}{kind.__name__} needs a table of settings, got {values!r}")
    names = [f.name for f in dataclasses.fields(kind)]
    unknown = [name for name in values if name not in names and name != "type"]
    if unknown:
        raise ValueError(f"{prefix}{kind.__name__} has no setting {unknown[0]!r}; it has {', '.join(names)}")
    default = kind() if all(f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
                            for f in dataclasses.fields(kind)) else None
    given = {}
    for name, value in values.items():
        if name == "type":
            continue
        current = getattr(default, name, None)
        if dataclasses.is_dataclass(current):
            given[name] = from_mapping(type(current), value, where=f"{where} {name}".strip())
        elif isinstance(value, dict):
            raise ValueError(f"{prefix}{kind.__name__}.{name} is a value, not a table: got {value!r}")
        else:
            given[name] = tuple(value) if isinstance(value, list) else value
    try:
        return kind(**given)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{prefix}{error}") from None


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value):
        return record(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def rows(settings: object, stage: str) -> list[dict]:
    """Rows ``stage, setting, value`` of a settings dataclass, for a table on a page."""
    out = []
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        if isinstance(value, Range):
            text = f"{value.low:g} to {value.high:g}" + (" (log-uniform)" if value.scale == "log" else "")
        elif dataclasses.is_dataclass(value):
            out += rows(value, stage)
            continue
        else:
            text = "not set" if value is None else str(value)  # a page's table shows no raw None
        out.append({"stage": stage, "setting": f"{type(settings).__name__}.{f.name}", "value": text})
    return out
