"""The stage diagram of the page "How the code is organised", drawn from the import graph."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.patches import Arc


def stage_diagram(edges: pd.DataFrame, modules: pd.DataFrame):
    """Stages as boxes in pipeline order (module count inside); an arc for each pair of stages that import.

    Every arc joins a stage to an earlier one it imports from (data flow left to right);
    its number is the count of import statements. ``edges`` is
    :func:`ctxlib.book.architecture.stage_edges` (rows import columns); ``modules`` is
    :func:`ctxlib.book.architecture.module_table`.
    """
    stages = list(edges.index)
    x = {s: 2.0 * i for i, s in enumerate(stages)}
    counts = modules["stage"].value_counts()
    fig, ax = plt.subplots(figsize=(11, 4.6))
    for importer in stages:
        for imported in stages:
            n = int(edges.loc[importer, imported])
            if not n:
                continue
            left, right = sorted((x[importer], x[imported]))
            width, height = right - left, 0.55 * (right - left)
            ax.add_patch(Arc(((left + right) / 2, 0.4), width, height, theta1=0, theta2=180,
                             color="tab:red" if x[imported] > x[importer] else "0.45", lw=0.5 + 0.2 * n))
            ax.text((left + right) / 2, 0.4 + height / 2, str(n), ha="center", va="center", fontsize=9,
                    bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none"))
    for stage in stages:
        ax.text(x[stage], 0, f"{stage}\n{counts.get(stage, 0)} modules", ha="center", va="center", fontsize=11,
                bbox=dict(boxstyle="round,pad=0.5", facecolor="tab:blue", alpha=0.25, edgecolor="0.3"))
    ax.set(xlim=(-1.0, x[stages[-1]] + 1.0), ylim=(-0.6, 0.6 + 0.3 * x[stages[-1]]))
    ax.axis("off")
    ax.set_title("Stages in the order data flows; an arc joins a stage to an earlier one it imports "
                 "(number of import statements)", fontsize=10)
    fig.tight_layout()
    return fig
