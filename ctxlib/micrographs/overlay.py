"""The overlay of a classified micrograph (Fig. 6b): what `ctxlib classify` saves beside its CSV.

In: the image and the per-column table of :func:`ctxlib.micrographs.classify.classify_image`
(and, optionally, the crystal mask). Out: a Matplotlib figure with every column marked by its
class (defects larger, open, each with its own marker; colours of Okabe and Ito's
colour-blind-safe set), ``uncertain`` columns as crosses, the edge of the crystal mask as a
line, columns on a domain boundary crossed, columns whose patch was completed at the image edge
in a square, a tint per domain where there is more than one, and a scale bar.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ctxlib.materials.motifs import CLASS_NAMES

#: Colour and marker per class, the one palette of the tool and the book (Okabe-Ito: distinguishable with every
#: common colour-vision deficiency, and by marker without colour); in overlays the pristine classes are small
#: and filled, the defects larger and open.
OVERLAY_STYLE = {"X2": ("#56B4E9", "o"), "VacX": ("#E69F00", "v"), "VacX2": ("#D55E00", "s"), "M": ("#0072B2", "o"),
                 "D": ("#009E73", "D"), "uncertain": ("#CC79A7", "x")}
#: The five classes' colours and markers, in the order of :data:`ctxlib.materials.motifs.CLASS_NAMES`.
CLASS_COLOURS = tuple(OVERLAY_STYLE[name][0] for name in CLASS_NAMES)
CLASS_MARKERS = tuple(OVERLAY_STYLE[name][1] for name in CLASS_NAMES)
DOMAIN_TINTS = ("none", "#ff00ff", "#00ffff", "#ffff00")


def scale_bar(ax, pixel_size: float) -> None:
    """A white scale bar of a round length, about a fifth of the visible width, at the lower left of ``ax``.

    Works for any orientation and zoom of an image drawn in pixel coordinates (``imshow`` without
    ``extent``): the length is chosen from the axes' current x limits.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Axes showing an image in pixel coordinates.
    pixel_size : float
        Angstrom per pixel.
    """
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    width_a = abs(np.diff(ax.get_xlim())[0]) * pixel_size
    lengths_a = np.array([1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0])
    length = float(lengths_a[np.argmin(np.abs(np.log(lengths_a / (width_a / 5))))])
    label = f"{length / 10:g} nm" if length >= 10 else f"{length:g} \u00c5"
    thickness = 0.012 * abs(np.diff(ax.get_ylim())[0])
    ax.add_artist(AnchoredSizeBar(ax.transData, length / pixel_size, label, "lower left", pad=0.4, color="white",
                                  frameon=False, size_vertical=thickness, fontproperties={"size": 10},
                                  label_top=True, sep=3))


def classification_overlay(image: np.ndarray, table, *, title: str = "", mask: np.ndarray | None = None,
                           pixel_size: float | None = None):
    """Fig. 6b: the micrograph with every classified column marked by its class.

    Parameters
    ----------
    image : numpy.ndarray, 2-D
    table : pandas.DataFrame
        ``x``, ``y`` (pixels) and ``label`` (0-4) per column, and optionally ``class`` (where
        ``"uncertain"`` is drawn as such), ``edge``, ``boundary`` and ``domain``, as written by
        :func:`ctxlib.micrographs.classify.classify_image`.
    title : str
    mask : numpy.ndarray of bool, optional
        The crystal mask, same shape as ``image``; its edge is drawn.
    pixel_size : float, optional
        Angstrom per pixel: draws a scale bar.
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
    names = table["class"] if "class" in table else np.array(CLASS_NAMES)[table["label"]]
    for name, (colour, marker) in OVERLAY_STYLE.items():
        rows = table[np.asarray(names == name)]
        small = name in ("X2", "M")
        ax.scatter(rows["x"], rows["y"], s=5 if small else 40, marker=marker,
                   facecolors=colour if small or marker == "x" else "none",
                   edgecolors=None if marker == "x" else colour, linewidths=1.4, label=f"{name} ({len(rows)})")
    if "boundary" in table and table["boundary"].any():
        rows = table[table["boundary"]]
        ax.scatter(rows["x"], rows["y"], s=20, marker="+", c="white", linewidths=0.8,
                   label=f"domain boundary ({len(rows)})")
    if "edge" in table and table["edge"].any():
        rows = table[table["edge"]]
        ax.scatter(rows["x"], rows["y"], s=30, marker="s", facecolors="none", edgecolors="white", linewidths=0.6,
                   label=f"edge, reflected patch ({len(rows)})")
    if mask is not None and not mask.all():
        ax.plot([], [], "w--", label="crystal mask edge")
    ax.set(xticks=[], yticks=[], xlim=(-0.5, image.shape[1] - 0.5), ylim=(image.shape[0] - 0.5, -0.5))
    ax.set_title(title, fontsize=10)
    if pixel_size:
        scale_bar(ax, pixel_size)
    ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, facecolor="0.25",
              labelcolor="white", framealpha=1.0)  # dark, like the image, so that light markers show
    fig.tight_layout()
    return fig
