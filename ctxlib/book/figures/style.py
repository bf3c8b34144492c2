"""Colours shared by the book's figures (context blocks, sublattices), and ``finish``, which
every figure function calls last so that its text is readable at page width.

A figure is shown at its natural size (one PNG pixel per CSS pixel at ``figure.dpi``) or,
when wider than the page's text column, scaled down to it. ``finish`` lays the figure
out, measures the width the inline backend will save (the tight bounding box), and
enlarges every text (tick labels, legends, titles, annotations) that would render
below ``MIN_RENDERED_PT`` until none does.
"""

from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

BLOCK_COLOURS = {"M": "tab:blue", "X": "tab:cyan", "D": "tab:purple", "detector": "tab:orange", "energy": "tab:green"}

#: The two sublattices (Okabe-Ito vermillion and blue).
SITE_COLOURS = ("#D55E00", "#0072B2")

#: The book's text column in CSS pixels at a 1280-pixel-wide window (sphinx-book-theme; the
#: rendered widths of the figures in ``make check-book``'s ``report.json``).
PAGE_WIDTH_PX = 676
#: The smallest text size on the rendered page, in CSS points (1 pt = 96/72 px).
MIN_RENDERED_PT = 9.0
#: The paper's values: one mark style in every figure, named "paper" in its legend.
PAPER_MARK = {"color": "k", "marker": "D", "s": 36, "zorder": 4, "label": "paper"}


def rendered_points_per_point(fig) -> float:
    """CSS points on the page per point of text in ``fig``, once the figure is scaled to the page."""
    if not hasattr(fig.canvas, "get_renderer"):  # a closed figure: draw it with Agg
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    width_px = fig.get_tightbbox(fig.canvas.get_renderer()).width * fig.dpi
    return min(1.0, PAGE_WIDTH_PX / width_px) * fig.dpi / 96


def _texts(fig) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip() and t.figure is fig]


def smallest_rendered_pt(fig) -> float:
    """The size of the smallest visible text of ``fig`` on the rendered page, in CSS points."""
    factor = rendered_points_per_point(fig)
    return min((t.get_fontsize() for t in _texts(fig)), default=MIN_RENDERED_PT / factor) * factor


def finish(fig, layout: bool = True):
    """Lay ``fig`` out (``tight_layout`` unless ``layout`` is False) and enlarge any text that would render too small."""
    for _ in range(4):
        if layout:
            fig.tight_layout()
        factor = rendered_points_per_point(fig)
        needed = MIN_RENDERED_PT / factor * 1.01
        tick_labels = set()
        enlarged = False
        for ax in fig.axes:
            for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
                labels = [t for t in axis.get_ticklabels(which="both") if t.get_visible() and t.get_text().strip()]
                tick_labels.update(map(id, axis.get_ticklabels(which="both")))
                if labels and min(t.get_fontsize() for t in labels) < needed:
                    ax.tick_params(axis=name, which="both", labelsize=needed)
                    enlarged = True
        for text in _texts(fig):
            if id(text) not in tick_labels and text.get_fontsize() < needed:
                text.set_fontsize(needed)
                enlarged = True
        if not enlarged:
            break
    return fig
