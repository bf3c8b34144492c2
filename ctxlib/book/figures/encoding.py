"""Figures of section 3 (notebook 01): the context vector, shell encoding, Zernike moments,
sublattices and the patch-size workflow (Figs. 2, 3, S4, S9).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ctxlib.book.figures.style import BLOCK_COLOURS, SITE_COLOURS, finish
from ctxlib.encoding.context import CONTEXT_BLOCKS, CONTEXT_FEATURE_NAMES
from ctxlib.encoding.lattice import LatticeEstimate
from ctxlib.encoding.zernike import ZERNIKE_FEATURE_NAMES, disk_coordinates, radial_polynomial
from ctxlib.materials.catalog import parse_formula
from ctxlib.materials.elements import SHELLS, atomic_number, shell_populations
from ctxlib.micrographs.overlay import scale_bar


def context_bars(vector: np.ndarray, title: str = ""):
    """Fig. 3a: the 23-number context vector as a bar chart coloured by block."""
    fig, ax = plt.subplots(figsize=(8, 3.4))
    for block, where in CONTEXT_BLOCKS.items():
        index = np.arange(len(vector))[where]
        ax.bar(index, vector[where], color=BLOCK_COLOURS[block], label=block)
    ax.set_xticks(range(len(vector)), CONTEXT_FEATURE_NAMES, rotation=70)
    ax.set_ylabel("value")
    ax.set_title(title, pad=30)
    ax.legend(ncol=5, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    return finish(fig)


def shell_encoding(host: str, dopant: str):
    """Fig. S4: shell populations (K..P) and their division by Z for the M, X and D of a context."""
    metal, chalcogen = parse_formula(host)
    fig, axes = plt.subplots(1, 3, figsize=(8.5, 3.3), sharey=True)
    for ax, (site, symbol) in zip(axes, (("M", metal), ("X", chalcogen), ("D", dopant))):
        populations = np.array(shell_populations(symbol))
        z = atomic_number(symbol)
        bars = ax.bar(SHELLS, populations / z, color=BLOCK_COLOURS[site])
        ax.bar_label(bars, [f"{p}\n{p / z:.2f}" if p else "" for p in populations])
        ax.set_title(f"{site} = {symbol} (Z = {z})\n{' '.join(f'{s}{p}' for s, p in zip(SHELLS, populations) if p)}")
        ax.set_xlabel("shell")
    axes[0].set_ylabel("electrons / Z")
    axes[0].set_ylim(0, 0.8)
    return finish(fig)


def patch_and_moments(patches: dict[str, np.ndarray], moments: dict[str, np.ndarray], *, label: str = "{}"):
    """Fig. 3b: example patches with the unit disk drawn, and their six Zernike moments.

    ``label`` formats each patch's title from its name (e.g. ``"{} column (HAADF)"``); the moments' legend shows
    the names as they are.
    """
    fig, axes = plt.subplots(1, len(patches) + 1, figsize=(2.5 * (len(patches) + 1) + 0.5, 2.8),
                             gridspec_kw={"width_ratios": [1] * len(patches) + [1.4]})
    for ax, (name, patch) in zip(axes, patches.items()):
        ax.imshow(patch, cmap="gray")
        size = patch.shape[0]
        ax.add_patch(plt.Circle(((size - 1) / 2, (size - 1) / 2), size / 2, fill=False, color="yellow", lw=1))
        ax.set_title(label.format(name).replace(" column", "\ncolumn"))
        ax.axis("off")
    width = 0.8 / len(moments)
    for k, (name, values) in enumerate(moments.items()):
        axes[-1].bar(np.arange(len(values)) + k * width, values, width, label=name)
    axes[-1].set_xticks(np.arange(len(ZERNIKE_FEATURE_NAMES)) + 0.4 - width / 2, ZERNIKE_FEATURE_NAMES, rotation=45)
    axes[-1].axhline(0, color="k", lw=0.5)
    axes[-1].set_title("m = 0 Zernike moments")
    axes[-1].legend(loc="upper center", bbox_to_anchor=(0.5, -0.3))
    return finish(fig)


def zernike_basis_images(size: int, orders: tuple[int, ...]):
    """The radial basis functions R_n0 on the patch grid (inside the unit disk)."""

    rho = disk_coordinates(size)
    fig, axes = plt.subplots(1, len(orders), figsize=(1.15 * len(orders), 1.5))
    for ax, n in zip(axes, orders):
        ax.imshow(np.where(rho <= 1, radial_polynomial(n, rho), np.nan), cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set_title(f"$R_{{{n}}}^0$")
        ax.axis("off")
    return finish(fig)


def sublattice_split(image: np.ndarray, positions: np.ndarray, sublattice: np.ndarray, intensity: np.ndarray, *,
                     title: str = "", names: tuple[str, str] = ("sublattice 0", "sublattice 1"),
                     pixel_size: float | None = None):
    """Fig. 3c: columns coloured by sublattice (named by ``names``, e.g. their elements), and the centre intensities
    of each group; a scale bar where ``pixel_size`` (Angstrom) is given."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.5, 4), gridspec_kw={"width_ratios": [1.1, 1]})
    left.imshow(image, cmap="gray")
    jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(intensity))
    for k in (0, 1):
        group = sublattice == k
        left.scatter(positions[group, 1], positions[group, 0], s=8, color=SITE_COLOURS[k], label=names[k])
        right.scatter(k + jitter[group], intensity[group], s=6, color=SITE_COLOURS[k], alpha=0.5)
        mean = intensity[group].mean()
        right.hlines(mean, k - 0.3, k + 0.3, color="k")
        right.annotate(f"mean\n{mean:.2f}", (k + 0.32, mean), va="center")
    left.set_title(title)
    left.axis("off")
    if pixel_size is not None:
        scale_bar(left, pixel_size)
    left.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, markerscale=2)
    right.set_xticks([0, 1], list(names))
    right.set_xlim(-0.5, 1.8)
    right.set_ylabel("normalised centre intensity")
    right.set_title("brighter group -> [1, 0]\ndimmer -> [0, 1]")
    return finish(fig)


def patch_size_workflow(
    image: np.ndarray, acf: np.ndarray, lattice: LatticeEstimate, pixel_size: float, centre: np.ndarray
):
    """Fig. S9: autocorrelation, radial profile with its peaks, and the patch box around the column at ``centre`` (row, col)."""
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.4))
    half = acf.shape[0] // 2
    extent = np.array([-half, half, half, -half]) * pixel_size
    axes[0].imshow(acf, cmap="magma", extent=extent)
    axes[0].add_patch(plt.Circle((0, 0), lattice.a_px * pixel_size, fill=False, color="cyan", ls="--"))
    axes[0].set_title("autocorrelation\n(circle: a)")
    axes[0].set_xlabel("lag (A)")
    radii = lattice.radii * pixel_size
    axes[1].plot(radii, lattice.profile, color="k", lw=1)
    for r, translation in zip(lattice.peak_radii * pixel_size, lattice.is_translation):
        axes[1].axvline(r, color="tab:green" if translation else "tab:gray", ls="-" if translation else ":")
    axes[1].axvline(lattice.a_px * pixel_size, color="tab:red", lw=2, label=f"a = {lattice.a_px * pixel_size:.3f} A")
    axes[1].set_xlabel("radius (A)")
    axes[1].set_ylabel("radial mean")
    axes[1].set_title("radial profile\n(green: translations)")
    axes[1].legend(loc="upper center", bbox_to_anchor=(0.5, -0.22))
    side = lattice.patch_side_px
    axes[2].imshow(image, cmap="gray")
    cy, cx = centre
    axes[2].add_patch(plt.Rectangle((cx - side / 2, cy - side / 2), side, side, fill=False, color="yellow"))
    axes[2].set_xlim(cx - 2.5 * side, cx + 2.5 * side)
    axes[2].set_ylim(cy + 2.5 * side, cy - 2.5 * side)
    axes[2].set_title(f"patch side sqrt(3) a\n= {side * pixel_size:.2f} A")
    axes[2].axis("off")
    scale_bar(axes[2], pixel_size)
    return finish(fig)
