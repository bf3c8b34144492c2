"""Multislice ptychographic forward model: the object as thin slices separated by Fresnel propagation.

In: the object as ``S`` complex transmission functions (one per slice, arrays indexed
``[slice, x, y]``, sampling in Angstrom per pixel, periodic), the distance between
successive slices (Angstrom), the beam energy (keV), a complex probe on the pattern grid
and probe positions ``(x, y)`` in Angstrom. Out: the exit waves and diffraction
intensities of the probe carried through the slices, the wave incident on each slice
(what the gradient engine of :mod:`ctxlib.ptycho.reconstruct` needs for its object
updates), the error sent back through the slices, and the exit wave's derivative with
respect to a shift of the probe.

Each slice transmits (``psi <- psi O_s``) and the wave then travels the slice distance
``dz`` to the next slice with the Fresnel propagator ``exp(-i pi lambda k^2 dz)``
band-limited to the window's 2/3-Nyquist aperture, as abTEM's multislice does (PtyRAD and
py4DSTEM's multislice classes use the same propagator). One slice is the single-slice
model of :mod:`ctxlib.ptycho.forward`, operation for operation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ctxlib.base.electrons import electron_wavelength
from ctxlib.base.settings import check_number
from ctxlib.ptycho.forward import Geometry, far_field, shifted_probes
from ctxlib.ptycho.probe import spatial_frequencies


@dataclass(frozen=True)
class Slices:
    """How the reconstruction divides the object along the beam.

    Attributes
    ----------
    count : int
        Number of slices, in [1, 64] (1: the single-slice model).
    thickness : float
        Distance between successive slices, Angstrom, in [0, 100] (ignored for one slice).

    Examples
    --------
    >>> Slices(3, 1.586).total
    3.172
    """

    count: int = 1
    thickness: float = 0.0

    def __post_init__(self):
        check_number("count", self.count, 1, 64, integer=True)
        check_number("thickness", self.thickness, 0, 100)

    @property
    def total(self) -> float:
        """Distance from the first slice to the last, Angstrom."""
        return round((self.count - 1) * self.thickness, 9)

    def label(self) -> str:
        """``"single slice"`` or e.g. ``"3 slices, 1.586 A apart"``, for tables."""
        return "single slice" if self.count == 1 else f"{self.count} slices, {self.thickness:g} A apart"


def fresnel_kernel(geometry: Geometry, energy_kev: float, thickness: float) -> torch.Tensor:
    """Fresnel propagator over ``thickness`` (Angstrom) at ``energy_kev`` (keV) on the window, FFT order.

    ``exp(-i pi lambda k^2 dz)`` times the window's band limit, complex, with the dtype
    and device of ``geometry``'s band limit (``torch.float32`` -> ``complex64``).
    """
    kx, ky = spatial_frequencies(geometry.window, geometry.sampling)
    phase = -np.pi * electron_wavelength(energy_kev) * thickness * (kx**2 + ky**2)
    mask = geometry.mask.cpu().numpy().astype(np.float64)
    complex_dtype = torch.complex64 if geometry.mask.dtype == torch.float32 else torch.complex128
    return torch.as_tensor(mask * np.exp(1j * phase), dtype=complex_dtype, device=geometry.mask.device)


def propagators(geometry: Geometry, energy_kev: float | None, thicknesses: Sequence[float]) -> list[torch.Tensor]:
    """One :func:`fresnel_kernel` per gap between slices (``thicknesses``, Angstrom); equal gaps share one."""
    if not len(thicknesses):
        return []
    if energy_kev is None:
        raise ValueError(f"energy_kev = None: {len(thicknesses) + 1} slices need the beam energy (keV) to "
                         "propagate between them")
    check_number("energy_kev", energy_kev, 1, 10_000)
    made: dict[float, torch.Tensor] = {}
    return [made.setdefault(float(t), fresnel_kernel(geometry, energy_kev, float(t))) for t in thicknesses]


def slice_kernels(geometry: Geometry, slices: Slices, energy_kev: float | None) -> list[torch.Tensor]:
    """The ``slices.count - 1`` propagators between the slices of ``slices`` (empty for one slice)."""
    return propagators(geometry, energy_kev, [slices.thickness] * (slices.count - 1))


def propagate(waves: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Waves (..., nx, ny) carried by a Fresnel ``kernel`` (FFT order); ``kernel.conj()`` carries them back."""
    return torch.fft.ifft2(torch.fft.fft2(waves) * kernel)


def layers(obj: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Each slice's object window at every position: (S, N, nx, ny) from an object (S, X, Y) or (X, Y) (one slice)
    and the flat window indices (N, nx, ny) of :meth:`Geometry.split`."""
    plane = obj.shape[-2] * obj.shape[-1]
    return obj.reshape(-1, plane)[:, index]


def transmit(probes: torch.Tensor, windows: torch.Tensor, kernels: Sequence[torch.Tensor]
             ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Carry probes (N, nx, ny) through the slices' object windows (S, N, nx, ny).

    Returns
    -------
    exit : torch.Tensor, (N, nx, ny)
        The wave leaving the last slice (before any further propagation).
    incident : list of torch.Tensor
        The wave arriving at each slice (``incident[0]`` is ``probes``).
    """
    if len(kernels) != len(windows) - 1:
        raise ValueError(f"{len(kernels)} propagators for {len(windows)} slices: {len(windows) - 1} are needed")
    incident = [probes]
    psi = probes * windows[0]
    for s in range(1, len(windows)):
        incident.append(propagate(psi, kernels[s - 1]))
        psi = incident[s] * windows[s]
    return psi, incident


def send_back(chi: torch.Tensor, incident: list[torch.Tensor], windows: torch.Tensor,
              kernels: Sequence[torch.Tensor]) -> tuple[list[torch.Tensor], torch.Tensor]:
    """The exit-wave error ``chi`` (N, nx, ny) carried back through the slices (the adjoint of :func:`transmit`).

    Returns
    -------
    updates : list of torch.Tensor
        Per slice, ``conj(incident_s) chi_s``: the object gradient of slice ``s`` at each window.
    chi : torch.Tensor
        The error at the first slice's exit, whose ``conj(O_0) chi`` is the probe's gradient.
    """
    updates = [incident[-1].conj() * chi]
    for s in range(len(windows) - 1, 0, -1):
        chi = propagate(windows[s].conj() * chi, kernels[s - 1].conj())
        updates.insert(0, incident[s - 1].conj() * chi)
    return updates, chi


def shift_derivatives(incident: list[torch.Tensor], windows: torch.Tensor, derivatives: torch.Tensor,
                      kernels: Sequence[torch.Tensor]) -> torch.Tensor:
    """Change of the exit wave when every slice moves by a unit step along x and y (2, N, nx, ny).

    ``derivatives`` (S, 2, N, nx, ny) are each slice's spatial derivatives (per Angstrom) at the
    windows; one slice gives ``P dO/dx`` and ``P dO/dy``, the object-gradient form of the position
    step (Odstrcil et al. 2018). More slices carry each slice's term through the slices after it.
    """
    g = incident[0][None] * derivatives[0]
    for s in range(1, len(windows)):
        g = propagate(g, kernels[s - 1]) * windows[s][None] + incident[s][None] * derivatives[s]
    return g


def exit_waves(obj: torch.Tensor, probe: torch.Tensor, positions: torch.Tensor, geometry: Geometry,
               kernels: Sequence[torch.Tensor]) -> torch.Tensor:
    """Exit waves (N, nx, ny) of the probe at ``positions`` (N, 2), Angstrom, through the slices of ``obj``."""
    index, remainder = geometry.split(positions)
    return transmit(shifted_probes(probe, remainder, geometry), layers(obj, index), kernels)[0]


def intensities(slices: np.ndarray, probe: np.ndarray, positions: np.ndarray, sampling: tuple[float, float], *,
                thickness: float | Sequence[float], energy_kev: float, batch: int = 256) -> np.ndarray:
    """Diffraction intensities of the probe at ``positions`` through ``slices``, centred (``fftshift``), as abTEM's.

    Parameters
    ----------
    slices : numpy.ndarray, complex, shape (S, X, Y)
        Transmission function of each slice, periodic, in beam order.
    probe : numpy.ndarray, complex, shape (nx, ny)
        Probe wave at the first slice, on the pattern grid, centred on pixel ``n // 2``.
    positions : numpy.ndarray, shape (N, 2)
        Probe positions ``(x, y)``, Angstrom.
    sampling : (float, float)
        Angstrom per pixel.
    thickness : float or sequence of float
        Distance between successive slices, Angstrom: one for all, or one per gap (``S - 1``).
    energy_kev : float
        Beam energy, keV.
    batch : int
        Positions per FFT batch.

    Returns
    -------
    numpy.ndarray, float64, shape (N, nx, ny)
        One slice: exactly :func:`ctxlib.ptycho.forward.intensities`.
    """
    slices = np.asarray(slices, dtype=np.complex128)
    if slices.ndim != 3:
        raise ValueError(f"slices must have shape (S, X, Y), got {slices.shape}")
    gaps = [thickness] * (len(slices) - 1) if np.ndim(thickness) == 0 else list(thickness)
    if len(gaps) != len(slices) - 1:
        raise ValueError(f"{len(gaps)} slice distances for {len(slices)} slices: give one, or {len(slices) - 1}")
    geometry = Geometry(slices.shape[1:], np.shape(probe), sampling)
    carry = propagators(geometry, energy_kev, gaps)
    o, p = torch.as_tensor(slices), torch.as_tensor(np.asarray(probe, dtype=np.complex128))
    r = torch.as_tensor(np.asarray(positions, dtype=np.float64))
    out = [torch.fft.fftshift(far_field(exit_waves(o, p, r[i:i + batch], geometry, carry), geometry).abs() ** 2,
                              dim=(-2, -1)) for i in range(0, len(r), batch)]
    return torch.cat(out).numpy()
