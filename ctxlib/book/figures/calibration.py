"""Figures of section 5, entropy and calibration (notebook 04): posterior entropy
(Fig. 5e), UMAP embeddings (Figs. 5f-h, S13, S14), reliability diagrams (Fig. S15) and
confidence histograms (Fig. S16).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ctxlib.book.figures.style import PAPER_MARK, finish
from ctxlib.materials.motifs import CLASS_NAMES
from ctxlib.micrographs.overlay import CLASS_COLOURS, CLASS_MARKERS


def entropy_chart(entropies: dict[str, float], paper_without: float, paper_with: float):
    """Fig. 5e: mean posterior entropy (nats) per model beside the paper's two values.

    Horizontal bars, each model's value written beside its name, clear of every line;
    the paper's value without context is a black diamond on MLP-NoContext's bar, its mean
    with context a black dash-dotted segment across the five context-aware models, ours
    an orange dashed one.
    """
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    names = list(entropies)
    y = np.arange(len(names))
    ax.barh(y, [entropies[n] for n in names], color=["tab:gray"] + ["tab:blue"] * (len(names) - 1))
    ax.set_yticks(y, [f"{n}  {entropies[n]:.3f}" for n in names])
    context_mean = np.mean([entropies[n] for n in names[1:]])
    span = (0.6, len(names) - 0.4)
    ax.vlines(context_mean, *span, color="tab:orange", ls="--", lw=1.5, label=f"ours, mean with context: {context_mean:.4f}")
    ax.vlines(paper_with, *span, color="k", ls="-.", lw=1.5, label=f"paper, mean with context: {paper_with}")
    ax.scatter([paper_without], [0], **{**PAPER_MARK, "label": f"paper, no context: {paper_without}"})
    ax.axvline(np.log(5), color="tab:red", lw=0.8, label="ln 5 (uniform over 5 classes)")
    ax.set(xlabel="mean posterior entropy (nats)", xlim=(0, 1.75), ylim=(len(names) - 0.4, -0.6))
    ax.legend(loc="upper center", bbox_to_anchor=(0.4, -0.22), ncol=2)
    return finish(fig)


def embedding_grid(embeddings: dict[str, np.ndarray], labels: np.ndarray, *, ncols: int = 3):
    """Figs. 5f-h, S13-S14: 2-D embeddings (e.g. UMAP) coloured by true class, one panel each; legend below."""
    nrows = -(-len(embeddings) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3 * ncols, 2.9 * nrows), squeeze=False)
    for ax, (title, points) in zip(axes.ravel(), embeddings.items()):
        for k, name in enumerate(CLASS_NAMES):
            mine = labels == k
            ax.scatter(points[mine, 0], points[mine, 1], s=2, color=CLASS_COLOURS[k], marker=CLASS_MARKERS[k], label=name,
                       rasterized=True)
        ax.set(title=title, xticks=[], yticks=[])
    for ax in axes.ravel()[len(embeddings):]:
        ax.axis("off")
    finish(fig)
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, names, markerscale=5, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=len(CLASS_NAMES),
               title="true class")
    return finish(fig, layout=False)


def calibration_figure(ece: dict[str, float], reliability: dict[str, object]):
    """Fig. S15 (ECE per model) beside the reliability diagrams (accuracy against confidence per bin)."""
    fig, axes = plt.subplots(2, 1, figsize=(7, 7.5))
    bars = axes[0].bar(list(ece), list(ece.values()), color="tab:purple")
    axes[0].bar_label(bars, [f"{v:.4f}" for v in ece.values()])
    axes[0].set(ylabel="expected calibration error", ylim=(0, 1.15 * max(ece.values())))
    axes[0].tick_params(axis="x", rotation=20)
    for name, table in reliability.items():
        used = table["count"] > 0
        axes[1].plot(table.loc[used, "confidence"], table.loc[used, "accuracy"], marker=".", label=name)
    axes[1].plot([0, 1], [0, 1], color="k", lw=0.8, ls="--", label="perfect calibration")
    axes[1].set(xlabel="mean confidence in bin", ylabel="accuracy in bin", xlim=(0.2, 1.01), ylim=(0, 1.01))
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    return finish(fig)


def confidence_histograms(probabilities: dict[str, np.ndarray], ncols: int = 3):
    """Fig. S16: histograms of the top-class probability (confidence), one panel per model, log counts."""
    nrows = -(-len(probabilities) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3 * ncols, 2.6 * nrows), squeeze=False, sharex=True, sharey=True)
    for ax, (name, p) in zip(axes.ravel(), probabilities.items()):
        ax.hist(p.max(axis=1), bins=np.linspace(0.2, 1, 41), color="tab:blue")
        ax.set(title=name, yscale="log")
    for ax in axes[:, 0]:
        ax.set_ylabel("test rows")
    for ax in axes[-1]:
        ax.set_xlabel("confidence (top-class prob.)")
    for ax in axes.ravel()[len(probabilities):]:
        ax.axis("off")
    return finish(fig)
