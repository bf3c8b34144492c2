"""Figures of the real-micrograph page (notebook 08): what the classifier says on a real image, where it says it
does not know, and how accuracy grows as the columns it doubts are set aside.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ctxlib.book.figures.style import finish
from ctxlib.micrographs.overlay import OVERLAY_STYLE, scale_bar

#: Why a column is uncertain, and its colour and marker on the trust map (Okabe-Ito).
TRUST_STYLE = {"trusted": ("#999999", "."), "models disagree": ("#E69F00", "o"),
               "unlike the training data": ("#CC79A7", "x"), "baseline differs": ("#0072B2", "s")}


def trust_reasons(table) -> np.ndarray:
    """Per column of a ``classify`` table, the first reason of :data:`TRUST_STYLE` that applies."""
    reason = np.full(len(table), "trusted", dtype=object)
    reason[(table["intensity_class"] != table["vote"]).to_numpy()] = "baseline differs"
    reason[(table["uncertain"] & ~table["outlier"]).to_numpy()] = "models disagree"
    reason[table["outlier"].to_numpy()] = "unlike the training data"
    return reason


def real_image_panels(image: np.ndarray, table, pixel_size: float, *, crop: int = 384):
    """The central ``crop`` pixels of a classified real image: the vote's classes (left) and the trust map (right):
    columns the ensemble doubts, by reason, and where the intensity baseline differs from the vote."""
    rows, cols = image.shape
    top, left = (rows - min(crop, rows)) // 2, (cols - min(crop, cols)) // 2
    window = image[top: top + crop, left: left + crop]
    inside = table[(table["y"] >= top) & (table["y"] < top + crop) & (table["x"] >= left) & (table["x"] < left + crop)]
    x, y = inside["x"] - left, inside["y"] - top
    fig, axes = plt.subplots(1, 2, figsize=(11, 6.2))
    for ax in axes:
        ax.imshow(window, cmap="gray")
        ax.set(xticks=[], yticks=[], xlim=(-0.5, window.shape[1] - 0.5), ylim=(window.shape[0] - 0.5, -0.5))
        scale_bar(ax, pixel_size)
    for name, (colour, marker) in OVERLAY_STYLE.items():
        mine = (inside["class"] == name).to_numpy()
        small = name in ("X2", "M")
        axes[0].scatter(x[mine], y[mine], s=6 if small else 40, marker=marker,
                        facecolors=colour if small or marker == "x" else "none",
                        edgecolors=None if marker == "x" else colour, linewidths=1.4, label=f"{name} ({mine.sum()})")
    reasons = trust_reasons(inside)
    for name, (colour, marker) in TRUST_STYLE.items():
        mine = reasons == name
        axes[1].scatter(x[mine], y[mine], s=6 if name == "trusted" else 36, marker=marker,
                        facecolors=colour if marker in ".x" else "none", edgecolors=None if marker in ".x" else colour,
                        linewidths=1.4, label=f"{name} ({mine.sum()})")
    axes[0].set_title("classes (vote of the five models)", fontsize=11)
    axes[1].set_title("where not to trust it", fontsize=11)
    for ax in axes:
        ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.01), ncol=3, frameon=False,
                  handletextpad=0.2, columnspacing=0.8)
    return finish(fig)


def selective_accuracy_plot(curves: dict, operating: dict):
    """Accuracy of the columns kept against the share set aside, one line per set (``{name: selective_accuracy
    table}``), with each set's default operating point (``{name: (share set aside, accuracy)}``) marked."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    colours = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
    for (name, curve), colour in zip(curves.items(), colours):
        ax.plot(100 * curve["set aside"], 100 * curve["accuracy"], color=colour, label=name)
        if name in operating:
            aside, accuracy = operating[name]
            ax.scatter([100 * aside], [100 * accuracy], color=colour, marker="D", s=40, zorder=3)
    ax.scatter([], [], color="k", marker="D", s=40, label="ctxlib classify's default")
    ax.set(xlabel="columns set aside as least confident (%)", ylabel="accuracy of the columns kept (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, loc="center right")
    return finish(fig)


def gap_heatmaps(gaps: dict):
    """Median shift of each class's columns from the training motifs, moment by moment (``{title: feature_gap
    table}``), one panel per image, on one diverging scale (blue below the training data, red above)."""
    fig, axes = plt.subplots(1, len(gaps), figsize=(4.6 * len(gaps), 3.6), squeeze=False, layout="constrained")
    limit = max(3.0, max(float(np.abs(g.drop(columns="columns").to_numpy()).max()) for g in gaps.values()))
    for ax, (title, gap) in zip(axes[0], gaps.items()):
        values = gap.drop(columns="columns")
        image = ax.imshow(values.to_numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
        ax.set_xticks(range(values.shape[1]), [c.split(":")[-1] for c in values.columns], rotation=45, ha="right")
        ax.set_yticks(range(len(values)), [f"{c} ({n})" for c, n in zip(values.index, gap["columns"])])
        for (i, j), value in np.ndenumerate(values.to_numpy()):
            ax.text(j, i, f"{value:.1f}", ha="center", va="center", fontsize=9,
                    color="white" if abs(value) > 0.6 * limit else "black")
        ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=axes[0].tolist(), label="shift (training standard deviations)", shrink=0.9)
    return finish(fig, layout=False)


def effect_plot(scores):
    """F1 of each defect class with its 95 % interval, one row per effect of real micrographs
    (:func:`ctxlib.micrographs.validation.effect_scores`), in the class colours and markers of the overlays."""
    defects = {"single vacancy": "VacX", "double vacancy": "VacX2", "dopant": "D"}
    fig, ax = plt.subplots(figsize=(7.5, 0.42 * len(scores) + 1.4))
    rows = np.arange(len(scores))
    for k, (name, label) in enumerate(defects.items()):
        colour, marker = OVERLAY_STYLE[label]
        f1 = scores[f"{name} F1"].to_numpy(float)
        errors = [f1 - scores[f"{name} 95 % low"].to_numpy(float), scores[f"{name} 95 % high"].to_numpy(float) - f1]
        ax.errorbar(f1, rows + (k - 1) * 0.22, xerr=errors, fmt=marker, color=colour, mfc="none" if marker != "x" else colour,
                    capsize=2, label=f"{name} ({label})")
    ax.axvline(0.98, color="#555555", linestyle=":", label="aim (0.98)")
    ax.set_yticks(rows, list(scores.index))
    ax.invert_yaxis()
    ax.set_xlabel("F1 of the vote on the stand-ins (95 % bootstrap interval)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=4, frameon=False)
    return finish(fig)
