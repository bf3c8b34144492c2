"""iCGD: the integrated constrained gradient descent protocol, a schedule of position constraints.

In: one benchmark dataset (or patterns, nominal grid, probe and sampling) and one frozen
:class:`ICGDSettings`. Out: the reconstruction of each method and its history: ``"free"``
(per-position gradient descent), ``"affine"`` (every position step projected onto one
global affine map), ``"affine+line"`` (plus a per-line offset and slope), ``"icgd"`` (the
whole schedule below) and ``"oracle"`` (positions fixed at the truth).

Our reconstruction of the protocol (the paper's numbers and code are not available):

1. iterations ``[0, position_from)``: object only, positions nominal;
2. from ``position_from``: the affine constraint;
3. from ``line_from``: plus per-line offsets and slopes on what the affine map leaves;
4. from ``lowpass_from``: plus a Gaussian low-pass of what the lines leave (slow drift);
5. from ``free_from``: plus a late free update of the high-pass rest, each position's
   departure from the constrained field clipped to ``free_clip_pm``.

The probe is updated from ``engine.probe_from`` on in every method.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from ctxlib.base.settings import check_number
from ctxlib.ptycho.constraints import (Affine, Free, KnownScale, Lines, LowPass, constrain, fit_affine, position_rmse,
                                      split_errors)
from ctxlib.ptycho.data import PtychoData
from ctxlib.ptycho.multislice import Slices
from ctxlib.ptycho.reconstruct import EngineSettings, State, final_error, reconstruct

METHODS = ("free", "affine", "affine+line", "icgd", "oracle")
#: The engine settings of every method's reconstruction: positions move twice the engine's default step, up to
#: 0.3 Angstrom an iteration, with heavy-ball momentum.
ICGD_ENGINE = EngineSettings(position_step=2.0, max_shift=0.3, position_momentum=0.8)


@dataclass(frozen=True)
class ICGDSettings:
    """Every setting of a reconstruction and of the iCGD schedule (iterations are 0-based).

    Attributes
    ----------
    iterations : int
        Passes over the data.
    position_from, line_from, lowpass_from, free_from : int
        First iteration of each stage of the schedule (see the module docstring).
    lowpass_sigma : float
        Low-pass width, scan steps.
    free_highpass_sigma : float
        The late free update keeps the rest minus its low-pass of this width, scan steps.
    free_clip_pm : float
        Largest departure of a position from the constrained field in the free update, pm.
    engine : EngineSettings
        Step sizes, batching and seed of the gradient descent (:data:`ICGD_ENGINE` by default:
        larger, faster position steps than the engine's own defaults).
    scale_pin : (float, float) or None
        Known scales (x, y) of the scan against the nominal grid (e.g. from the lattice constant,
        :func:`~ctxlib.ptycho.constraints.scale_from_lattice`): every affine step of every method
        keeps them (:class:`~ctxlib.ptycho.constraints.KnownScale`) instead of fitting them;
        ``None``: fitted.
    """

    iterations: int = 40
    position_from: int = 8
    line_from: int = 10
    lowpass_from: int = 16
    free_from: int = 28
    lowpass_sigma: float = 3.0
    free_highpass_sigma: float = 1.5
    free_clip_pm: float = 15.0
    engine: EngineSettings = ICGD_ENGINE
    scale_pin: tuple[float, float] | None = None

    def __post_init__(self):
        check_number("iterations", self.iterations, 0, 10_000, integer=True)
        for name in ("position_from", "line_from", "lowpass_from", "free_from"):
            check_number(name, getattr(self, name), 0, 10_000, integer=True)
        check_number("free_clip_pm", self.free_clip_pm, 0, 1000)
        check_number("lowpass_sigma", self.lowpass_sigma, 0.1, 100)
        if not isinstance(self.engine, EngineSettings):
            raise ValueError(f"engine must be an EngineSettings, got {type(self.engine).__name__}")
        if self.scale_pin is not None:
            if not (isinstance(self.scale_pin, tuple) and len(self.scale_pin) == 2):
                raise ValueError(f"scale_pin = {self.scale_pin!r} must be None or a pair (x, y) of scales")
            KnownScale(self.scale_pin)

    def with_slices(self, slices: Slices) -> ICGDSettings:
        """The same settings with the object reconstructed as ``slices`` (every method, :class:`Slices`).

        >>> ICGDSettings().with_slices(Slices(3, 1.586)).engine.slices.count
        3
        """
        return replace(self, engine=replace(self.engine, slices=slices))

    def with_seed(self, seed: int) -> ICGDSettings:
        """The same settings with the mini-batch order seeded by ``seed``.

        >>> ICGDSettings().with_seed(3).engine.seed
        3
        """
        return replace(self, engine=replace(self.engine, seed=seed))


def schedule(method: str, iteration: int, *, settings: ICGDSettings = ICGDSettings()) -> tuple:
    """The constraint steps ``method`` applies after ``iteration`` (empty: positions stay nominal)."""
    if method not in METHODS:
        raise ValueError(f"method {method!r} is not one of {METHODS}")
    if method == "oracle" or iteration < settings.position_from:
        return ()
    if method == "free":
        return (Free(),)
    affine = Affine() if settings.scale_pin is None else KnownScale(settings.scale_pin)
    if method == "affine":
        return (affine,)
    if method == "affine+line":
        return (affine, Lines()) if iteration >= settings.line_from else (affine,)
    steps = [affine]
    if iteration >= settings.line_from:
        steps.append(Lines())
    if iteration >= settings.lowpass_from:
        steps.append(LowPass(settings.lowpass_sigma))
    if iteration >= settings.free_from:
        steps.append(Free(settings.free_clip_pm / 100, settings.free_highpass_sigma))
    return tuple(steps)


def stage_table(settings: ICGDSettings = ICGDSettings()) -> list[dict]:
    """Rows ``from, to, steps`` of the iCGD schedule, for a table on a page."""
    bounds = sorted({0, settings.position_from, settings.line_from, settings.lowpass_from, settings.free_from})
    bounds = [b for b in bounds if b < settings.iterations] + [settings.iterations]
    rows = []
    for start, stop in itertools.pairwise(bounds):
        steps = schedule("icgd", start, settings=settings)
        rows.append({"iterations": f"{start}-{stop - 1}",
                     "position constraint": " + ".join(repr(s) for s in steps) or "none (object only)"})
    return rows


@dataclass(frozen=True)
class Result:
    """One method's reconstruction: final state, its data error, and the positions per iteration."""

    method: str
    state: State
    data_error: float
    errors: np.ndarray
    positions: np.ndarray


def run_method(data: PtychoData, method: str, *, settings: ICGDSettings = ICGDSettings(),
               checkpoint: Path | None = None, device: str | None = None) -> Result:
    """Reconstruct ``data`` with ``method`` (see :data:`METHODS`) under ``settings``, on torch ``device``.

    ``errors[i]`` is the data error during iteration ``i``; ``positions[i]`` the positions
    after it (Angstrom), ``positions[-1]`` the final ones.
    """
    if method not in METHODS:
        raise ValueError(f"method {method!r} is not one of {METHODS}")
    start = data.truth if method == "oracle" else data.nominal

    def rule(iteration: int, proposed: np.ndarray) -> np.ndarray:
        return constrain(schedule(method, iteration, settings=settings), data.nominal, proposed, data.scan_shape)

    state = reconstruct(data.patterns, start, data.probe, data.sampling, settings.iterations,
                        rule=None if method == "oracle" else rule, settings=settings.engine, checkpoint=checkpoint,
                        tag=f"{method}{settings}",
                        bandlimit=data.bandlimit, device=device, energy_kev=data.energy_kev)
    return Result(method, state, final_error(state, data.patterns, data.sampling, bandlimit=data.bandlimit,
                                             slices=settings.engine.slices, energy_kev=data.energy_kev),
                  np.array([h["data_error"] for h in state.history]),
                  np.array([h["positions"] for h in state.history]))


def run_methods(data: PtychoData, methods: tuple[str, ...] = METHODS, *, settings: ICGDSettings = ICGDSettings(),
                folder: Path | None = None, device: str | None = None) -> dict[str, Result]:
    """Run each method on ``data`` on torch ``device``; with ``folder``, each run checkpoints to (and resumes from)
    a file there."""
    out = {}
    for method in methods:
        path = None if folder is None else Path(folder) / f"{data.case}_{dose_tag(data.dose)}_{method}_s{settings.engine.seed}.pt"
        out[method] = run_method(data, method, settings=settings, checkpoint=path, device=device)
    return out


def dose_tag(dose: float) -> str:
    """``inf`` or e.g. ``1e+04`` (electrons per square Angstrom)."""
    return "inf" if math.isinf(dose) else f"{dose:.0e}"


def rmse_curve(positions: Iterable[np.ndarray], truth: np.ndarray) -> np.ndarray:
    """Position RMSE, pm (global translation removed, :func:`~ctxlib.ptycho.constraints.position_rmse`), of each
    position set of a history.

    Parameters
    ----------
    positions : iterable of (N, 2) arrays
        Positions after each iteration, Angstrom (:attr:`Result.positions`, or those of a state's history).
    truth : (N, 2) array
        True positions, Angstrom.

    Returns
    -------
    (iterations,) array
        RMSE after each iteration, pm.
    """
    return np.array([position_rmse(p, truth) * 100 for p in positions])


def convergence_curves(data: PtychoData, results: dict[str, Result]) -> tuple[dict[str, np.ndarray],
                                                                               dict[str, np.ndarray]]:
    """What each method's reconstruction did per iteration: position RMSE and data error.

    Parameters
    ----------
    data : PtychoData
        The dataset the results reconstructed (its truth scores the positions).
    results : dict
        ``{method: Result}``, as :func:`run_methods` returns.

    Returns
    -------
    rmse : dict
        ``{method: position RMSE per iteration, pm}`` (:func:`rmse_curve`), the oracle left out (it keeps the
        true positions).
    errors : dict
        ``{method: data error per iteration}`` (normalised amplitude error), every method.
    """
    rmse = {name: rmse_curve(r.positions, data.truth) for name, r in results.items() if name != "oracle"}
    return rmse, {name: r.errors for name, r in results.items()}


def errors_left(data: PtychoData, results: dict[str, Result]) -> dict[str, dict[str, np.ndarray]]:
    """The position error each method leaves (truth minus final positions, mean removed), split into parts.

    Parameters
    ----------
    data : PtychoData
    results : dict
        ``{method: Result}``, as :func:`run_methods` returns; the oracle is left out.

    Returns
    -------
    dict
        ``{method: {"affine", "line", "residual": (N, 2) array, Angstrom}}``
        (:func:`~ctxlib.ptycho.constraints.split_errors` of the error left at the nominal grid).
    """
    gaps = {name: data.truth - r.state.positions for name, r in results.items() if name != "oracle"}
    return {name: split_errors(data.nominal, data.nominal + gap - gap.mean(0), data.scan_shape)
            for name, gap in gaps.items()}


def seed_scores(data: PtychoData, seeds: Iterable[int], *, methods: tuple[str, ...] = METHODS,
                settings: ICGDSettings = ICGDSettings(), folder: Path | None = None,
                device: str | None = None) -> list[dict]:
    """:func:`scores` of every method on one dataset, run once per seed of the mini-batch order.

    Parameters
    ----------
    data : PtychoData
    seeds : iterable of int
        Each run uses ``settings.with_seed(seed)``.
    methods, folder, device
        As :func:`run_methods`.
    settings : ICGDSettings
        The settings of every run, but for the seed.

    Returns
    -------
    list of dict
        The rows of :func:`scores` of each seed in turn, each with ``"seed"`` first.
    """
    rows = []
    for seed in seeds:
        found = run_methods(data, methods, settings=settings.with_seed(seed), folder=folder, device=device)
        rows += [{"seed": seed, **row} for row in scores(data, found)]
    return rows


def dose_scores(load: Callable[..., PtychoData], doses: Iterable[float], seeds: Iterable[int], *,
                methods: tuple[str, ...] = METHODS, settings: ICGDSettings = ICGDSettings(),
                folder: Path | None = None, device: str | None = None) -> list[dict]:
    """:func:`scores` of every method at each dose and seed: the seed draws the noise and the mini-batch order.

    Parameters
    ----------
    load : callable
        ``load(dose, seed=seed)`` returns the dataset at that dose (electrons per square Angstrom) with that
        seed's noise, e.g. ``functools.partial(load_case, "affine", scale="quick")``.
    doses : iterable of float
        Electrons per square Angstrom.
    seeds : iterable of int
    methods, settings, folder, device
        As :func:`seed_scores`.

    Returns
    -------
    list of dict
        For each dose, then each seed, the rows of :func:`scores`, each with ``"dose"`` (:func:`dose_tag`)
        and ``"seed"`` first.
    """
    seeds = list(seeds)
    return [{"dose": dose_tag(dose), **row} for dose in doses for seed in seeds
            for row in seed_scores(load(dose, seed=seed), [seed], methods=methods, settings=settings, folder=folder,
                                   device=device)]


def scores(data: PtychoData, results: dict[str, Result]) -> list[dict]:
    """Per method: final position RMSE (pm, translation removed), data error and its ratio to the oracle's,
    and the iteration at which the RMSE first reached 10 pm (``None``: never)."""
    oracle = results["oracle"].data_error if "oracle" in results else math.nan
    rows = []
    for name, result in results.items():
        curve = rmse_curve(result.positions, data.truth)
        below = np.flatnonzero(curve <= 10.0)
        rows.append({"method": name, "RMSE (pm)": float(curve[-1]), "data error": result.data_error,
                     "data error / oracle": result.data_error / oracle,
                     "first iteration <= 10 pm": int(below[0]) + 1 if len(below) else None})
    return rows


def affine_rows(data: PtychoData, results: dict[str, Result]) -> list[dict]:
    """The global affine map fitted to the true and to each method's final positions: signed rotation
    (degrees), scales and shear."""
    fits = {"truth": fit_affine(data.nominal, data.truth)}
    fits.update({name: fit_affine(data.nominal, r.state.positions) for name, r in results.items() if name != "oracle"})
    return [{"method": name, "rotation (deg)": f.rotation_deg, "scale x": f.scale[0], "scale y": f.scale[1],
             "shear": f.shear} for name, f in fits.items()]


def truth_drift(data: PtychoData, settings: ICGDSettings = ICGDSettings(), *, patterns: np.ndarray | None = None,
                hold: int = 20, method: str = "free") -> np.ndarray:
    """A diagnostic, not a method: start at the *true* positions, reconstruct the object (and probe) for
    ``hold`` iterations with the positions fixed there, then let ``method``'s steps move them (``free``:
    per-position; ``affine``: one global map) until ``settings.iterations``. Returns the position RMSE (pm,
    translation removed) after each iteration.

    If the estimator is unbiased for these data the positions stay at the truth; if they walk away, the
    model prefers other positions (a model mismatch), and no schedule started from the nominal grid can be
    expected to end at the truth. ``patterns`` replaces the data's (e.g. patterns of our own model).
    """
    steps = {"free": (Free(),), "affine": (Affine(),)}[method]

    def rule(iteration: int, proposed: np.ndarray) -> np.ndarray:
        return constrain(steps if iteration >= hold else (), data.truth, proposed, data.scan_shape)

    state = reconstruct(data.patterns if patterns is None else patterns, data.truth, data.probe, data.sampling,
                        settings.iterations, rule=rule, settings=settings.engine, bandlimit=data.bandlimit,
                        energy_kev=data.energy_kev)
    return rmse_curve([h["positions"] for h in state.history], data.truth)

