"""The overlay of a classified micrograph (Fig. 6b): what `ctxlib classify` saves beside its CSV.

In: the image and the per-column table of :func:`ctxlib.micrographs.classify.classify_image`.
Out: a Matplotlib figure with every column marked by its class (defects larger).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ctxlib.materials.motifs import CLASS_NAMES

CLASS_COLOURS = ("tab:gray", "tab:orange", "tab:red", "tab:blue", "tab:green")


def classification_overlay(image: np.ndarray, table, title: str = ""):
    """Fig. 6b: the micrograph with every classified column marked by its class (defects larger).

    ``table`` has ``x``, ``y`` (pixels) and ``label`` (0-4) per column, as written by
    :func:`ctxlib.micrographs.classify.classify_image`.
    """
    fig, ax = plt.subplots(figsize=(7, 7 * image.shape[0] / image.shape[1]))
    ax.imshow(image, cmap="gray")
    for k, name in enumerate(CLASS_NAMES):
        rows = table[table["label"] == k]
        defect = name in ("VacX", "VacX2", "D")
        ax.scatter(rows["x"], rows["y"], s=28 if defect else 4, facecolors="none" if defect else CLASS_COLOURS[k],
                   edgecolors=CLASS_COLOURS[k], linewidths=1.2, label=f"{name} ({len(rows)})")
    ax.set(title=title, xticks=[], yticks=[])
    ax.legend(fontsize=7, loc="upper right", framealpha=0.8)
    fig.tight_layout()
    return fig
