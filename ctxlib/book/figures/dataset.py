"""Figures of section 4 (notebook 02): the motif gallery (Fig. S7), the simulation
pipeline (Fig. 4), profiles and contrast ratios (Figs. S1, S2), augmentation examples
(Fig. S8) and the dataset scale (Fig. S5).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ctxlib.book.figures.style import finish
from ctxlib.materials.catalog import HOSTS
from ctxlib.materials.motifs import CLASS_NAMES, MOTIFS, motif_structure, projected_columns
from ctxlib.micrographs.overlay import OVERLAY_STYLE, scale_bar

_STATE_STYLE = {  # the book's class palette (ctxlib.micrographs.overlay)
    "M": {"color": OVERLAY_STYLE["M"][0], "marker": "o", "s": 110},
    "D": {"color": OVERLAY_STYLE["D"][0], "marker": "D", "s": 90},
    "X2": {"color": OVERLAY_STYLE["X2"][0], "marker": "s", "s": 70},
    "VacX": {"color": OVERLAY_STYLE["VacX"][0], "marker": "s", "s": 70},
    "VacX2": {"facecolor": "none", "edgecolor": OVERLAY_STYLE["VacX2"][0], "marker": "s", "s": 70},
}


def _columns_near_centre(atoms, radius: float) -> dict[tuple[float, float], list[str]]:
    """Atoms within ``radius`` of the motif centre, grouped by projected column (x, y relative to the centre)."""

    centre = np.array(atoms.info["centre"])
    near = {}
    for (x, y), symbols in projected_columns(atoms).items():
        dx, dy = round(x - centre[0], 2), round(y - centre[1], 2)
        if np.hypot(dx, dy) < radius:
            near[(dx, dy)] = symbols
    return near


def motif_gallery(host: str, dopant: str, *, radius: float = 4.2):
    """Fig. S7: the 34 motifs, top view, centre column ringed; one panel each."""

    fig, axes = plt.subplots(7, 5, figsize=(9, 13.5))  # five across: the longest ring names fit at 9 pt
    metal = HOSTS[host].metal
    pristine = {site: _columns_near_centre(motif_structure(host, dopant, name), radius) for site, name in
                ((True, "M[X2,X2,X2]"), (False, "X2[M,M,M]"))}
    for ax, motif in zip(axes.flat, MOTIFS):
        present = _columns_near_centre(motif_structure(host, dopant, motif), radius)
        for (x, y) in pristine[motif.metal_site]:
            symbols = present.get((x, y), [])
            if not symbols:
                state = "VacX2"
            elif symbols[0] in (metal, dopant):
                state = "M" if symbols[0] == metal else "D"
            else:
                state = "X2" if len(symbols) == 2 else "VacX"
            ax.scatter(x, y, **_STATE_STYLE[state])
        ax.scatter(0, 0, s=330, facecolor="none", edgecolor="k", lw=1.2)
        centre, _, ring = motif.name.partition("[")  # the ring on its own line: long names do not overlap
        ax.set_title(f"{centre} (label {motif.label})\n[{ring}", fontsize=9)
        ax.set_xlim(-radius, radius)
        ax.set_ylim(-radius, radius)
        ax.set_aspect("equal")
        ax.axis("off")
    for ax in axes.flat[len(MOTIFS):]:
        ax.axis("off")
    labels = {"M": f"M ({metal})", "D": f"D ({dopant})", "X2": "X2", "VacX": "single X vacancy", "VacX2": "double X vacancy"}
    handles = [ax.scatter([], [], label=labels[name], **style) for name, style in _STATE_STYLE.items()]
    fig.suptitle(f"The 34 motifs of {host} + {dopant}, top view, centre ringed")
    finish(fig)
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3)
    return finish(fig, layout=False)


def pipeline_figure(atoms, clean: np.ndarray, degraded: np.ndarray, patch: np.ndarray, features: np.ndarray,
                    feature_names: tuple[str, ...], pixel_size: tuple[float, float], *, title: str = ""):
    """Fig. 4c-g for one motif: structure, clean image, degraded image, patch, and its 31 features."""
    fig = plt.figure(figsize=(9, 6.6))
    grid = fig.add_gridspec(2, 4, height_ratios=[1, 1.1])
    axes = [fig.add_subplot(grid[0, k]) for k in range(4)] + [fig.add_subplot(grid[1, :])]
    centre = np.array(atoms.info["centre"])
    xy = atoms.positions[:, :2] - centre
    half = clean.shape[0] * pixel_size[0] / 2
    near = np.all(np.abs(xy) < half, axis=1)
    symbols = np.array(atoms.get_chemical_symbols())[near]
    for symbol in np.unique(symbols):
        pts = xy[near][symbols == symbol]
        axes[0].scatter(pts[:, 0], pts[:, 1], label=symbol, s=60)
    axes[0].set(xlim=(-half, half), ylim=(-half, half), aspect="equal", title="(c) motif\nstructure", xlabel="x (A)")
    for ax, image, name in ((axes[1], clean, "(d) clean\nabTEM image"),
                            (axes[2], degraded, "(e) blur, scan and shot\nnoise (pixels the patch reads)")):
        extent = (-image.shape[1] * pixel_size[1] / 2, image.shape[1] * pixel_size[1] / 2,
                  -image.shape[0] * pixel_size[0] / 2, image.shape[0] * pixel_size[0] / 2)
        ax.imshow(image, origin="lower", extent=extent, cmap="gray")
        ax.set(title=name, xlabel="x (A)", xlim=(-half, half), ylim=(-half, half))
    axes[3].imshow(patch, origin="lower", cmap="gray")
    axes[3].set(title="(f) 32 x 32 patch,\nside sqrt(3) a", xticks=[], yticks=[])
    blocks = [(0, 23, "tab:blue", "context"), (23, 29, "tab:orange", "Zernike"), (29, 31, "tab:green", "site")]
    for start, stop, colour, label in blocks:
        axes[4].bar(np.arange(start, stop), features[start:stop], color=colour, label=label)
    axes[4].set_xticks(range(len(feature_names)), feature_names, rotation=90)
    axes[4].set(title="(g) the 31 features")
    axes[4].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.suptitle(title)
    finish(fig)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.72), title="(c) atoms")
    return finish(fig, layout=False)


def profile_comparison(images: dict[str, np.ndarray], pixel_size: dict[str, tuple[float, float]],
                       *, ylabel: str = "intensity (fraction of beam)"):
    """Figs. S1, S2b-e: images side by side (common grey scale) and their profiles along the centre column.

    The vertical line through a motif centre crosses metal and X2 columns alternately.
    """
    fig, axes = plt.subplots(1, len(images) + 1, figsize=(3 * (len(images) + 1), 3.2))
    vmax = max(float(im.max()) for im in images.values())
    for ax, (name, image) in zip(axes, images.items()):
        ax.imshow(image, origin="lower", cmap="gray", vmin=0, vmax=vmax)
        ax.axvline(image.shape[1] // 2, color="tab:red", lw=0.8)
        ax.set(title=name.replace(" ", "\n", 1), xticks=[], yticks=[])
        scale_bar(ax, float(np.mean(pixel_size[name])))
        y = (np.arange(image.shape[0]) - image.shape[0] // 2) * pixel_size[name][0]
        axes[-1].plot(y, image[:, image.shape[1] // 2], label=name)
    axes[-1].set(xlabel="y (A)", ylabel=ylabel, title="profile along\nthe centre column")
    axes[-1].legend(loc="upper center", bbox_to_anchor=(0.5, -0.3))
    return finish(fig)


def contrast_ratio_chart(table):
    """Fig. S2: M/X2 centre-intensity ratio per host, energy and detector; 1 marks equal brightness.

    ``table`` has columns ``host``, ``energy_kev``, ``detector``, ``ratio``.
    """
    hosts = list(dict.fromkeys(table["host"]))
    fig, axes = plt.subplots(2, 1, figsize=(8, 6.4), sharex=True)
    width = 0.27
    for ax, detector in zip(axes, ("HAADF", "MAADF")):
        sub = table[table["detector"] == detector]
        for k, energy in enumerate(sorted(sub["energy_kev"].unique())):
            values = sub[sub["energy_kev"] == energy].set_index("host")["ratio"].reindex(hosts)
            ax.bar(np.arange(len(hosts)) + (k - 1) * width, values, width, label=f"{energy} keV")
        ax.axhline(1, color="k", lw=0.8)
        ax.set_xticks(range(len(hosts)), hosts, rotation=45)
        ax.set(yscale="log", ylabel=f"{detector}: I(M) / I(X2)")
    axes[0].legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=3, frameon=False)
    axes[0].set_title("M / X2 centre intensity", loc="left")
    return finish(fig)


def augmentation_examples(patches: dict[str, list[np.ndarray]]):
    """Fig. S8: rows = one parameter at its low and high end (others off), columns = motifs."""
    rows = list(patches)
    ncols = max(len(v) for v in patches.values())
    fig, axes = plt.subplots(len(rows), ncols, figsize=(1.15 * ncols, 1.2 * len(rows)), squeeze=False)
    for r, name in enumerate(rows):
        for c, patch in enumerate(patches[name]):
            axes[r, c].imshow(patch, cmap="gray")
            axes[r, c].set(xticks=[], yticks=[])
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center")
    return finish(fig)


def dataset_scale_chart(rows):
    """Fig. S5: sizes (bytes) and costs on a log axis; ``rows`` has ``quantity``, ``bytes``, ``source``."""
    fig, ax = plt.subplots(figsize=(7, 0.8 + 0.45 * len(rows)))
    palette = {"ours (measured)": "tab:blue", "ours (computed)": "lightsteelblue"}
    colours = [palette.get(s, "tab:gray") for s in rows["source"]]
    ax.barh(rows["quantity"], rows["bytes"], color=colours)
    for y, (value, source) in enumerate(zip(rows["bytes"], rows["source"])):
        ax.text(value, y, f"  {value:.2g} B ({source})", va="center")
    ax.set(xscale="log", xlabel="bytes", xlim=(1e5, 1e21))
    ax.invert_yaxis()
    return finish(fig)
