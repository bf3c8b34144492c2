"""Figures of Part II, scan-position correction (notebook 07): convergence curves, quiver maps of
the position-error field, recovered affine parameters, object phases and the dose sweep.

In: arrays and tables computed by :mod:`ctxlib.ptycho` in the notebook. Out: Matplotlib
figures (tick labels at 9 pt); nothing here computes a number the book reports.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ctxlib.book.figures.style import finish

TICKS = 9
METHOD_COLOURS = {"free": "tab:red", "affine": "tab:orange", "affine+line": "tab:green", "icgd": "tab:blue",
                  "oracle": "k"}


def _ticks(axes) -> None:
    for ax in np.ravel(axes):
        ax.tick_params(labelsize=TICKS)


def convergence(rmse_pm: dict[str, np.ndarray], errors: dict[str, np.ndarray], *, target_pm: float = 10.0):
    """Position RMSE (pm, global translation removed) and data error per iteration, one line per method."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, values in rmse_pm.items():
        left.plot(np.arange(1, len(values) + 1), values, color=METHOD_COLOURS.get(name), label=name)
    left.axhline(target_pm, color="grey", ls="--", lw=1, label=f"target {target_pm:g} pm")
    left.set(yscale="log", xlabel="iteration", ylabel="position RMSE (pm)")
    for name, values in errors.items():
        right.plot(np.arange(1, len(values) + 1), values, color=METHOD_COLOURS.get(name), label=name)
    right.set(yscale="log", xlabel="iteration", ylabel="data error (normalised amplitude)")
    left.legend(fontsize=8)
    right.legend(fontsize=8)
    _ticks((left, right))
    return finish(fig)


def error_quivers(nominal: np.ndarray, fields: dict[str, np.ndarray], *, scale_pm: float | None = None):
    """Quiver maps of position-error fields ``{title: (N, 2) Angstrom}`` at the nominal positions (Angstrom).

    All panels share one arrow scale; the key arrow's length is given in pm.
    """
    lengths = [np.hypot(*f.T).max() for f in fields.values()]
    scale_pm = scale_pm or max(10.0, float(np.round(max(lengths) * 100 / 2, -1)))
    fig, axes = plt.subplots(1, len(fields), figsize=(3.4 * len(fields), 3.6), squeeze=False)
    for ax, (title, field) in zip(axes[0], fields.items()):
        q = ax.quiver(nominal[:, 0], nominal[:, 1], field[:, 0] * 100, field[:, 1] * 100, angles="xy",
                      scale_units="xy", scale=scale_pm / 1.0, width=0.004)
        ax.quiverkey(q, 0.75, 1.03, scale_pm, f"{scale_pm:g} pm", labelpos="E", fontproperties={"size": 8})
        rms = np.sqrt(np.mean(np.sum(field**2, axis=1))) * 100
        ax.set_title(f"{title}\nRMS {rms:.1f} pm", fontsize=10, pad=14)
        ax.set(xlabel="x (Å)", ylabel="y (Å)", aspect="equal")
    _ticks(axes)
    return finish(fig)


def affine_parameters(table):
    """Recovered rotation (degrees) and scales beside the truth; ``table`` is indexed by method with columns
    ``rotation (deg)``, ``scale x``, ``scale y``; a row ``truth`` is drawn as a line."""
    columns = ["rotation (deg)", "scale x", "scale y"]
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.0))
    methods = [m for m in table.index if m != "truth"]
    for ax, column in zip(axes, columns):
        ax.bar(range(len(methods)), table.loc[methods, column], color=[METHOD_COLOURS.get(m, "grey") for m in methods])
        ax.axhline(table.loc["truth", column], color="k", ls="--", lw=1, label="truth")
        ax.set_xticks(range(len(methods)), methods, rotation=20)
        low = min(table[column].min(), 0 if "rotation" in column else 1)
        high = table[column].max()
        pad = 0.1 * (high - low + 1e-6)
        ax.set(ylabel=column, ylim=(low - pad, high + pad))
    axes[0].legend(fontsize=8)
    _ticks(axes)
    return finish(fig)


def phases(images: dict[str, np.ndarray], sampling: tuple[float, float], *, border: float = 0.2):
    """Object phases (radians) side by side, each ``[x, y]`` array drawn with x to the right.

    A ``border`` fraction of each side (the flat, unvisited edge of the object) is left out,
    and each panel's colour range is the 1st to 99th percentile of what is shown.
    """
    fig, axes = plt.subplots(1, len(images), figsize=(3.3 * len(images), 3.4), squeeze=False)
    for ax, (title, phase) in zip(axes[0], images.items()):
        bx, by = int(border * phase.shape[0]), int(border * phase.shape[1])
        shown_phase = phase[bx:phase.shape[0] - bx, by:phase.shape[1] - by]
        extent = (bx * sampling[0], (phase.shape[0] - bx) * sampling[0], by * sampling[1],
                  (phase.shape[1] - by) * sampling[1])
        low, high = np.percentile(shown_phase, [1, 99])
        shown = ax.imshow(shown_phase.T, origin="lower", extent=extent, cmap="magma", vmin=low, vmax=high)
        ax.set_title(title, fontsize=10)
        ax.set(xlabel="x (Å)", ylabel="y (Å)")
        fig.colorbar(shown, ax=ax, fraction=0.046, label="phase (rad)").ax.tick_params(labelsize=TICKS)
    _ticks(axes)
    return finish(fig)


def dose_sweep(summary, target_pm: float = 10.0):
    """Mean and spread (standard deviation over seeds) of the final RMSE per dose and method.

    ``summary`` has columns ``dose``, ``method``, ``mean``, ``std`` (pm); doses as labels.
    """
    fig, ax = plt.subplots(figsize=(6, 3.4))
    doses = list(dict.fromkeys(summary["dose"]))
    methods = list(dict.fromkeys(summary["method"]))
    width = 0.8 / len(methods)
    for k, method in enumerate(methods):
        rows = summary[summary["method"] == method].set_index("dose").reindex(doses)
        ax.bar(np.arange(len(doses)) + (k - (len(methods) - 1) / 2) * width, rows["mean"], width,
               yerr=rows["std"], capsize=3, color=METHOD_COLOURS.get(method), label=method)
    ax.axhline(target_pm, color="grey", ls="--", lw=1, label=f"target {target_pm:g} pm")
    ax.set_xticks(range(len(doses)), doses)
    ax.set(xlabel="dose (e/Å²)", ylabel="final position RMSE (pm)")
    ax.legend(fontsize=8)
    _ticks(ax)
    return finish(fig)
