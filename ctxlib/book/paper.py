"""The paper's own numbers, transcribed once into ``data/`` so the book can set ours beside them.

``data/paper_table1.csv`` is Table 1 (accuracy in %, Cohen's kappa and binary-defect F1
per detector); ``data/paper_numbers.csv`` holds the scalars quoted in the text, each with
where it is stated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ctxlib.base.paths import DATA


def table1() -> pd.DataFrame:
    """Table 1 of the paper, indexed by model."""
    return pd.read_csv(DATA / "paper_table1.csv", index_col="model")


def paper_number(quantity: str) -> float:
    """One scalar of ``data/paper_numbers.csv`` (e.g. ``"entropy_without_context"``)."""
    numbers = pd.read_csv(DATA / "paper_numbers.csv", index_col="quantity")["value"]
    if quantity not in numbers.index:
        raise KeyError(f"paper number {quantity!r} is not recorded; recorded: {', '.join(numbers.index)}")
    return float(numbers[quantity])


def table1_agreement() -> pd.DataFrame:
    """Table 1's agreement columns renamed as the book's (``kappa HAADF``, ``F1 dopant MAADF``, ...)."""
    names = {"kappa": "kappa", "f1_single_vacancy": "F1 single vacancy", "f1_double_vacancy": "F1 double vacancy",
             "f1_dopant": "F1 dopant"}
    table = table1()
    return pd.DataFrame({f"{label} {detector.upper()}": table[f"{key}_{detector}"]
                         for key, label in names.items() for detector in ("haadf", "maadf")}).dropna(how="all")


#: The words a page's result box uses for how our number compares with the paper's.
VERDICTS = ("reproduced", "reproduced with differences", "not reproduced")


def verdict(ours: tuple[float, float] | float, paper: tuple[float, float] | float, *, tolerance: float,
            not_beyond: float | None = None, holds: bool = True) -> str:
    """How a result compares with the paper's, in words (:data:`VERDICTS`).

    Parameters
    ----------
    ours, paper : float or (low, high)
        Our value or range, and the paper's, in the same units.
    tolerance : float
        The largest gap between the two ranges still called reproduced, same units.
    not_beyond : float, optional
        A gap beyond which the result is not reproduced (between the two: reproduced with differences).
    holds : bool
        Whether the paper's claim itself holds in our data (e.g. context lifts accuracy); when
        it does not, the result is not reproduced whatever the numbers.

    Examples
    --------
    >>> verdict((97.6, 98.6), (98.4, 98.7), tolerance=1.0)
    'reproduced'
    >>> verdict((94.5, 98.6), (98.4, 98.7), tolerance=1.0)
    'reproduced with differences'
    >>> verdict(0.69, 0.94, tolerance=0.03, not_beyond=0.1)
    'not reproduced'
    >>> verdict(0.3, 0.1, tolerance=0.05, holds=False)
    'not reproduced'
    """
    if not holds:
        return VERDICTS[2]
    (low, high), (paper_low, paper_high) = (np.broadcast_to(np.asarray(v, dtype=float), 2) for v in (ours, paper))
    gap = max(paper_low - high, low - paper_high, paper_low - low, high - paper_high, 0.0)
    if gap <= tolerance:
        return VERDICTS[0]
    return VERDICTS[2] if not_beyond is not None and gap > not_beyond else VERDICTS[1]
