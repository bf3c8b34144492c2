"""The stage diagram of the page "How the code is organised", drawn from the import graph."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd


def stage_diagram(edges: pd.DataFrame, modules: pd.DataFrame):
    """Stages as boxes in pipeline order (module count inside), arrows for imports (count on each).

    ``edges`` is :func:`ctxlib.book.architecture.stage_edges` (rows import columns);
    ``modules`` is :func:`ctxlib.book.architecture.module_table`.
    """
    stages = list(edges.index)
    side = [s for s in stages if s == "ptycho"]
    main = [s for s in stages if s not in side]
    position = {s: (i * 2.2, 0.0) for i, s in enumerate(main)}
    position |= {s: (2.2, -2.2) for s in side}
    counts = modules["stage"].value_counts()
    fig, ax = plt.subplots(figsize=(12, 4.2 if side else 3.0))
    for importer in stages:
        for imported in stages:
            n = int(edges.loc[importer, imported])
            if not n:
                continue
            (x0, y0), (x1, y1) = position[importer], position[imported]
            bend = 0.35 * (abs(main.index(importer) - main.index(imported)) - 1) if importer in main and imported in main else 0
            ax.annotate("", xy=(x1, y1 + (0.45 if y0 == y1 else 0.35)), xytext=(x0, y0 + (0.45 if y0 == y1 else -0.35)),
                        arrowprops=dict(arrowstyle="-|>", color="0.45", lw=0.6 + 0.15 * n,
                                        connectionstyle=f"arc3,rad={-bend:.2f}"))
            ax.text((x0 + x1) / 2, max(y0, y1) + 0.55 + 0.9 * bend, str(n), ha="center", fontsize=8, color="0.3")
    for stage, (x, y) in position.items():
        ax.text(x, y, f"{stage}\n{counts.get(stage, 0)} modules", ha="center", va="center", fontsize=11,
                bbox=dict(boxstyle="round,pad=0.5", facecolor="tab:blue" if stage in main else "tab:orange",
                          alpha=0.25, edgecolor="0.3"))
    ax.set(xlim=(-1.2, 2.2 * (len(main) - 1) + 1.2), ylim=(-3.0 if side else -0.9, 3.2))
    ax.axis("off")
    ax.set_title("Data flow left to right; an arrow from a stage points to a stage it imports (number of imports)",
                 fontsize=10)
    fig.tight_layout()
    return fig
