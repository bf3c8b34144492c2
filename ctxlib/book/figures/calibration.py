"""Figures of section 5, entropy and calibration (notebook 04): posterior entropy
(Fig. 5e), UMAP embeddings (Figs. 5f-h, S13, S14), reliability diagrams (Fig. S15) and
confidence histograms (Fig. S16).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ctxlib.materials.motifs import CLASS_NAMES
from ctxlib.micrographs.overlay import CLASS_COLOURS


def entropy_chart(entropies: dict[str, float], paper_without: float, paper_with: float):
    """Fig. 5e: mean posterior entropy (nats) per model, with the paper's two values as dashed lines."""
    fig, ax = plt.subplots(figsize=(8.5, 3.6))
    names = list(entropies)
    bars = ax.bar(names, [entropies[n] for n in names], color=["tab:gray"] + ["tab:blue"] * (len(names) - 1))
    ax.bar_label(bars, [f"{entropies[n]:.3f}" for n in names], fontsize=8)
    context_mean = np.mean([entropies[n] for n in names[1:]])
    ax.axhline(context_mean, color="tab:orange", ls="--", label=f"ours, mean with context: {context_mean:.4f}")
    ax.axhline(paper_without, color="k", ls=":", label=f"paper, no context: {paper_without}")
    ax.axhline(paper_with, color="k", ls="-.", label=f"paper, mean with context: {paper_with}")
    ax.axhline(np.log(5), color="tab:red", lw=0.8, label="ln 5 (uniform over 5 classes)")
    ax.set(ylabel="mean posterior entropy (nats)", ylim=(0, 1.75))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def embedding_grid(embeddings: dict[str, np.ndarray], labels: np.ndarray, ncols: int = 4):
    """Figs. 5f-h, S13-S14: 2-D embeddings (e.g. UMAP) coloured by true class, one panel each."""
    nrows = -(-len(embeddings) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 3.5 * nrows), squeeze=False)
    for ax, (title, points) in zip(axes.ravel(), embeddings.items()):
        for k, name in enumerate(CLASS_NAMES):
            mine = labels == k
            ax.scatter(points[mine, 0], points[mine, 1], s=2, color=CLASS_COLOURS[k], label=name, rasterized=True)
        ax.set(title=title, xticks=[], yticks=[])
    for ax in axes.ravel()[len(embeddings):]:
        ax.axis("off")
    axes[0, 0].legend(markerscale=5, fontsize=8)
    fig.tight_layout()
    return fig


def calibration_figure(ece: dict[str, float], reliability: dict[str, object]):
    """Fig. S15 (ECE per model) beside the reliability diagrams (accuracy against confidence per bin)."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    bars = axes[0].bar(list(ece), list(ece.values()), color="tab:purple")
    axes[0].bar_label(bars, [f"{v:.4f}" for v in ece.values()], fontsize=8)
    axes[0].set(ylabel="expected calibration error")
    axes[0].tick_params(axis="x", rotation=30)
    for name, table in reliability.items():
        used = table["count"] > 0
        axes[1].plot(table.loc[used, "confidence"], table.loc[used, "accuracy"], marker=".", label=name)
    axes[1].plot([0, 1], [0, 1], color="k", lw=0.8, ls="--", label="perfect calibration")
    axes[1].set(xlabel="mean confidence in bin", ylabel="accuracy in bin", xlim=(0.2, 1.01), ylim=(0, 1.01))
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def confidence_histograms(probabilities: dict[str, np.ndarray], ncols: int = 3):
    """Fig. S16: histograms of the top-class probability (confidence), one panel per model, log counts."""
    nrows = -(-len(probabilities) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4 * ncols, 2.8 * nrows), squeeze=False, sharex=True)
    for ax, (name, p) in zip(axes.ravel(), probabilities.items()):
        ax.hist(p.max(axis=1), bins=np.linspace(0.2, 1, 41), color="tab:blue")
        ax.set(title=name, yscale="log")
    for ax in axes[-1]:
        ax.set_xlabel("confidence (top-class probability)")
    fig.tight_layout()
    return fig
