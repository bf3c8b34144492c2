"""Figures of the book. Each function draws one figure (or panel) and returns its matplotlib Figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .catalog import parse_formula
from .context import CONTEXT_BLOCKS, CONTEXT_FEATURE_NAMES
from .elements import SHELLS, atomic_number, shell_populations
from .lattice import LatticeEstimate
from .motifs import CLASS_NAMES
from .zernike import ZERNIKE_FEATURE_NAMES, disk_coordinates

BLOCK_COLOURS = {"M": "tab:blue", "X": "tab:cyan", "D": "tab:purple", "detector": "tab:orange", "energy": "tab:green"}
SITE_COLOURS = ("tab:red", "tab:blue")


def context_bars(vector: np.ndarray, title: str = ""):
    """Fig. 3a: the 23-number context vector as a bar chart coloured by block."""
    fig, ax = plt.subplots(figsize=(10, 3.2))
    for block, where in CONTEXT_BLOCKS.items():
        index = np.arange(len(vector))[where]
        ax.bar(index, vector[where], color=BLOCK_COLOURS[block], label=block)
    ax.set_xticks(range(len(vector)), CONTEXT_FEATURE_NAMES, rotation=70, fontsize=8)
    ax.set_ylabel("value")
    ax.set_title(title)
    ax.legend(ncol=5, fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def shell_encoding(host: str, dopant: str):
    """Fig. S4: shell populations (K..P) and their division by Z for the M, X and D of a context."""
    metal, chalcogen = parse_formula(host)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3), sharey=True)
    for ax, (site, symbol) in zip(axes, (("M", metal), ("X", chalcogen), ("D", dopant))):
        populations = np.array(shell_populations(symbol))
        z = atomic_number(symbol)
        bars = ax.bar(SHELLS, populations / z, color=BLOCK_COLOURS[site])
        ax.bar_label(bars, [f"{p}\n{p / z:.3f}" if p else "" for p in populations], fontsize=7)
        ax.set_title(f"{site} = {symbol} (Z = {z}): {' '.join(f'{s}{p}' for s, p in zip(SHELLS, populations) if p)}", fontsize=9)
        ax.set_xlabel("shell")
    axes[0].set_ylabel("electrons / Z")
    axes[0].set_ylim(0, 0.75)
    fig.tight_layout()
    return fig


def patch_and_moments(patches: dict[str, np.ndarray], moments: dict[str, np.ndarray]):
    """Fig. 3b: example patches with the unit disk drawn, and their six Zernike moments."""
    fig, axes = plt.subplots(1, len(patches) + 1, figsize=(3.2 * (len(patches) + 1), 3))
    for ax, (name, patch) in zip(axes, patches.items()):
        ax.imshow(patch, cmap="gray")
        size = patch.shape[0]
        ax.add_patch(plt.Circle(((size - 1) / 2, (size - 1) / 2), size / 2, fill=False, color="yellow", lw=1))
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    width = 0.8 / len(moments)
    for k, (name, values) in enumerate(moments.items()):
        axes[-1].bar(np.arange(len(values)) + k * width, values, width, label=name)
    axes[-1].set_xticks(np.arange(len(ZERNIKE_FEATURE_NAMES)) + 0.4 - width / 2, ZERNIKE_FEATURE_NAMES, fontsize=8)
    axes[-1].axhline(0, color="k", lw=0.5)
    axes[-1].set_title("m = 0 Zernike moments", fontsize=9)
    axes[-1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def zernike_basis_images(size: int, orders: tuple[int, ...]):
    """The radial basis functions R_n0 on the patch grid (inside the unit disk)."""
    from .zernike import radial_polynomial

    rho = disk_coordinates(size)
    fig, axes = plt.subplots(1, len(orders), figsize=(1.8 * len(orders), 2))
    for ax, n in zip(axes, orders):
        ax.imshow(np.where(rho <= 1, radial_polynomial(n, rho), np.nan), cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set_title(f"$R_{{{n}}}^0$", fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    return fig


def sublattice_split(image: np.ndarray, positions: np.ndarray, sublattice: np.ndarray, intensity: np.ndarray, title: str = ""):
    """Fig. 3c: columns coloured by sublattice, and the centre intensities of each group."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), gridspec_kw={"width_ratios": [1.1, 1]})
    left.imshow(image, cmap="gray")
    jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(intensity))
    for k in (0, 1):
        group = sublattice == k
        left.scatter(positions[group, 1], positions[group, 0], s=8, color=SITE_COLOURS[k], label=f"sublattice {k}")
        right.scatter(k + jitter[group], intensity[group], s=6, color=SITE_COLOURS[k], alpha=0.5)
        mean = intensity[group].mean()
        right.hlines(mean, k - 0.3, k + 0.3, color="k")
        right.annotate(f"mean {mean:.2f}", (k + 0.32, mean), fontsize=8, va="center")
    left.set_title(title, fontsize=9)
    left.axis("off")
    left.legend(fontsize=7, loc="lower right")
    right.set_xticks([0, 1], ["sublattice 0", "sublattice 1"])
    right.set_xlim(-0.5, 1.8)
    right.set_ylabel("normalised centre intensity")
    right.set_title("brighter group -> [1, 0], dimmer -> [0, 1]", fontsize=9)
    fig.tight_layout()
    return fig


def patch_size_workflow(
    image: np.ndarray, acf: np.ndarray, lattice: LatticeEstimate, pixel_size: float, centre: np.ndarray
):
    """Fig. S9: autocorrelation, radial profile with its peaks, and the patch box around the column at ``centre`` (row, col)."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    half = acf.shape[0] // 2
    extent = np.array([-half, half, half, -half]) * pixel_size
    axes[0].imshow(acf, cmap="magma", extent=extent)
    axes[0].add_patch(plt.Circle((0, 0), lattice.a_px * pixel_size, fill=False, color="cyan", ls="--"))
    axes[0].set_title("autocorrelation (circle: a)", fontsize=9)
    axes[0].set_xlabel("lag (A)")
    radii = lattice.radii * pixel_size
    axes[1].plot(radii, lattice.profile, color="k", lw=1)
    for r, translation in zip(lattice.peak_radii * pixel_size, lattice.is_translation):
        axes[1].axvline(r, color="tab:green" if translation else "tab:gray", ls="-" if translation else ":")
    axes[1].axvline(lattice.a_px * pixel_size, color="tab:red", lw=2, label=f"a = {lattice.a_px * pixel_size:.3f} A")
    axes[1].set_xlabel("radius (A)")
    axes[1].set_ylabel("radial mean")
    axes[1].set_title("radial profile (green: translations, grey: M-X2 and other lags)", fontsize=9)
    axes[1].legend(fontsize=8)
    side = lattice.patch_side_px
    axes[2].imshow(image, cmap="gray")
    cy, cx = centre
    axes[2].add_patch(plt.Rectangle((cx - side / 2, cy - side / 2), side, side, fill=False, color="yellow"))
    axes[2].set_xlim(cx - 2.5 * side, cx + 2.5 * side)
    axes[2].set_ylim(cy + 2.5 * side, cy - 2.5 * side)
    axes[2].set_title(f"patch side sqrt(3) a = {side * pixel_size:.2f} A", fontsize=9)
    axes[2].axis("off")
    fig.tight_layout()
    return fig


_STATE_STYLE = {
    "M": dict(color="tab:blue", marker="o", s=140),
    "D": dict(color="tab:red", marker="o", s=140),
    "X2": dict(color="goldenrod", marker="s", s=90),
    "VacX": dict(color="goldenrod", marker="s", s=90, alpha=0.45),
    "VacX2": dict(facecolor="none", edgecolor="goldenrod", marker="s", s=90),
}


def _columns_near_centre(atoms, radius: float) -> dict[tuple[float, float], list[str]]:
    """Atoms within ``radius`` of the motif centre, grouped by projected column (x, y relative to the centre)."""
    from .motifs import projected_columns

    centre = np.array(atoms.info["centre"])
    near = {}
    for (x, y), symbols in projected_columns(atoms).items():
        dx, dy = round(x - centre[0], 2), round(y - centre[1], 2)
        if np.hypot(dx, dy) < radius:
            near[(dx, dy)] = symbols
    return near


def motif_gallery(host: str, dopant: str, radius: float = 4.2):
    """Fig. S7: the 34 motifs, top view, centre column ringed; one panel each."""
    from .catalog import HOSTS
    from .motifs import MOTIFS, motif_structure

    fig, axes = plt.subplots(4, 9, figsize=(15, 7.2))
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
        ax.scatter(0, 0, s=420, facecolor="none", edgecolor="k", lw=1.2)
        ax.set_title(f"{motif.name}\nlabel {motif.label} ({CLASS_NAMES[motif.label]})", fontsize=7)
        ax.set_xlim(-radius, radius)
        ax.set_ylim(-radius, radius)
        ax.set_aspect("equal")
        ax.axis("off")
    for ax in axes.flat[len(MOTIFS):]:
        ax.axis("off")
    labels = {"M": f"M ({metal})", "D": f"D ({dopant})", "X2": "X2", "VacX": "single X vacancy", "VacX2": "double X vacancy"}
    handles = [ax.scatter([], [], label=labels[name], **style) for name, style in _STATE_STYLE.items()]
    fig.legend(handles=handles, loc="lower right", ncol=5, fontsize=9)
    fig.suptitle(f"The 34 local configurations (motifs) of {host} + {dopant}, top view, centre ringed")
    fig.tight_layout()
    return fig


def pipeline_figure(atoms, clean: np.ndarray, degraded: np.ndarray, patch: np.ndarray, features: np.ndarray,
                    feature_names: tuple[str, ...], pixel_size: tuple[float, float], title: str = ""):
    """Fig. 4c-g for one motif: structure, clean image, degraded image, patch, and its 31 features."""
    fig, axes = plt.subplots(1, 5, figsize=(16, 3.4), gridspec_kw={"width_ratios": [1, 1, 1, 1, 2.2]})
    centre = np.array(atoms.info["centre"])
    xy = atoms.positions[:, :2] - centre
    half = clean.shape[0] * pixel_size[0] / 2
    near = np.all(np.abs(xy) < half, axis=1)
    symbols = np.array(atoms.get_chemical_symbols())[near]
    for symbol in np.unique(symbols):
        pts = xy[near][symbols == symbol]
        axes[0].scatter(pts[:, 0], pts[:, 1], label=symbol, s=60)
    axes[0].set(xlim=(-half, half), ylim=(-half, half), aspect="equal", title="(c) motif structure", xlabel="x (A)")
    axes[0].legend(fontsize=7, loc="upper right")
    extent = (-clean.shape[1] * pixel_size[1] / 2, clean.shape[1] * pixel_size[1] / 2, -half, half)
    for ax, image, name in ((axes[1], clean, "(d) clean abTEM image"), (axes[2], degraded, "(e) blur, scan and shot noise")):
        ax.imshow(image, origin="lower", extent=extent, cmap="gray")
        ax.set(title=name, xlabel="x (A)")
    axes[3].imshow(patch, origin="lower", cmap="gray")
    axes[3].set(title="(f) 32 x 32 patch, side sqrt(3) a", xticks=[], yticks=[])
    blocks = [(0, 23, "tab:blue", "context"), (23, 29, "tab:orange", "Zernike"), (29, 31, "tab:green", "site")]
    for start, stop, colour, label in blocks:
        axes[4].bar(np.arange(start, stop), features[start:stop], color=colour, label=label)
    axes[4].set_xticks(range(len(feature_names)), feature_names, rotation=90, fontsize=6)
    axes[4].set(title="(g) the 31 features")
    axes[4].legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def profile_comparison(images: dict[str, np.ndarray], pixel_size: dict[str, tuple[float, float]],
                       ylabel: str = "intensity (fraction of beam)"):
    """Figs. S1, S2b-e: images side by side (common grey scale) and their profiles along the centre column.

    The vertical line through a motif centre crosses metal and X2 columns alternately.
    """
    fig, axes = plt.subplots(1, len(images) + 1, figsize=(4 * (len(images) + 1), 3.6))
    vmax = max(float(im.max()) for im in images.values())
    for ax, (name, image) in zip(axes, images.items()):
        ax.imshow(image, origin="lower", cmap="gray", vmin=0, vmax=vmax)
        ax.axvline(image.shape[1] // 2, color="tab:red", lw=0.8)
        ax.set(title=name, xticks=[], yticks=[])
        y = (np.arange(image.shape[0]) - image.shape[0] // 2) * pixel_size[name][0]
        axes[-1].plot(y, image[:, image.shape[1] // 2], label=name)
    axes[-1].set(xlabel="y (A)", ylabel=ylabel, title="profile along the centre column")
    axes[-1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def contrast_ratio_chart(table):
    """Fig. S2: M/X2 centre-intensity ratio per host, energy and detector; 1 marks equal brightness.

    ``table`` has columns ``host``, ``energy_kev``, ``detector``, ``ratio``.
    """
    hosts = list(dict.fromkeys(table["host"]))
    fig, axes = plt.subplots(1, 2, figsize=(14, 3.8), sharey=True)
    width = 0.27
    for ax, detector in zip(axes, ("HAADF", "MAADF")):
        sub = table[table["detector"] == detector]
        for k, energy in enumerate(sorted(sub["energy_kev"].unique())):
            values = sub[sub["energy_kev"] == energy].set_index("host")["ratio"].reindex(hosts)
            ax.bar(np.arange(len(hosts)) + (k - 1) * width, values, width, label=f"{energy} keV")
        ax.axhline(1, color="k", lw=0.8)
        ax.set_xticks(range(len(hosts)), hosts, rotation=45)
        ax.set(title=f"{detector}: M / X2 centre intensity", yscale="log")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("I(M) / I(X2)")
    fig.tight_layout()
    return fig


def augmentation_examples(patches: dict[str, list[np.ndarray]]):
    """Fig. S8: rows = one parameter at its low and high end (others off), columns = motifs."""
    rows = list(patches)
    ncols = max(len(v) for v in patches.values())
    fig, axes = plt.subplots(len(rows), ncols, figsize=(1.6 * ncols, 1.7 * len(rows)), squeeze=False)
    for r, name in enumerate(rows):
        for c, patch in enumerate(patches[name]):
            axes[r, c].imshow(patch, cmap="gray")
            axes[r, c].set(xticks=[], yticks=[])
        axes[r, 0].set_ylabel(name, fontsize=7, rotation=0, ha="right", va="center")
    fig.tight_layout()
    return fig


def dataset_scale_chart(rows):
    """Fig. S5: sizes (bytes) and costs on a log axis; ``rows`` has ``quantity``, ``bytes``, ``source``."""
    fig, ax = plt.subplots(figsize=(8, 0.5 + 0.45 * len(rows)))
    palette = {"ours (measured)": "tab:blue", "ours (computed)": "lightsteelblue"}
    colours = [palette.get(s, "tab:gray") for s in rows["source"]]
    ax.barh(rows["quantity"], rows["bytes"], color=colours)
    for y, (value, source) in enumerate(zip(rows["bytes"], rows["source"])):
        ax.text(value, y, f"  {value:.2g} B ({source})", va="center", fontsize=8)
    ax.set(xscale="log", xlabel="bytes", xlim=(1e5, 1e18))
    ax.invert_yaxis()
    fig.tight_layout()
    return fig


CLASS_COLOURS = ("tab:gray", "tab:orange", "tab:red", "tab:blue", "tab:green")


def architecture_diagrams(descriptions: dict[str, list[str]], parameters: dict[str, int]):
    """Figs. 5a, S10-S12: each model as a stack of boxes, input at the top."""
    fig, axes = plt.subplots(1, len(descriptions), figsize=(3.9 * len(descriptions), 6.5))
    for ax, (name, lines) in zip(np.atleast_1d(axes), descriptions.items()):
        n = len(lines)
        for k, line in enumerate(lines):
            y = 1 - (k + 0.5) / n
            colour = "lightcyan" if "softmax(Q" in line else "moccasin" if "layer" in line else "whitesmoke"
            ax.text(0.5, y, line, ha="center", va="center", fontsize=7, wrap=True,
                    bbox={"boxstyle": "round", "facecolor": colour, "edgecolor": "gray"})
            if k:
                ax.annotate("", (0.5, y + 0.32 / n), (0.5, y + 0.68 / n), arrowprops={"arrowstyle": "->", "color": "gray"})
        ax.set_title(f"{name}\n{parameters[name]:,} parameters", fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    return fig


def accuracy_chart(table, paper: dict[str, float]):
    """Fig. 5d: train and test accuracy (%) per model; the paper's test accuracy as a black tick.

    ``table`` is indexed by model with columns ``train`` and ``test`` (fractions).
    """
    fig, ax = plt.subplots(figsize=(9, 3.8))
    x = np.arange(len(table))
    for k, part in enumerate(("train", "test")):
        bars = ax.bar(x + (k - 0.5) * 0.38, 100 * table[part], 0.38, label=f"{part} (ours)")
        ax.bar_label(bars, [f"{100 * v:.1f}" for v in table[part]], fontsize=7)
    ax.scatter(x, [paper.get(m, np.nan) for m in table.index], marker="_", s=900, color="k", zorder=3,
               label="paper (test)")
    ax.set_xticks(x, table.index)
    ax.set(ylabel="accuracy (%)", ylim=(50, 101))
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return fig


def training_curves(histories: dict[str, list[dict]]):
    """Loss and running accuracy per epoch of every model (training mode, over the epoch's batches)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    for name, history in histories.items():
        epochs = [h["epoch"] for h in history]
        axes[0].plot(epochs, [h["loss"] for h in history], marker=".", label=name)
        axes[1].plot(epochs, [100 * h["accuracy"] for h in history], marker=".", label=name)
    axes[0].set(xlabel="epoch", ylabel="cross-entropy (nats)", yscale="log")
    axes[1].set(xlabel="epoch", ylabel="running train accuracy (%)")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def confusion_matrices(matrices: dict[str, np.ndarray]):
    """Row-normalised confusion matrices (true class in rows), one panel per model."""
    fig, axes = plt.subplots(1, len(matrices), figsize=(3.6 * len(matrices), 3.5), squeeze=False)
    for ax, (name, counts) in zip(axes[0], matrices.items()):
        share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for (i, j), value in np.ndenumerate(share):
            ax.text(j, i, f"{100 * value:.0f}", ha="center", va="center", fontsize=8,
                    color="white" if value > 0.6 else "black")
        ax.set_xticks(range(len(CLASS_NAMES)), CLASS_NAMES, fontsize=8)
        ax.set_yticks(range(len(CLASS_NAMES)), CLASS_NAMES, fontsize=8)
        ax.set(title=name, xlabel="predicted")
    axes[0, 0].set_ylabel("true (row %)")
    fig.tight_layout()
    return fig


def entropy_chart(entropies: dict[str, float], paper_without: float, paper_with: float):
    """Fig. 5e: mean posterior entropy (nats) per model, with the paper's two values as dashed lines."""
    fig, ax = plt.subplots(figsize=(8.5, 3.6))
    names = list(entropies)
    bars = ax.bar(names, [entropies[n] for n in names], color=["tab:gray"] + ["tab:blue"] * (len(names) - 1))
    ax.bar_label(bars, [f"{entropies[n]:.3f}" for n in names], fontsize=8)
    context_mean = np.mean([entropies[n] for n in names[1:]])
    ax.axhline(context_mean, color="tab:orange", ls="--", label=f"ours, mean with context: {context_mean:.4f}")
    ax.axhline(paper_without, color="k", ls=":", label=f"paper, no context: {paper_without}")
    ax.axhline(paper_with, color="k", ls="-.", label=f"paper, mean with context: {paper_with}")
    ax.axhline(np.log(5), color="tab:red", lw=0.8, label="ln 5 (uniform over 5 classes)")
    ax.set(ylabel="mean posterior entropy (nats)", ylim=(0, 1.75))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def embedding_grid(embeddings: dict[str, np.ndarray], labels: np.ndarray, ncols: int = 4):
    """Figs. 5f-h, S13-S14: 2-D embeddings (e.g. UMAP) coloured by true class, one panel each."""
    nrows = -(-len(embeddings) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 3.5 * nrows), squeeze=False)
    for ax, (title, points) in zip(axes.ravel(), embeddings.items()):
        for k, name in enumerate(CLASS_NAMES):
            mine = labels == k
            ax.scatter(points[mine, 0], points[mine, 1], s=2, color=CLASS_COLOURS[k], label=name, rasterized=True)
        ax.set(title=title, xticks=[], yticks=[])
    for ax in axes.ravel()[len(embeddings):]:
        ax.axis("off")
    axes[0, 0].legend(markerscale=5, fontsize=8)
    fig.tight_layout()
    return fig


def calibration_figure(ece: dict[str, float], reliability: dict[str, object]):
    """Fig. S15 (ECE per model) beside the reliability diagrams (accuracy against confidence per bin)."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    bars = axes[0].bar(list(ece), list(ece.values()), color="tab:purple")
    axes[0].bar_label(bars, [f"{v:.4f}" for v in ece.values()], fontsize=8)
    axes[0].set(ylabel="expected calibration error")
    axes[0].tick_params(axis="x", rotation=30)
    for name, table in reliability.items():
        used = table["count"] > 0
        axes[1].plot(table.loc[used, "confidence"], table.loc[used, "accuracy"], marker=".", label=name)
    axes[1].plot([0, 1], [0, 1], color="k", lw=0.8, ls="--", label="perfect calibration")
    axes[1].set(xlabel="mean confidence in bin", ylabel="accuracy in bin", xlim=(0.2, 1.01), ylim=(0, 1.01))
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def confidence_histograms(probabilities: dict[str, np.ndarray], ncols: int = 3):
    """Fig. S16: histograms of the top-class probability (confidence), one panel per model, log counts."""
    nrows = -(-len(probabilities) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4 * ncols, 2.8 * nrows), squeeze=False, sharex=True)
    for ax, (name, p) in zip(axes.ravel(), probabilities.items()):
        ax.hist(p.max(axis=1), bins=np.linspace(0.2, 1, 41), color="tab:blue")
        ax.set(title=name, yscale="log")
    for ax in axes[-1]:
        ax.set_xlabel("confidence (top-class probability)")
    fig.tight_layout()
    return fig


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


def classification_overlay(image: np.ndarray, table, title: str = ""):
    """Fig. 6b: the micrograph with every classified column marked by its class (defects larger).

    ``table`` has ``x``, ``y`` (pixels) and ``label`` (0-4) per column, as written by
    :func:`ctxlib.fullfield.classify_image`.
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


def defect_map(image: np.ndarray, predicted, truth, title: str = ""):
    """Fig. 6b: predicted defects (filled markers) and true defects (open circles) on the micrograph.

    ``predicted`` has ``x``, ``y``, ``label``; ``truth`` has ``col``, ``row``, ``label``
    (pixels). Defects are labels 1 (single vacancy), 2 (double vacancy) and 4 (dopant).
    """
    fig, ax = plt.subplots(figsize=(7, 7 * image.shape[0] / image.shape[1]))
    ax.imshow(image, cmap="gray")
    for label in (1, 2, 4):
        mine = predicted[predicted["label"] == label]
        ax.scatter(mine["x"], mine["y"], s=10, color=CLASS_COLOURS[label], label=f"predicted {CLASS_NAMES[label]}")
        true = truth[truth["label"] == label]
        ax.scatter(true["col"], true["row"], s=90, facecolors="none", edgecolors=CLASS_COLOURS[label], linewidths=1,
                   label=f"true {CLASS_NAMES[label]}")
    ax.set(title=title, xticks=[], yticks=[], xlim=(0, image.shape[1] - 1), ylim=(image.shape[0] - 1, 0))
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return fig


def mean_patches(patches: dict[str, np.ndarray]):
    """Fig. 6c: the mean patch of each class (``{class name: (n, size, size) patches}``), with the count."""
    fig, axes = plt.subplots(1, len(patches), figsize=(2.2 * len(patches), 2.5), squeeze=False)
    for ax, (name, stack) in zip(axes[0], patches.items()):
        if len(stack):
            ax.imshow(stack.mean(axis=0), cmap="gray")
        ax.set(title=f"{name} (n = {len(stack)})", xticks=[], yticks=[])
    fig.tight_layout()
    return fig


def validation_bars(scores, paper, detectors: tuple[str, ...] = ("HAADF", "MAADF")):
    """Figs. 6d-f: Cohen's kappa and the F1 of each defect class per model and detector, paper's as ticks.

    ``scores`` and ``paper`` are indexed by model with columns like ``kappa HAADF`` and
    ``F1 single vacancy MAADF``.
    """
    panels = ["kappa", "F1 single vacancy", "F1 double vacancy", "F1 dopant"]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), sharey=True)
    x = np.arange(len(scores))
    for ax, panel in zip(axes, panels):
        for k, detector in enumerate(detectors):
            column = f"{panel} {detector}"
            offset = (k - 0.5) * 0.38
            ax.bar(x + offset, scores[column], 0.38, label=f"{detector} (ours)")
            if column in paper:
                ax.scatter(x + offset, paper[column].reindex(scores.index), marker="_", s=250, color="k", zorder=3)
        ax.set_xticks(x, scores.index, rotation=40, fontsize=8)
        ax.set(title=panel, ylim=(0, 1.05))
    axes[0].legend(fontsize=8, loc="lower left")
    axes[-1].scatter([], [], marker="_", color="k", label="paper")
    axes[-1].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def image_panels(images: dict[str, np.ndarray], ncols: int = 4):
    """Micrographs side by side, one titled panel each."""
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4 * ncols, 4.1 * nrows), squeeze=False)
    for ax, (title, image) in zip(axes.ravel(), images.items()):
        ax.imshow(image, cmap="gray")
        ax.set(title=title, xticks=[], yticks=[])
    for ax in axes.ravel()[len(images):]:
        ax.axis("off")
    fig.tight_layout()
    return fig
