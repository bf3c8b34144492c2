"""Figures of section 5, training (notebook 03): architecture diagrams (Figs. 5a-c,
S10-S12), accuracy beside the paper's (Fig. 5d), training curves and confusion matrices.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ctxlib.materials.motifs import CLASS_NAMES


def architecture_diagrams(descriptions: dict[str, list[str]], parameters: dict[str, int]):
    """Figs. 5a, S10-S12: each model as a stack of boxes, input at the top."""
    fig, axes = plt.subplots(1, len(descriptions), figsize=(3.9 * len(descriptions), 6.5))
    for ax, (name, lines) in zip(np.atleast_1d(axes), descriptions.items()):
        n = len(lines)
        for k, line in enumerate(lines):
            y = 1 - (k + 0.5) / n
            colour = "lightcyan" if "softmax(Q" in line else "moccasin" if "layer" in line else "whitesmoke"
            ax.text(0.5, y, line, ha="center", va="center", fontsize=7, wrap=True,
                    bbox={"boxstyle": "round", "facecolor": colour, "edgecolor": "gray"})
            if k:
                ax.annotate("", (0.5, y + 0.32 / n), (0.5, y + 0.68 / n), arrowprops={"arrowstyle": "->", "color": "gray"})
        ax.set_title(f"{name}\n{parameters[name]:,} parameters", fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    return fig


def accuracy_chart(table, paper: dict[str, float]):
    """Fig. 5d: train and test accuracy (%) per model; the paper's test accuracy as a black tick.

    ``table`` is indexed by model with columns ``train`` and ``test`` (fractions).
    """
    fig, ax = plt.subplots(figsize=(9, 3.8))
    x = np.arange(len(table))
    for k, part in enumerate(("train", "test")):
        bars = ax.bar(x + (k - 0.5) * 0.38, 100 * table[part], 0.38, label=f"{part} (ours)")
        ax.bar_label(bars, [f"{100 * v:.1f}" for v in table[part]], fontsize=7)
    ax.scatter(x, [paper.get(m, np.nan) for m in table.index], marker="_", s=900, color="k", zorder=3,
               label="paper (test)")
    ax.set_xticks(x, table.index)
    ax.set(ylabel="accuracy (%)", ylim=(50, 101))
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return fig


def training_curves(histories: dict[str, list[dict]]):
    """Loss and running accuracy per epoch of every model (training mode, over the epoch's batches)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    for name, history in histories.items():
        epochs = [h["epoch"] for h in history]
        axes[0].plot(epochs, [h["loss"] for h in history], marker=".", label=name)
        axes[1].plot(epochs, [100 * h["accuracy"] for h in history], marker=".", label=name)
    axes[0].set(xlabel="epoch", ylabel="cross-entropy (nats)", yscale="log")
    axes[1].set(xlabel="epoch", ylabel="running train accuracy (%)")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def confusion_matrices(matrices: dict[str, np.ndarray]):
    """Row-normalised confusion matrices (true class in rows), one panel per model."""
    fig, axes = plt.subplots(1, len(matrices), figsize=(3.6 * len(matrices), 3.5), squeeze=False)
    for ax, (name, counts) in zip(axes[0], matrices.items()):
        share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for (i, j), value in np.ndenumerate(share):
            ax.text(j, i, f"{100 * value:.0f}", ha="center", va="center", fontsize=8,
                    color="white" if value > 0.6 else "black")
        ax.set_xticks(range(len(CLASS_NAMES)), CLASS_NAMES, fontsize=8)
        ax.set_yticks(range(len(CLASS_NAMES)), CLASS_NAMES, fontsize=8)
        ax.set(title=name, xlabel="predicted")
    axes[0, 0].set_ylabel("true (row %)")
    fig.tight_layout()
    return fig
