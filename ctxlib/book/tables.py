"""One way to show a table on a page: sensible digits, whole numbers as whole numbers, shares as percentages,
no NaN cells.

:func:`format_table` returns a pandas ``Styler`` (rendered as HTML in the executed notebook) whose
cells are strings made by :func:`format_cell`: integers with thousands separators, floats with
``digits`` significant figures (at most four decimals, trailing zeros dropped), the columns named in ``percent`` as
percentages with one decimal, booleans as yes/no, and missing values as an en dash.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import pandas as pd

MISSING = "–"


def format_cell(value, *, digits: int = 3, percent: bool = False) -> str:
    """One cell as text (rules in the module docstring).

    >>> format_cell(12345), format_cell(0.0123456), format_cell(0.98765, percent=True), format_cell(float("nan"))
    ('12,345', '0.0123', '98.8 %', '–')
    """
    if value is None or (isinstance(value, Real) and not isinstance(value, Integral) and math.isnan(value)):
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Integral):
        return f"{value:,}"
    if isinstance(value, Real):
        if percent:
            return f"{100 * value:.1f} %"
        if float(value).is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        if value == 0 or not math.isfinite(value):
            return str(value)
        decimals = min(4, max(0, digits - 1 - math.floor(math.log10(abs(value)))))
        if abs(value) < 1e-4:
            return f"{value:.{digits - 1}e}"
        text = f"{value:,.{decimals}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    return str(value)


def format_table(table: pd.DataFrame, *, percent: list[str] | tuple[str, ...] = (), digits: int = 3):
    """A table's cells as text (:func:`format_cell`), as a pandas ``Styler`` with its index shown.

    Parameters
    ----------
    table : pandas.DataFrame
    percent : list of str
        Columns holding shares in [0, 1], shown as percentages.
    digits : int
        Significant figures of other floats.
    """
    unknown = [c for c in percent if c not in table.columns]
    if unknown:
        raise ValueError(f"percent names columns the table does not have: {unknown}; it has {list(table.columns)}")
    text = pd.DataFrame({column: [format_cell(v, digits=digits, percent=column in percent) for v in table[column]]
                         for column in table.columns}, index=table.index)
    return text.style.set_table_attributes('class="ctxlib-table"').set_table_styles(
        [{"selector": "td, th", "props": "padding: 0.2em 0.7em; text-align: right"}])
