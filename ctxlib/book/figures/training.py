"""Figures of section 5, training (notebook 03): architecture diagrams (Figs. 5a-c,
S10-S12), accuracy beside the paper's (Fig. 5d), training curves and confusion matrices.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ctxlib.book.figures.style import PAPER_MARK, finish
from ctxlib.materials.motifs import CLASS_NAMES


def architecture_diagrams(descriptions: dict[str, list[str]], parameters: dict[str, int], *, ncols: int = 2):
    """Figs. 5a, S10-S12: each model as a stack of boxes, input at the top; ``ncols`` models per row."""
    names = list(descriptions)
    rows = [names[k:k + ncols] for k in range(0, len(names), ncols)]
    tallest = [max(len(descriptions[n]) for n in row) for row in rows]
    fig, axes = plt.subplots(len(rows), ncols, figsize=(9, sum(0.9 + 0.42 * n for n in tallest)), squeeze=False,
                             gridspec_kw={"height_ratios": [0.9 + 0.42 * n for n in tallest]})
    for r, row in enumerate(rows):
        for ax, name in zip(axes[r], row):
            lines, n = descriptions[name], tallest[r]
            for k, line in enumerate(lines):
                y = 1 - (k + 0.5) / n
                colour = "lightcyan" if "softmax(Q" in line else "moccasin" if "layer" in line else "whitesmoke"
                ax.text(0.5, y, line, ha="center", va="center", fontsize=10, wrap=True,
                        bbox={"boxstyle": "round", "facecolor": colour, "edgecolor": "gray"})
                if k:
                    ax.annotate("", (0.5, y + 0.3 / n), (0.5, y + 0.7 / n), arrowprops={"arrowstyle": "->", "color": "gray"})
            ax.set_ylim(0, 1)
            ax.set_title(f"{name}\n{parameters[name]:,} parameters", fontsize=11)
    for ax in axes.ravel():
        ax.axis("off")
    return finish(fig)


def accuracy_chart(table, paper: dict[str, float]):
    """Fig. 5d: train and test accuracy (%) per model; the paper's test accuracy as a black diamond.

    ``table`` is indexed by model with columns ``train`` and ``test`` (fractions). The values
    are written inside the bars, clear of the paper's marks at the bar tops.
    """
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    x = np.arange(len(table))
    for k, part in enumerate(("train", "test")):
        bars = ax.bar(x + (k - 0.5) * 0.38, 100 * table[part], 0.38, label=f"{part} (ours)")
        ax.bar_label(bars, [f"{100 * v:.1f}" for v in table[part]], label_type="center", rotation=90, color="white")
    ax.scatter(x + 0.19, [paper.get(m, np.nan) for m in table.index], **{**PAPER_MARK, "label": "paper (test)"})
    ax.set_xticks(x, table.index, rotation=20, ha="right")
    ax.set(ylabel="accuracy (%)", ylim=(50, 101))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    return finish(fig)


def training_curves(histories: dict[str, list[dict]]):
    """Loss and running accuracy per epoch of every model (training mode, over the epoch's batches)."""
    fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.4))
    for name, history in histories.items():
        epochs = [h["epoch"] for h in history]
        axes[0].plot(epochs, [h["loss"] for h in history], marker=".", label=name)
        axes[1].plot(epochs, [100 * h["accuracy"] for h in history], marker=".", label=name)
    axes[0].set(xlabel="epoch", ylabel="cross-entropy (nats)", yscale="log")
    axes[1].set(xlabel="epoch", ylabel="running train accuracy (%)")
    finish(fig)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3)
    return finish(fig, layout=False)


def confusion_matrices(matrices: dict[str, np.ndarray]):
    """Row-normalised confusion matrices (true class in rows), one panel per model."""
    fig, axes = plt.subplots(1, len(matrices), figsize=(3 * len(matrices), 3.3), squeeze=False)
    for ax, (name, counts) in zip(axes[0], matrices.items()):
        share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for (i, j), value in np.ndenumerate(share):
            ax.text(j, i, f"{100 * value:.0f}", ha="center", va="center", fontsize=8,
                    color="white" if value > 0.6 else "black")
        ax.set_xticks(range(len(CLASS_NAMES)), CLASS_NAMES, fontsize=8)
        ax.set_yticks(range(len(CLASS_NAMES)), CLASS_NAMES, fontsize=8)
        ax.set(title=name, xlabel="predicted")
        ax.tick_params(axis="x", rotation=45)
    axes[0, 0].set_ylabel("true (row %)")
    return finish(fig)
