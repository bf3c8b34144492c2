"""Figures of section 6, validation on micrographs (notebook 06): image panels, defect
maps (Fig. 6b), mean patches (Fig. 6c) and agreement bars beside Table 1.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
import numpy as np

from ctxlib.materials.motifs import CLASS_NAMES
from ctxlib.book.figures.style import finish
from ctxlib.micrographs.overlay import CLASS_COLOURS, CLASS_MARKERS, scale_bar


def defect_map(image: np.ndarray, predicted, truth, *, title: str = "", pixel_size: float | None = None):
    """Fig. 6b: predicted defects (filled markers) and true defects (open circles) on the micrograph, with a scale
    bar where ``pixel_size`` (Angstrom) is given.

    ``predicted`` has ``x``, ``y``, ``label``; ``truth`` has ``col``, ``row``, ``label``
    (pixels). Defects are labels 1 (single vacancy), 2 (double vacancy) and 4 (dopant).
    """
    fig, ax = plt.subplots(figsize=(7, 7 * image.shape[0] / image.shape[1]))
    ax.imshow(image, cmap="gray")
    for label in (1, 2, 4):
        mine = predicted[predicted["label"] == label]
        ax.scatter(mine["x"], mine["y"], s=10, color=CLASS_COLOURS[label], marker=CLASS_MARKERS[label],
                   label=f"predicted {CLASS_NAMES[label]}")
        true = truth[truth["label"] == label]
        ax.scatter(true["col"], true["row"], s=90, facecolors="none", edgecolors=CLASS_COLOURS[label], linewidths=1,
                   label=f"true {CLASS_NAMES[label]}")
    ax.set(title=title, xticks=[], yticks=[], xlim=(0, image.shape[1] - 1), ylim=(image.shape[0] - 1, 0))
    if pixel_size is not None:
        scale_bar(ax, pixel_size)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return finish(fig)


def mean_patches(patches: dict[str, np.ndarray]):
    """Fig. 6c: the mean patch of each class (``{class name: (n, size, size) patches}``), with the count."""
    fig, axes = plt.subplots(1, len(patches), figsize=(2.2 * len(patches), 2.5), squeeze=False)
    for ax, (name, stack) in zip(axes[0], patches.items()):
        if len(stack):
            ax.imshow(stack.mean(axis=0), cmap="gray")
        ax.set(title=f"{name} (n = {len(stack)})", xticks=[], yticks=[])
    return finish(fig)


def validation_bars(scores, paper, *, detectors: tuple[str, ...] = ("HAADF", "MAADF")):
    """Figs. 6d-f: Cohen's kappa and the F1 of each defect class per model and detector, paper's as ticks.

    ``scores`` and ``paper`` are indexed by model with columns like ``kappa HAADF`` and
    ``F1 single vacancy MAADF``.
    """
    panels = ["kappa", "F1 single vacancy", "F1 double vacancy", "F1 dopant"]
    fig, axes = plt.subplots(2, 2, figsize=(9, 7.2), sharey=True)
    axes = axes.ravel()
    x = np.arange(len(scores))
    for ax, panel in zip(axes, panels):
        for k, detector in enumerate(detectors):
            column = f"{panel} {detector}"
            offset = (k - 0.5) * 0.38
            ax.bar(x + offset, scores[column], 0.38, label=f"{detector} (ours)")
            if column in paper:
                ax.scatter(x + offset, paper[column].reindex(scores.index), marker="_", s=250, color="k", zorder=3)
        ax.set_xticks(x, scores.index, rotation=40, fontsize=9, ha="right")
        ax.set(title=panel, ylim=(0, 1.05))
    axes[0].set_ylabel("score")
    axes[2].set_ylabel("score")
    handles, labels = axes[0].get_legend_handles_labels()
    handles.append(Line2D([], [], marker="_", markersize=14, color="k", linestyle="none"))
    labels.append("paper (Table 1)")
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    fig.legend(handles, labels, fontsize=9, loc="upper center", ncol=3, bbox_to_anchor=(0.5, 1.0),
               frameon=False)  # outside the data
    return finish(fig, layout=False)


def site_finding_bars(table, title: str = ""):
    """Share of true sites found by peak picking alone and by the lattice model, per stand-in and detector.

    ``table`` is indexed by (stand-in, detector) with columns ``peak picking`` and ``found (bulk)``.
    """
    fig, ax = plt.subplots(figsize=(6.8, 3.6))
    x = np.arange(len(table))
    ax.bar(x - 0.2, table["peak picking"], 0.4, color="tab:gray", label="peak picking alone")
    ax.bar(x + 0.2, table["found (bulk)"], 0.4, color="tab:blue", label="lattice model (away from boundaries, holes)")
    ax.axhline(0.99, color="k", lw=0.8, ls=":", label="target 99 %")
    ax.set_xticks(x, [f"{case} {det}" for case, det in table.index], fontsize=9, rotation=40, ha="right")
    ax.set(ylabel="share of true sites found", ylim=(0, 1.05), title=title)
    ax.legend(fontsize=9, loc="lower center", bbox_to_anchor=(0.5, 1.02), ncol=2, frameon=False)
    return finish(fig)


def image_panels(images: dict[str, np.ndarray], ncols: int = 4, *, pixel_size: float | None = None):
    """Micrographs side by side, one titled panel each, with scale bars where ``pixel_size`` (Angstrom) is given."""
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.6 * ncols, 2.8 * nrows), squeeze=False)
    for ax, (title, image) in zip(axes.ravel(), images.items()):
        ax.imshow(image, cmap="gray")
        ax.set(title=title, xticks=[], yticks=[])
        if pixel_size is not None:
            scale_bar(ax, pixel_size)
    for ax in axes.ravel()[len(images):]:
        ax.axis("off")
    return finish(fig)
