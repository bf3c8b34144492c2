"""Labelling columns by hand (paper Fig. 6a): annotators, majority vote, agreement.

Each annotator labels the columns of a micrograph into the five classes; a
:class:`LabellingSession` holds one annotator's labels and saves them as CSV
(``column, x, y, label, annotator``). :func:`majority_vote` forms the consensus and
:func:`pairwise_kappa` the agreement between annotators. :func:`labelling_widget`
is the clickable front end (ipywidgets): it shows one column's neighbourhood at a time
with a button per class. All logic lives outside the widget and is tested without a
display.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ctxlib.base.files import atomic_write
from ctxlib.learning.metrics import cohen_kappa
from ctxlib.materials.motifs import CLASS_NAMES

UNLABELLED = -1


class LabellingSession:
    """One annotator's labels for the columns at ``positions`` (x, y pixels).

    Parameters
    ----------
    positions : numpy.ndarray, (N, 2)
        Column positions, (x, y) pixels.
    annotator : str
        Name written beside every label.
    """

    def __init__(self, positions: np.ndarray, annotator: str):
        self.positions = np.asarray(positions, dtype=np.float64).reshape(-1, 2)
        if not annotator.strip():
            raise ValueError("an annotator needs a name")
        self.annotator = annotator
        self.labels = np.full(len(self.positions), UNLABELLED)
        self._tree = cKDTree(self.positions)

    def label(self, index: int, label: int | str) -> None:
        """Give column ``index`` a class (label 0-4 or a class name such as ``"VacX"``)."""
        if not 0 <= index < len(self.labels):
            raise IndexError(f"column {index} does not exist; there are {len(self.labels)}")
        self.labels[index] = _as_label(label)

    def label_at(self, x: float, y: float, label: int | str, max_distance: float) -> int:
        """Label the column nearest to a click at (x, y) pixels; returns its index.

        Raises
        ------
        ValueError
            When no column lies within ``max_distance`` pixels of the click.
        """
        distance, index = self._tree.query([x, y])
        if distance > max_distance:
            raise ValueError(f"no column within {max_distance} px of ({x:.1f}, {y:.1f}); the nearest is {distance:.1f} px away")
        self.label(int(index), label)
        return int(index)

    def next_unlabelled(self, start: int = 0) -> int | None:
        """Index of the first unlabelled column at or after ``start`` (wrapping), or None when all are done."""
        todo = np.flatnonzero(self.labels == UNLABELLED)
        if not len(todo):
            return None
        after = todo[todo >= start]
        return int(after[0] if len(after) else todo[0])

    def table(self) -> pd.DataFrame:
        """The labels so far: ``column``, ``x``, ``y``, ``label`` (-1 unlabelled), ``annotator``."""
        return pd.DataFrame({"column": np.arange(len(self.labels)), "x": self.positions[:, 0], "y": self.positions[:, 1],
                             "label": self.labels, "annotator": self.annotator})

    def save(self, path: str | Path) -> Path:
        """Write the labels as CSV, atomically."""

        path = Path(path)
        text = self.table().to_csv(index=False).encode()
        atomic_write(path, lambda handle: handle.write(text))
        return path

    @classmethod
    def load(cls, path: str | Path) -> "LabellingSession":
        """Resume a session from its CSV."""
        table = pd.read_csv(path)
        session = cls(table[["x", "y"]].to_numpy(), str(table["annotator"].iloc[0]))
        session.labels = table["label"].to_numpy(dtype=int)
        return session


def _as_label(label: int | str) -> int:
    if isinstance(label, str):
        if label not in CLASS_NAMES:
            raise ValueError(f"class {label!r} is unknown; allowed: {', '.join(CLASS_NAMES)}")
        return CLASS_NAMES.index(label)
    if not 0 <= int(label) < len(CLASS_NAMES):
        raise ValueError(f"label {label} is not one of 0-{len(CLASS_NAMES) - 1} ({', '.join(CLASS_NAMES)})")
    return int(label)


def _label_matrix(tables: list[pd.DataFrame]) -> np.ndarray:
    """(annotators, columns) labels; the tables must cover the same columns."""
    if len(tables) < 2:
        raise ValueError(f"need at least two annotators, got {len(tables)}")
    sizes = {len(t) for t in tables}
    if len(sizes) != 1:
        raise ValueError(f"annotators labelled different column sets (sizes {sorted(sizes)})")
    return np.array([t.sort_values("column")["label"].to_numpy(dtype=int) for t in tables])


def majority_vote(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Consensus of several annotators: the label most of them gave.

    A column without a strict majority among the annotators who labelled it (a tie, or
    nobody) gets label -1 and ``agreed`` False; such columns are left out of scores.
    """
    labels = _label_matrix(tables)
    counts = np.stack([(labels == k).sum(axis=0) for k in range(len(CLASS_NAMES))])
    labelled = (labels != UNLABELLED).sum(axis=0)
    best = counts.argmax(axis=0)
    top = counts.max(axis=0)
    unique_top = (counts == top).sum(axis=0) == 1
    agreed = (top * 2 > labelled) & unique_top & (labelled > 0)
    base = tables[0].sort_values("column")[["column", "x", "y"]].reset_index(drop=True)
    return base.assign(label=np.where(agreed, best, UNLABELLED), votes=top, annotators=labelled, agreed=agreed)


def pairwise_kappa(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Cohen's kappa between every pair of annotators, on the columns both labelled."""
    labels = _label_matrix(tables)
    names = [str(t["annotator"].iloc[0]) for t in tables]
    rows = []
    for i, j in combinations(range(len(tables)), 2):
        both = (labels[i] != UNLABELLED) & (labels[j] != UNLABELLED)
        rows.append({"annotator A": names[i], "annotator B": names[j], "columns": int(both.sum()),
                     "kappa": cohen_kappa(labels[i][both], labels[j][both]) if both.any() else np.nan})
    return pd.DataFrame(rows)


def labelling_widget(image: np.ndarray, session: LabellingSession, path: str | Path, *, half_width: int = 24):
    """A clickable labeller: the neighbourhood of one column, a button per class, saved on every click.

    Parameters
    ----------
    image : numpy.ndarray, 2-D
    session : LabellingSession
    path : str or Path
        CSV the labels are saved to after every click (resume with :meth:`LabellingSession.load`).
    half_width : int
        Half side of the shown neighbourhood, pixels.
    """
    import io

    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    view = widgets.Image(format="png", width=260)
    status = widgets.Label()
    state = {"index": session.next_unlabelled() or 0}

    def show():
        index = state["index"]
        x, y = session.positions[index]
        fig, ax = plt.subplots(figsize=(2.6, 2.6))
        ax.imshow(image, cmap="gray")
        ax.set(xlim=(x - half_width, x + half_width), ylim=(y + half_width, y - half_width), xticks=[], yticks=[])
        ax.scatter([x], [y], s=300, facecolors="none", edgecolors="tab:red")
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
        plt.close(fig)
        view.value = buffer.getvalue()
        done = int((session.labels != UNLABELLED).sum())
        status.value = f"{session.annotator}: column {index} of {len(session.labels)}; {done} labelled"

    def choose(label):
        def handler(_):
            session.label(state["index"], label)
            session.save(path)
            following = session.next_unlabelled(state["index"] + 1)
            state["index"] = state["index"] if following is None else following
            show()
        return handler

    buttons = []
    for k, name in enumerate(CLASS_NAMES):
        button = widgets.Button(description=name, layout=widgets.Layout(width="80px"))
        button.on_click(choose(k))
        buttons.append(button)
    show()
    return widgets.VBox([view, widgets.HBox(buttons), status])
