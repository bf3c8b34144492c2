"""The overlay of a classified micrograph (Fig. 6b): what `ctxlib classify` saves beside its CSV.

In: the image and the per-column table of :func:`ctxlib.micrographs.classify.classify_image`
(and, optionally, the crystal mask). Out: a Matplotlib figure with every column marked by its
class (defects larger, open), the edge of the crystal mask as a line, columns on a domain
boundary crossed, columns completed by reflection at the image edge in a square, and a tint
per domain where there is more than one.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ctxlib.materials.motifs import CLASS_NAMES

CLASS_COLOURS = ("tab:gray", "tab:orange", "tab:red", "tab:blue", "tab:green")
#: Overlay colours per class: the pristine classes in light colours that stand out on grey columns.
OVERLAY_COLOURS = {"X2": "#7fd4ff", "VacX": "tab:orange", "VacX2": "tab:red", "M": "#ffe066", "D": "#33dd33"}
DOMAIN_TINTS = ("none", "#ff00ff", "#00ffff", "#ffff00")


def classification_overlay(image: np.ndarray, table, title: str = "", mask: np.ndarray | None = None):
    """Fig. 6b: the micrograph with every classified column marked by its class.

    Parameters
    ----------
    image : numpy.ndarray, 2-D
    table : pandas.DataFrame
        ``x``, ``y`` (pixels) and ``label`` (0-4) per column, and optionally ``edge``,
        ``boundary`` and ``domain``, as written by :func:`ctxlib.micrographs.classify.classify_image`.
    title : str
    mask : numpy.ndarray of bool, optional
        The crystal mask, same shape as ``image``; its edge is drawn.
    """
    fig, ax = plt.subplots(figsize=(7.5, 7.5 * image.shape[0] / image.shape[1]))
    ax.imshow(image, cmap="gray")
    if mask is not None and not mask.all():
        ax.contour(mask.astype(float), levels=[0.5], colors="white", linewidths=1.0, linestyles="--")
    if "domain" in table and table["domain"].nunique() > 1:
        for d, rows in table.groupby("domain"):
            if d > 0:
                ax.scatter(rows["x"], rows["y"], s=60, c=DOMAIN_TINTS[d % len(DOMAIN_TINTS)], alpha=0.15,
                           linewidths=0)
    for k, name in enumerate(CLASS_NAMES):
        rows = table[table["label"] == k]
        defect = name in ("VacX", "VacX2", "D")
        colour = OVERLAY_COLOURS[name]
        ax.scatter(rows["x"], rows["y"], s=36 if defect else 5, facecolors="none" if defect else colour,
                   edgecolors=colour, linewidths=1.4, label=f"{name} ({len(rows)})")
    if "boundary" in table and table["boundary"].any():
        rows = table[table["boundary"]]
        ax.scatter(rows["x"], rows["y"], s=20, marker="x", c="magenta", linewidths=0.8,
                   label=f"domain boundary ({len(rows)})")
    if "edge" in table and table["edge"].any():
        rows = table[table["edge"]]
        ax.scatter(rows["x"], rows["y"], s=30, marker="s", facecolors="none", edgecolors="white", linewidths=0.6,
                   label=f"edge, reflected patch ({len(rows)})")
    if mask is not None and not mask.all():
        ax.plot([], [], "w--", label="crystal mask edge")
    ax.set(title=title, xticks=[], yticks=[], xlim=(-0.5, image.shape[1] - 0.5), ylim=(image.shape[0] - 0.5, -0.5))
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, facecolor="0.25",
              labelcolor="white", framealpha=1.0)  # dark, like the image, so that light markers show
    fig.tight_layout()
    return fig
