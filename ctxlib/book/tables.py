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


def side_by_side(ours: pd.DataFrame, paper: pd.DataFrame, *, split: tuple[str, ...] = ("HAADF", "MAADF"),
                 level: str = "detector") -> pd.DataFrame:
    """Our scores and the paper's in one narrow table: columns named ``"<metric> <part>"`` (e.g. ``"kappa HAADF"``)
    become rows per part (``level``), and each metric is followed by the paper's value of it.

    Parameters
    ----------
    ours, paper : pandas.DataFrame
        Indexed alike (e.g. by model), columns ``"<metric> <part>"`` for each part in ``split``.
    split : tuple of str
        The column-name suffixes moved into the index.
    level : str
        Name of the new index level.

    Examples
    --------
    >>> ours = pd.DataFrame({"kappa HAADF": [0.9], "kappa MAADF": [0.8]}, index=["m"])
    >>> paper = pd.DataFrame({"kappa HAADF": [0.99], "kappa MAADF": [float("nan")]}, index=["m"])
    >>> side_by_side(ours, paper).reset_index().values.tolist()
    [['m', 'HAADF', 0.9, 0.99], ['m', 'MAADF', 0.8, nan]]
    """
    def long(table: pd.DataFrame) -> pd.DataFrame:
        parts = {part: table[[c for c in table.columns if c.endswith(f" {part}")]].rename(
            columns=lambda c, part=part: c.removesuffix(f" {part}")) for part in split}
        return pd.concat(parts, names=[level]).swaplevel().sort_index(level=0, sort_remaining=False)

    ours_long, paper_long = long(ours), long(paper).reindex(columns=long(ours).columns)
    order = list(dict.fromkeys(ours.index))
    columns = {}
    for metric in ours_long.columns:
        columns[metric] = ours_long[metric]
        columns[f"paper {metric}"] = paper_long[metric].reindex(ours_long.index)
    table = pd.DataFrame(columns)
    return table.reindex(pd.MultiIndex.from_product([order, list(split)], names=[ours.index.name, level]))
