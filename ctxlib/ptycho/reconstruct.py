"""Object, probe and position gradient descent in PyTorch, with checkpoints.

In: centred diffraction patterns (N, n, n), starting positions (N, 2) in Angstrom, a
starting probe (n, n), the sampling (Angstrom per pixel), and a *position rule* that
turns the positions proposed by a free gradient step into the positions kept (the
constraints of :mod:`ctxlib.ptycho.constraints`, scheduled by :mod:`ctxlib.ptycho.icgd`).
Out: the reconstructed object, probe and positions, and per iteration the data error
and the positions.

One iteration visits every position once in random mini-batches. For each batch the
exit waves ``psi = P(r - r_j) O(r)`` are compared with the measured amplitudes; the
amplitude loss ``sum (|F psi| - sqrt(I))^2`` has the gradient ``-(psi' - psi)`` with
respect to ``psi*``, where ``psi'`` has the measured modulus (``chi = psi' - psi``). The
object takes the preconditioned gradient step ``O += beta sum conj(P_j) chi_j / ((1 - a)
sum |P_j|^2 + a max sum |P_j|^2)`` (rPIE-like), the probe the same with the roles swapped.
Each position's step is the Gauss-Newton solution of ``chi_j ~ (P_j grad O) . d_j``
(the object-gradient form of Odstrcil et al. 2018, which ignores the data-invisible part
of a shift); the steps of one iteration are clipped, added to the positions and passed
to the position rule once the iteration is over.

With several slices (``EngineSettings.slices``, :mod:`ctxlib.ptycho.multislice`) the probe is
carried through the object's slices by Fresnel propagation; each slice takes the step above
with the wave incident on it and the error carried back to it through the slices after it, the
probe takes the error carried back to the first slice, and the position step's derivative is
carried forward through the slices.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ctxlib.base import config
from ctxlib.base.files import atomic_write
from ctxlib.base.settings import check_number
from ctxlib.ptycho.forward import Geometry, check_inputs, pad_probe, shifted_probes
from ctxlib.ptycho.multislice import Slices, exit_waves, layers, send_back, shift_derivatives, slice_kernels, transmit
from ctxlib.ptycho.probe import BANDLIMIT

#: ``rule(iteration, proposed positions (N, 2)) -> positions kept`` (Angstrom); ``None`` keeps positions fixed.
PositionRule = Callable[[int, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class EngineSettings:
    """Step sizes and batching of the gradient descent.

    Attributes
    ----------
    batch_size : int
        Positions per mini-batch.
    object_step, probe_step : float
        Preconditioned step sizes ``beta`` (dimensionless).
    object_alpha : float
        rPIE regularisation ``a`` of the object's preconditioner, in [0, 1].
    probe_from : int
        First iteration (0-based) that updates the probe.
    position_step : float
        Fraction of each position's Gauss-Newton step taken.
    max_shift : float
        Largest position step per iteration, Angstrom.
    position_momentum : float
        Heavy-ball momentum of the positions, in [0, 1): the last iteration's move, times this,
        is added to the proposed positions before the rule projects them (the moves along a
        constrained, data-soft direction such as a global rotation add up instead of stalling).
    margin : float
        Object border beyond the outermost probe window, Angstrom.
    seed : int
        Seeds the order of the mini-batches.
    slices : Slices
        Keyword only: the object's slices along the beam and their distance, Angstrom
        (:class:`ctxlib.ptycho.multislice.Slices`; the default, one slice, is the single-slice model).
        Each slice takes ``object_step / count`` (the slices' phases add up, so the whole object moves as
        far as one slice would); the probe is the wave arriving at the first slice.
    """

    batch_size: int = 64
    object_step: float = 1.0
    probe_step: float = 1.0
    object_alpha: float = 0.1
    probe_from: int = 5
    position_step: float = 1.0
    max_shift: float = 0.1
    margin: float = 1.0
    seed: int = 0
    position_momentum: float = 0.0
    _: KW_ONLY
    slices: Slices = Slices()

    def __post_init__(self):
        check_number("batch_size", self.batch_size, 1, 1_000_000, integer=True)
        for name in ("object_step", "probe_step", "position_step"):
            check_number(name, getattr(self, name), 0, 100)
        check_number("object_alpha", self.object_alpha, 0, 1)
        check_number("probe_from", self.probe_from, 0, 1_000_000, integer=True)
        check_number("max_shift", self.max_shift, 0, 100)
        check_number("margin", self.margin, 0, 1000)
        check_number("seed", self.seed, 0, 2**63 - 1, integer=True)
        check_number("position_momentum", self.position_momentum, 0, 0.999)
        if not isinstance(self.slices, Slices):
            raise ValueError(f"slices = {self.slices!r} must be a Slices (count, thickness in Angstrom)")


@dataclass
class State:
    """Where a reconstruction stands; positions in the data's frame, Angstrom."""

    obj: torch.Tensor
    probe: torch.Tensor
    positions: np.ndarray
    origin: np.ndarray
    iteration: int = 0
    history: list = field(default_factory=list)
    velocity: np.ndarray | None = None


def check_device(device: torch.device | str | None = None) -> torch.device:
    """``device`` as a torch device (``None``: the ``device`` knob of :mod:`ctxlib.base.config`), or a
    ValueError naming it and what this machine allows."""
    try:
        device = torch.device(config.get("device") if device is None else device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device {device!r} is not a torch device ('cpu', 'cuda', 'cuda:0', ...): {error}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r} is not available here (no CUDA GPU is visible to torch); use 'cpu'")
    return device


def initial_state(patterns_shape: tuple[int, ...], positions: np.ndarray, probe: np.ndarray,
                  sampling: tuple[float, float], *, margin: float = 1.0,
                  device: torch.device | str | None = None, slices: int = 1) -> State:
    """Flat object (1 + 0i) covering every window, the probe padded to the pattern grid, the positions;
    object and probe on ``device``. The object is (X, Y) for one slice, (slices, X, Y) for more."""
    positions = np.asarray(positions, dtype=np.float64)
    window = np.array(patterns_shape[1:])
    d = np.asarray(sampling)
    low = positions.min(axis=0) - window * d / 2 - margin
    high = positions.max(axis=0) + window * d / 2 + margin
    shape = tuple(int(n) for n in np.ceil((high - low) / d) + 1)
    device = check_device(device)
    obj = torch.ones(shape if slices == 1 else (slices, *shape), dtype=torch.complex64, device=device)
    p = torch.as_tensor(pad_probe(np.asarray(probe), tuple(window)), dtype=torch.complex64, device=device)
    return State(obj, p, positions.copy(), low)


def _derivatives(obj: torch.Tensor, sampling: tuple[float, float]) -> tuple[torch.Tensor, torch.Tensor]:
    dx = (torch.roll(obj, -1, -2) - torch.roll(obj, 1, -2)) / (2 * sampling[0])
    dy = (torch.roll(obj, -1, -1) - torch.roll(obj, 1, -1)) / (2 * sampling[1])
    return dx, dy


def iterate(state: State, amplitudes: torch.Tensor, geometry: Geometry, settings: EngineSettings,
            moves: bool, *, kernels: Sequence[torch.Tensor] = ()) -> tuple[float, np.ndarray]:
    """One pass over every position; updates object and probe in place, returns data error and position steps.

    ``amplitudes`` are the measured ``sqrt(I)`` in FFT order (N, n, n); ``kernels`` the Fresnel propagators
    between the slices (:func:`ctxlib.ptycho.multislice.slice_kernels`), none for one slice.
    """
    if len(kernels) != settings.slices.count - 1:
        raise ValueError(f"{len(kernels)} propagators for {settings.slices.count} slices: "
                         f"{settings.slices.count - 1} are needed")
    n = len(amplitudes)
    order = np.random.default_rng([settings.seed, state.iteration]).permutation(n)
    device = state.obj.device
    local = torch.as_tensor(state.positions - state.origin, dtype=torch.float32, device=device)
    steps = np.zeros((n, 2))
    error = 0.0
    obj, probe = state.obj, state.probe
    for start in range(0, n, settings.batch_size):
        rows = order[start:start + settings.batch_size]
        batch = torch.as_tensor(rows, device=device)
        index, remainder = geometry.split(local[batch])
        windows = layers(obj, index)
        psi, incident = transmit(shifted_probes(probe, remainder, geometry), windows, kernels)
        big = torch.fft.fft2(psi, norm="ortho") * geometry.mask
        modulus = big.abs()
        measured = amplitudes[batch]
        error += float(torch.sum((modulus - measured) ** 2))
        chi = torch.fft.ifft2((measured / (modulus + 1e-12) - 1) * big, norm="ortho")
        if moves:
            dx, dy = _derivatives(obj, geometry.sampling)
            gx, gy = shift_derivatives(incident, windows, torch.stack([layers(dx, index), layers(dy, index)], 1),
                                       kernels)
            a, c = (gx.abs() ** 2).sum((1, 2)), (gy.abs() ** 2).sum((1, 2))
            b = (gx.conj() * gy).real.sum((1, 2))
            ux, uy = (gx.conj() * chi).real.sum((1, 2)), (gy.conj() * chi).real.sum((1, 2))
            det = a * c - b**2
            det = det + 1e-3 * det.max() + 1e-20
            steps[rows] = torch.stack([(c * ux - b * uy) / det, (a * uy - b * ux) / det], 1).cpu().numpy()
        updates, chi = send_back(chi, incident, windows, kernels)
        count = len(windows)
        plane = obj.shape[-2] * obj.shape[-1]
        flat = (index.reshape(-1)[None] + plane * torch.arange(count, device=device)[:, None]).reshape(-1)
        numerator = torch.zeros(obj.numel(), dtype=obj.dtype, device=device).index_add_(
            0, flat, torch.stack(updates).reshape(-1)).reshape(count, -1)
        weight = torch.zeros(obj.numel(), dtype=torch.float32, device=device).index_add_(
            0, flat, torch.stack([w.abs() ** 2 for w in incident]).reshape(-1)).reshape(count, -1)
        a_ = settings.object_alpha
        peak = weight.max(1, keepdim=True).values  # per slice
        step = settings.object_step / count  # shared by the slices: their phases add up
        obj += (step * numerator / ((1 - a_) * weight + a_ * peak + 1e-12)).reshape(obj.shape)
        if state.iteration >= settings.probe_from:
            o = windows[0]
            back = torch.fft.ifft2(torch.fft.fft2(o.conj() * chi) * geometry.ramp(-remainder))
            probe += settings.probe_step * back.sum(0) / ((o.abs() ** 2).sum(0).max() + 1e-12)
    return error / float(torch.sum(amplitudes**2)), steps


def _key(patterns: np.ndarray, positions: np.ndarray, probe: np.ndarray, settings: EngineSettings, tag: str) -> str:
    digest = hashlib.sha256()
    for array in (patterns, positions, probe):
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(json.dumps([repr(settings), tag]).encode())
    return digest.hexdigest()


def save_checkpoint(path: Path, state: State, key: str) -> None:
    """Write ``state`` to ``path`` atomically (a stop mid-write leaves the previous checkpoint).

    Everything is stored as tensors, numbers and strings, so that :func:`load_checkpoint`
    reads it with ``torch.load(..., weights_only=True)``.
    """
    def tensor(array: np.ndarray | None) -> torch.Tensor | None:
        return None if array is None else torch.from_numpy(np.array(array, dtype=np.float64))

    buffer = io.BytesIO()
    torch.save({"key": key, "obj": state.obj, "probe": state.probe, "positions": tensor(state.positions),
                "origin": tensor(state.origin), "iteration": state.iteration,
                "history": [{"data_error": float(h["data_error"]), "positions": tensor(h["positions"])}
                            for h in state.history],
                "velocity": tensor(state.velocity)}, buffer)
    atomic_write(Path(path), lambda h: h.write(buffer.getvalue()))


def load_checkpoint(path: Path, key: str, *, device: torch.device | str | None = None) -> State | None:
    """The state saved at ``path`` for this run (same data, start and settings), or ``None``; object and
    probe on ``device``.

    Read with ``weights_only=True``; a file written before checkpoints held only tensors
    (numpy arrays inside) is not unpickled, and the run starts over.
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        saved = torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError:
        return None
    if saved.get("key") != key:
        return None

    def array(value: torch.Tensor | None) -> np.ndarray | None:
        return None if value is None else value.numpy()

    history = [{"data_error": h["data_error"], "positions": array(h["positions"])} for h in saved["history"]]
    device = check_device(device)
    return State(saved["obj"].to(device), saved["probe"].to(device), array(saved["positions"]), array(saved["origin"]),
                 saved["iteration"], history, array(saved["velocity"]))


def reconstruct(patterns: np.ndarray, positions: np.ndarray, probe: np.ndarray, sampling: tuple[float, float],
                iterations: int, *, rule: PositionRule | None = None, settings: EngineSettings = EngineSettings(),
                checkpoint: Path | None = None, checkpoint_every: int = 5, tag: str = "",
                stop_after: int | None = None, bandlimit: float = BANDLIMIT,
                device: torch.device | str | None = None, energy_kev: float | None = None) -> State:
    """Reconstruct object, probe and (if ``rule``) positions from centred patterns.

    Parameters
    ----------
    patterns : numpy.ndarray, shape (N, n, n)
        Centred diffraction intensities, fraction of the beam per pixel.
    positions : numpy.ndarray, shape (N, 2)
        Starting positions, Angstrom.
    probe : numpy.ndarray, shape (px, py)
        Starting probe, no larger than the patterns.
    sampling : (float, float)
        Angstrom per pixel.
    iterations : int
        Passes over the data.
    rule : callable, optional
        ``rule(iteration, proposed) -> positions`` applied after each iteration; ``None``: fixed positions.
    settings : EngineSettings
    checkpoint : pathlib.Path, optional
        File to resume from and to write every ``checkpoint_every`` iterations and at the end.
    tag : str
        Names the rule in the checkpoint's key (a different rule does not resume another's run).
    stop_after : int, optional
        Stop (after checkpointing) once this many iterations are done in this call (for tests).
    bandlimit : float
        Band limit of the model, fraction of the window's Nyquist frequency (see
        :func:`ctxlib.ptycho.forward.crop_patterns`).
    device : torch.device or str
        Where object, probe and patterns live ("cpu", "cuda", ...); the positions and their
        constraints stay in NumPy. A checkpoint made on one device resumes on another.
    energy_kev : float, optional
        Beam energy, keV: needed (for the Fresnel propagators) when ``settings.slices`` has more than one slice.

    Returns
    -------
    State
        ``history[i]`` holds ``data_error`` (before iteration ``i``'s updates) and ``positions``.
    """
    patterns, positions, probe = np.asarray(patterns), np.asarray(positions, dtype=np.float64), np.asarray(probe)
    check_inputs(patterns, positions, probe)
    if not (isinstance(iterations, int) and iterations >= 0):
        raise ValueError(f"iterations = {iterations!r} must be a non-negative integer")
    device = check_device(device)
    slices = settings.slices
    key = _key(patterns, positions, probe, settings, f"{tag} {bandlimit}" + (f" {energy_kev} keV" if slices.count > 1
                                                                            else ""))
    state = load_checkpoint(checkpoint, key, device=device) if checkpoint else None
    if state is None:
        state = initial_state(patterns.shape, positions, probe, sampling, margin=settings.margin, device=device,
                              slices=slices.count)
    geometry = Geometry(tuple(state.obj.shape[-2:]), patterns.shape[1:], sampling, torch.float32, bandlimit, device)
    kernels = slice_kernels(geometry, slices, energy_kev)
    amplitudes = _amplitudes(patterns, device)
    done = 0
    while state.iteration < iterations and (stop_after is None or done < stop_after):
        error, steps = iterate(state, amplitudes, geometry, settings, rule is not None, kernels=kernels)
        if rule is not None:
            steps = settings.position_step * steps
            length = np.hypot(steps[:, 0], steps[:, 1])
            steps *= np.minimum(1.0, settings.max_shift / np.maximum(length, 1e-300))[:, None]
            velocity = state.velocity if state.velocity is not None else np.zeros_like(steps)
            proposed = state.positions + steps + settings.position_momentum * velocity
            kept = np.asarray(rule(state.iteration, proposed), dtype=np.float64)
            state.velocity, state.positions = kept - state.positions, kept
        state.history.append({"data_error": error, "positions": state.positions.copy()})
        state.iteration += 1
        done += 1
        if checkpoint and (state.iteration % checkpoint_every == 0 or state.iteration == iterations
                           or done == stop_after):
            save_checkpoint(checkpoint, state, key)
    return state


def _amplitudes(patterns: np.ndarray, device: torch.device) -> torch.Tensor:
    """Measured amplitudes ``sqrt(I)`` of centred patterns, in FFT order, float32 on ``device``."""
    return torch.fft.ifftshift(torch.as_tensor(np.sqrt(np.maximum(patterns, 0)), dtype=torch.float32, device=device),
                               dim=(-2, -1))


def final_error(state: State, patterns: np.ndarray, sampling: tuple[float, float],
                *, bandlimit: float = BANDLIMIT, slices: Slices = Slices(), energy_kev: float | None = None) -> float:
    """Normalised amplitude error of the final object, probe and positions over all patterns (dimensionless).

    ``slices`` and ``energy_kev`` (keV) as the reconstruction's (:class:`EngineSettings`, :func:`reconstruct`).
    """
    device = state.obj.device
    geometry = Geometry(tuple(state.obj.shape[-2:]), np.shape(patterns)[1:], sampling, torch.float32, bandlimit,
                        device)
    kernels = slice_kernels(geometry, slices, energy_kev)
    amplitudes = _amplitudes(patterns, device)
    local = torch.as_tensor(state.positions - state.origin, dtype=torch.float32, device=device)
    total = 0.0
    for start in range(0, len(local), 256):
        psi = exit_waves(state.obj, state.probe, local[start:start + 256], geometry, kernels)
        modulus = (torch.fft.fft2(psi, norm="ortho") * geometry.mask).abs()
        total += float(torch.sum((modulus - amplitudes[start:start + 256]) ** 2))
    return total / float(torch.sum(amplitudes**2))


def object_phase(state: State) -> np.ndarray:
    """Phase of the reconstructed object, radians (mean removed); of several slices, their summed (projected)
    phase."""
    obj = state.obj.cpu().numpy()
    phase = np.angle(obj if obj.ndim == 2 else np.prod(obj, axis=0))
    return phase - np.median(phase)


