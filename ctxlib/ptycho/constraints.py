"""Constraints on the scan positions: composable steps that each explain one kind of scan error.

In: the nominal grid (positions, Angstrom, in scan order, ``shape = (lines, points per
line)``: line ``i`` is the ``i``-th row of the slow scan) and a proposed position field
(the positions after a free gradient step). Out: the constrained positions, and the
error field split into the parts each step explains.

A step takes what the previous steps left unexplained (the *rest*, Angstrom) and returns
the part of it that it accounts for; :func:`constrain` runs the steps in order and adds
up the parts. The steps are

* :class:`Affine`: one signed global affine map of the nominal grid, decomposed as
  ``M = R(theta) @ [[sx, shear], [0, sy]]`` (rotation with its sign, counter-clockwise
  positive in the ``(x, y)`` frame; scales; shear) plus a translation; :class:`KnownScale`
  the same with the scales pinned at known values (from a lattice constant);
* :class:`Lines`: an offset and a slope along the fast axis for each scan line
  (flyback jumps, line-by-line drift);
* :class:`LowPass` and :class:`HighPass`: Gaussian filters of the rest over the scan grid
  (slow nonlinear drift; jitter);
* :class:`Free`: the rest itself, optionally high-passed, clipped to a largest magnitude
  and with its mean removed (late, small, per-position corrections).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage


def _grid(field: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    field = np.asarray(field, dtype=np.float64)
    if field.shape != (shape[0] * shape[1], 2):
        raise ValueError(f"position field of shape {field.shape} does not fit a scan of {shape[0]} x {shape[1]}")
    return field.reshape(shape[0], shape[1], 2)


@dataclass(frozen=True)
class AffineFit:
    """A global affine map ``r = M @ r0 + t`` of the nominal grid and its decomposition.

    Attributes
    ----------
    matrix : numpy.ndarray, shape (2, 2)
    translation : numpy.ndarray, shape (2,)
        Angstrom.
    rotation_deg : float
        Signed rotation, degrees, counter-clockwise positive, in (-180, 180].
    scale : (float, float)
        Scales along x and y (1 = none).
    shear : float
        Upper-triangular shear term (dimensionless).
    """

    matrix: np.ndarray
    translation: np.ndarray
    rotation_deg: float
    scale: tuple[float, float]
    shear: float

    def apply(self, nominal: np.ndarray) -> np.ndarray:
        """The affine map applied to positions ``(N, 2)``, Angstrom."""
        return np.asarray(nominal) @ self.matrix.T + self.translation


def compose_affine(rotation_deg: float, scale: tuple[float, float] = (1.0, 1.0), *, shear: float = 0.0) -> np.ndarray:
    """``R(rotation) @ [[sx, shear], [0, sy]]``; rotation in degrees, in [-180, 180].

    Raises
    ------
    ValueError
        If the rotation lies outside +-180 degrees or a scale is not positive.
    """
    if not (math.isfinite(rotation_deg) and -180 <= rotation_deg <= 180):
        raise ValueError(f"rotation_deg = {rotation_deg!r} lies outside [-180, 180] degrees")
    if not (scale[0] > 0 and scale[1] > 0):
        raise ValueError(f"scale = {scale!r} must be positive")
    t = math.radians(rotation_deg)
    rotation = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    return rotation @ np.array([[scale[0], shear], [0.0, scale[1]]])


def decompose_affine(matrix: np.ndarray, translation: np.ndarray | None = None) -> AffineFit:
    """Split ``matrix`` into a signed rotation, scales and shear (QR with a positive diagonal)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    translation = np.zeros(2) if translation is None else translation
    theta = math.atan2(matrix[1, 0], matrix[0, 0])
    c, s = math.cos(theta), math.sin(theta)
    upper = np.array([[c, s], [-s, c]]) @ matrix
    return AffineFit(matrix, np.asarray(translation, dtype=np.float64), math.degrees(theta),
                     (float(upper[0, 0]), float(upper[1, 1])), float(upper[0, 1]))


def fit_affine(nominal: np.ndarray, positions: np.ndarray) -> AffineFit:
    """Least-squares affine map taking ``nominal`` (N, 2) to ``positions`` (N, 2), Angstrom; exact when it is one."""
    nominal, positions = np.asarray(nominal, dtype=np.float64), np.asarray(positions, dtype=np.float64)
    design = np.column_stack([nominal, np.ones(len(nominal))])
    coefficients, *_ = np.linalg.lstsq(design, positions, rcond=None)
    return decompose_affine(coefficients[:2].T, coefficients[2])


def line_coordinate(shape: tuple[int, int]) -> np.ndarray:
    """Fast-axis coordinate of each point of a line, centred and scaled to [-1, 1]."""
    return np.linspace(-1.0, 1.0, shape[1]) if shape[1] > 1 else np.zeros(1)


def fit_lines(rest: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Per-line offset and slope of a field, Angstrom: ``rest[line, u] ~ offset[line] + slope[line] * u``.

    Returns
    -------
    offsets, slopes : numpy.ndarray, shape (lines, 2)
        ``u`` runs from -1 to 1 along the line, so ``slope`` is half the change over a line.
    """
    grid = _grid(rest, shape)
    u = line_coordinate(shape)
    offsets = grid.mean(axis=1)
    norm = np.sum(u**2)
    slopes = np.einsum("j,ijk->ik", u, grid - offsets[:, None]) / norm if norm else np.zeros_like(offsets)
    return offsets, slopes


def line_field(offsets: np.ndarray, slopes: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The field ``offset + slope * u`` of every point (N, 2), Angstrom."""
    u = line_coordinate(shape)
    return (offsets[:, None] + slopes[:, None] * u[None, :, None]).reshape(-1, 2)


def lowpass(rest: np.ndarray, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Gaussian low-pass of a field over the scan grid (sigma in scan steps; edges reflected)."""
    grid = _grid(rest, shape)
    return np.stack([ndimage.gaussian_filter(grid[..., k], sigma, mode="nearest") for k in range(2)], -1).reshape(-1, 2)


def clip(field: np.ndarray, largest: float) -> np.ndarray:
    """Shorten every vector of ``field`` (N, 2) longer than ``largest`` (Angstrom) to that length."""
    field = np.asarray(field, dtype=np.float64)
    length = np.hypot(field[:, 0], field[:, 1])
    factor = np.minimum(1.0, largest / np.maximum(length, 1e-300))
    return field * factor[:, None]


@dataclass(frozen=True)
class Affine:
    """The part of the rest that one global affine map of the nominal grid explains."""

    def part(self, nominal: np.ndarray, rest: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """Affine fit of ``nominal + rest``, minus ``nominal`` (Angstrom)."""
        return fit_affine(nominal, nominal + rest).apply(nominal) - nominal


@dataclass(frozen=True)
class KnownScale:
    """The part one global affine map explains, with the map's scales pinned at known values.

    Rotation, shear and translation are fitted as by :class:`Affine`; the scales along x and
    y are not fitted but set to ``scale`` (e.g. :func:`scale_from_lattice`: the scan's scale
    from a crystal's known lattice constant), so a scale the data pin down poorly cannot drift.
    """

    scale: tuple[float, float] = (1.0, 1.0)

    def __post_init__(self):
        for value in self.scale:
            if not (isinstance(value, (int, float)) and 0.5 <= value <= 2.0):
                raise ValueError(f"scale = {self.scale!r}: each scale must be a number in [0.5, 2] (1: nominal)")

    def part(self, nominal: np.ndarray, rest: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """The pinned-scale affine map that best fits ``nominal + rest``, minus ``nominal`` (Angstrom)."""
        target = np.asarray(nominal) + rest
        fit = fit_affine(nominal, target)
        matrix = compose_affine(fit.rotation_deg, self.scale, shear=fit.shear)
        translation = target.mean(axis=0) - np.asarray(nominal).mean(axis=0) @ matrix.T
        return np.asarray(nominal) @ matrix.T + translation - nominal


def scale_from_lattice(measured: tuple[float, float], known: tuple[float, float]) -> tuple[float, float]:
    """The scan's scales (x, y) from a lattice's spacings measured in an object reconstructed on the nominal grid
    and the same spacings known (Angstrom): a scan ``s`` times larger than nominal shows the lattice ``s`` times
    smaller.

    >>> scale_from_lattice((3.098, 5.473), (3.16, 5.473))
    (1.02, 1.0)
    """
    if min(*measured, *known) <= 0:
        raise ValueError(f"lattice spacings must be > 0 Angstrom, got measured {measured!r}, known {known!r}")
    return (round(known[0] / measured[0], 4), round(known[1] / measured[1], 4))


@dataclass(frozen=True)
class Lines:
    """The part explained by one offset (and, if ``slope``, one fast-axis slope) per scan line."""

    slope: bool = True

    def part(self, nominal: np.ndarray, rest: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        offsets, slopes = fit_lines(rest, shape)
        return line_field(offsets, slopes if self.slope else np.zeros_like(slopes), shape)


@dataclass(frozen=True)
class LowPass:
    """The part that varies slowly over the scan grid (Gaussian sigma in scan steps)."""

    sigma: float = 3.0

    def part(self, nominal: np.ndarray, rest: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        return lowpass(rest, shape, self.sigma)


@dataclass(frozen=True)
class HighPass:
    """The part that varies fast over the scan grid: the rest minus its Gaussian low-pass (sigma in steps)."""

    sigma: float = 2.0

    def part(self, nominal: np.ndarray, rest: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        return np.asarray(rest) - lowpass(rest, shape, self.sigma)


@dataclass(frozen=True)
class Free:
    """The rest itself, mean removed, optionally high-passed and clipped to ``largest`` Angstrom."""

    largest: float = math.inf
    highpass_sigma: float | None = None

    def part(self, nominal: np.ndarray, rest: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        field = np.asarray(rest, dtype=np.float64)
        if self.highpass_sigma:
            field = field - lowpass(field, shape, self.highpass_sigma)
        field = field - field.mean(axis=0)
        return clip(field, self.largest) if math.isfinite(self.largest) else field


def constrain(steps: tuple, nominal: np.ndarray, proposed: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Positions ``nominal + sum of the parts`` the ``steps`` explain of ``proposed - nominal`` (Angstrom).

    With no step the positions stay nominal.
    """
    nominal = np.asarray(nominal, dtype=np.float64)
    rest = np.asarray(proposed, dtype=np.float64) - nominal
    _grid(rest, shape)
    total = np.zeros_like(rest)
    for step in steps:
        part = step.part(nominal, rest, shape)
        total, rest = total + part, rest - part
    return nominal + total


def split_errors(nominal: np.ndarray, positions: np.ndarray, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """Split ``positions - nominal`` (Angstrom) into ``affine``, ``line`` and ``residual`` parts (each (N, 2))."""
    nominal = np.asarray(nominal, dtype=np.float64)
    rest = np.asarray(positions, dtype=np.float64) - nominal
    affine = Affine().part(nominal, rest, shape)
    line = Lines().part(nominal, rest - affine, shape)
    return {"affine": affine, "line": line, "residual": rest - affine - line}


def rms_length(parts: dict[str, np.ndarray]) -> dict[str, float]:
    """Root-mean-square length, pm, of each named set of displacements (N, 2) in Angstrom.

    Examples
    --------
    >>> rms_length({"a": np.array([[0.03, 0.04], [0.0, 0.05]])})
    {'a': 5.0}
    """
    return {name: round(float(np.sqrt(np.mean(np.sum(np.asarray(d, dtype=np.float64) ** 2, axis=1)))) * 100, 9)
            for name, d in parts.items()}


def part_rms(splits: dict[str, dict[str, np.ndarray]], part: str) -> dict[str, float]:
    """Root-mean-square length, pm, of one part of each named split (:func:`rms_length`).

    Parameters
    ----------
    splits : dict
        ``{name: {part: (N, 2) displacements, Angstrom}}``, e.g. :func:`split_errors` of several position sets.
    part : str
        ``"affine"``, ``"line"`` or ``"residual"``.

    Returns
    -------
    dict
        ``{name: RMS length of that part, pm}``.

    Examples
    --------
    >>> part_rms({"a": {"affine": np.array([[0.03, 0.04]]), "line": np.zeros((1, 2))}}, "affine")
    {'a': 5.0}
    """
    return rms_length({name: split[part] for name, split in splits.items()})


def position_rmse(positions: np.ndarray, truth: np.ndarray) -> float:
    """Root-mean-square distance, Angstrom, between two position sets after removing their mean offset."""
    d = np.asarray(positions, dtype=np.float64) - np.asarray(truth, dtype=np.float64)
    d = d - d.mean(axis=0)
    return float(np.sqrt(np.mean(np.sum(d**2, axis=1))))
