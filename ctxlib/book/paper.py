"""The paper's own numbers, transcribed once into ``data/`` so the book can set ours beside them.

``data/paper_table1.csv`` is Table 1 (accuracy in %, Cohen's kappa and binary-defect F1
per detector); ``data/paper_numbers.csv`` holds the scalars quoted in the text, each with
where it is stated.
"""

from __future__ import annotations

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
