"""Figures of section 6, attention (notebook 05): grids of attention maps (Fig. S17).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def attention_map_grid(maps: dict[tuple[str, str], np.ndarray], rows: list[str], columns: list[str],
                       feature_names: tuple[str, ...], block_edges: tuple[int, ...]):
    """Fig. S17: one attention matrix per (row, column) cell; query features down, key features across.

    Lines at ``block_edges`` separate the feature blocks (context | Zernike | site flags);
    vertical stripes are key features that every query attends to.
    """
    fig, axes = plt.subplots(len(rows), len(columns), figsize=(3.3 * len(columns), 3.2 * len(rows)), squeeze=False)
    vmax = max(float(m.max()) for m in maps.values())
    for r, row in enumerate(rows):
        for c, column in enumerate(columns):
            ax = axes[r, c]
            image = ax.imshow(maps[(row, column)], cmap="viridis", vmin=0, vmax=vmax)
            for edge in block_edges:
                ax.axvline(edge - 0.5, color="w", lw=0.6)
                ax.axhline(edge - 0.5, color="w", lw=0.6)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(column, fontsize=9)
            if c == 0:
                ax.set_ylabel(f"{row}\nquery feature", fontsize=8)
    for ax in axes[-1]:
        ax.set_xticks(range(len(feature_names)), feature_names, rotation=90, fontsize=5)
        ax.set_xlabel("key feature", fontsize=8)
    fig.colorbar(image, ax=axes, shrink=0.6, label="attention weight")
    return fig
