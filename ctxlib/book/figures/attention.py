"""Figures of section 6, attention (notebook 05): grids of attention maps (Fig. S17).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ctxlib.book.figures.style import finish


def attention_map_grid(maps: dict[tuple[str, str], np.ndarray], rows: list[str], columns: list[str],
                       feature_names: tuple[str, ...], block_edges: tuple[int, ...], *, tick_step: int = 5):
    """Fig. S17: one attention matrix per (row, column) cell; query features down, key features across.

    Lines at ``block_edges`` separate the feature blocks (context | Zernike | site flags);
    vertical stripes are key features that every query attends to. 31 feature names do
    not fit under a map at page width, so the axes carry the feature index every
    ``tick_step`` features and the blocks' first and last names (the index is the
    position in ``feature_names``, the notebook's feature table).
    """
    fig, axes = plt.subplots(len(rows), len(columns), figsize=(2.6 * len(columns) + 1.4, 2.5 * len(rows) + 0.6),
                             squeeze=False)
    vmax = max(float(m.max()) for m in maps.values())
    ticks = list(range(0, len(feature_names), tick_step))
    for r, row in enumerate(rows):
        for c, column in enumerate(columns):
            ax = axes[r, c]
            image = ax.imshow(maps[(row, column)], cmap="viridis", vmin=0, vmax=vmax)
            for edge in block_edges:
                ax.axvline(edge - 0.5, color="w", lw=0.6)
                ax.axhline(edge - 0.5, color="w", lw=0.6)
            ax.set_xticks(ticks, [] if r < len(rows) - 1 else ticks)
            ax.set_yticks(ticks, [] if c else ticks)
            if r == 0:
                ax.set_title(column)
            if c == 0:
                ax.set_ylabel(f"{row}\nquery feature")
    starts = (0, *block_edges)
    blocks = ", ".join(f"{a}-{b - 1}: {feature_names[a]}..{feature_names[b - 1]}"
                       for a, b in zip(starts, (*block_edges, len(feature_names))))
    for ax in axes[-1]:
        ax.set_xlabel("key feature")
    fig.text(0.5, 0.0, f"feature index {blocks}", ha="center", va="top")
    finish(fig)
    fig.subplots_adjust(right=0.84)
    colour_axes = fig.add_axes((0.87, 0.35, 0.025, 0.3))
    fig.colorbar(image, cax=colour_axes, label="attention weight")
    return finish(fig, layout=False)
