"""Single-slice ptychographic forward model: probe times object, far-field intensity.

In: a complex object transmission function (arrays indexed ``[x, y]``, sampling in
Angstrom per pixel, periodic), a complex probe on the pattern grid and probe positions
``(x, y)`` in Angstrom. Out: exit waves and diffraction intensities (``sum = 1`` for a unit
probe over a pure phase object), the data error, and the checks every input passes.

A position ``r`` is split into the object pixel ``floor(r / sampling)`` and a sub-pixel
remainder; the window of the object around that pixel is read (wrapping at the edges)
and the probe is moved by the remainder with a Fourier shift (a phase ramp), so the
positions enter the model continuously. The exit wave is band-limited to 2/3 of the
Nyquist frequency before the intensity is taken, as abTEM does, so our patterns and
abTEM's can be compared pixel by pixel.
"""

from __future__ import annotations

import numpy as np
import torch

from ctxlib.ptycho.probe import BANDLIMIT, bandlimit_mask, spatial_frequencies


def check_inputs(patterns: np.ndarray, positions: np.ndarray, probe: np.ndarray) -> None:
    """Raise a ValueError naming the value unless patterns, positions and probe fit together.

    Parameters
    ----------
    patterns : numpy.ndarray, shape (N, nx, ny)
        Diffraction intensities (fraction of the beam per pixel).
    positions : numpy.ndarray, shape (N, 2)
        Probe positions, Angstrom.
    probe : numpy.ndarray, shape (px, py)
        Probe wave; no larger than the pattern grid.
    """
    patterns, positions, probe = np.asarray(patterns), np.asarray(positions), np.asarray(probe)
    if patterns.ndim != 3:
        raise ValueError(f"patterns must have shape (N, nx, ny), got {patterns.shape}")
    if positions.ndim != 2 or positions.shape[1] != 2:
        raise ValueError(f"positions must have shape (N, 2), got {positions.shape}")
    if len(positions) != len(patterns):
        raise ValueError(f"{len(positions)} positions but {len(patterns)} diffraction patterns: the counts must match")
    if probe.ndim != 2 or probe.shape[0] > patterns.shape[1] or probe.shape[1] > patterns.shape[2]:
        raise ValueError(f"probe of shape {probe.shape} is larger than the pattern grid {patterns.shape[1:]}")
    for name, array in (("patterns", patterns), ("positions", positions), ("probe", probe)):
        bad = np.count_nonzero(~np.isfinite(array))
        if bad:
            raise ValueError(f"{name} contain {bad} NaN or infinite values")
    if (patterns < 0).any():
        raise ValueError(f"patterns contain {np.count_nonzero(patterns < 0)} negative intensities")


def pad_probe(probe: np.ndarray, gpts: tuple[int, int]) -> np.ndarray:
    """Zero-pad a probe centred on its window to a larger ``gpts`` window (centre kept at ``n // 2``)."""
    out = np.zeros(gpts, dtype=np.complex128)
    ox, oy = gpts[0] // 2 - probe.shape[0] // 2, gpts[1] // 2 - probe.shape[1] // 2
    out[ox:ox + probe.shape[0], oy:oy + probe.shape[1]] = probe
    return out


class Geometry:
    """Fixed quantities of one scan: object and window grids, sampling, frequencies, band limit.

    Parameters
    ----------
    object_shape : (int, int)
        Object grid points.
    window : (int, int)
        Pattern (probe window) grid points.
    sampling : (float, float)
        Angstrom per pixel.
    dtype : torch.dtype
        Real dtype of the frequencies and the band limit (``torch.float32`` for reconstructions).
    bandlimit : float
        The model's patterns are zero beyond this fraction of the window's Nyquist frequency
        (abTEM's 2/3; larger for patterns cropped by :func:`crop_patterns`).
    device : torch.device or str
        Where the frequencies, the band limit and the window offsets live (that of the object).
    """

    def __init__(self, object_shape: tuple[int, int], window: tuple[int, int], sampling: tuple[float, float],
                 dtype: torch.dtype = torch.float64, bandlimit: float = BANDLIMIT, device: torch.device | str = "cpu"):
        if window[0] > object_shape[0] or window[1] > object_shape[1]:
            raise ValueError(f"pattern grid {window} is larger than the object grid {object_shape}")
        self.object_shape = tuple(int(n) for n in object_shape)
        self.window = tuple(int(n) for n in window)
        self.sampling = (float(sampling[0]), float(sampling[1]))
        kx, ky = spatial_frequencies(self.window, self.sampling)
        self.kx = torch.as_tensor(np.ascontiguousarray(kx), dtype=dtype, device=device)
        self.ky = torch.as_tensor(np.ascontiguousarray(ky), dtype=dtype, device=device)
        self.mask = torch.as_tensor(bandlimit_mask(self.window, self.sampling, fraction=bandlimit), dtype=dtype,
                                    device=device)
        ux = torch.arange(self.window[0], device=device)[:, None] - self.window[0] // 2
        uy = torch.arange(self.window[1], device=device)[None, :] - self.window[1] // 2
        self._ux, self._uy = ux, uy

    def split(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Flat object indices of each window (N, nx, ny) and the sub-pixel remainders (N, 2), Angstrom."""
        d = torch.tensor(self.sampling, dtype=positions.dtype, device=positions.device)
        pixel = torch.floor(positions.detach() / d)
        remainder = positions - pixel * d
        px, py = pixel[:, 0].long(), pixel[:, 1].long()
        ix = (px[:, None, None] + self._ux[None]) % self.object_shape[0]
        iy = (py[:, None, None] + self._uy[None]) % self.object_shape[1]
        return ix * self.object_shape[1] + iy, remainder

    def ramp(self, shifts: torch.Tensor) -> torch.Tensor:
        """Fourier phase ramps ``exp(-2 pi i k . s)`` (N, nx, ny) that move a wave by ``shifts`` (N, 2), Angstrom.

        The ramp separates into an x and a y factor, so only 1-D exponentials are taken.
        """
        ex = torch.exp(-2j * torch.pi * self.kx[None, :, 0] * shifts[:, 0, None])
        ey = torch.exp(-2j * torch.pi * self.ky[None, 0, :] * shifts[:, 1, None])
        return ex[:, :, None] * ey[:, None, :]


def shifted_probes(probe: torch.Tensor, remainders: torch.Tensor, geometry: Geometry) -> torch.Tensor:
    """The probe moved by each sub-pixel remainder (N, 2), Angstrom, with a Fourier shift."""
    return torch.fft.ifft2(torch.fft.fft2(probe)[None] * geometry.ramp(remainders))


def exit_waves(obj: torch.Tensor, probe: torch.Tensor, positions: torch.Tensor, geometry: Geometry) -> torch.Tensor:
    """Exit waves (N, nx, ny) of the probe at ``positions`` (N, 2), Angstrom, on the object."""
    index, remainder = geometry.split(positions)
    return shifted_probes(probe, remainder, geometry) * obj.reshape(-1)[index]


def far_field(waves: torch.Tensor, geometry: Geometry) -> torch.Tensor:
    """Band-limited far-field amplitudes' complex values (FFT order, unitary transform)."""
    return torch.fft.fft2(waves, norm="ortho") * geometry.mask


def intensities(obj: np.ndarray, probe: np.ndarray, positions: np.ndarray, sampling: tuple[float, float],
                *, batch: int = 256) -> np.ndarray:
    """Diffraction intensities of the probe at ``positions`` on ``obj``, centred (``fftshift``), as abTEM's.

    Parameters
    ----------
    obj : numpy.ndarray, complex, shape (X, Y)
        Object transmission function, periodic.
    probe : numpy.ndarray, complex, shape (nx, ny)
        Probe wave on the pattern grid, centred on pixel ``n // 2``.
    positions : numpy.ndarray, shape (N, 2)
        Probe positions ``(x, y)``, Angstrom, in the object's frame (pixel ``i`` at ``i * sampling``).
    sampling : (float, float)
        Angstrom per pixel.
    batch : int
        Positions per FFT batch.

    Returns
    -------
    numpy.ndarray, float64, shape (N, nx, ny)
    """
    geometry = Geometry(np.shape(obj), np.shape(probe), sampling)
    o = torch.as_tensor(np.asarray(obj, dtype=np.complex128))
    p = torch.as_tensor(np.asarray(probe, dtype=np.complex128))
    r = torch.as_tensor(np.asarray(positions, dtype=np.float64))
    out = [torch.fft.fftshift(far_field(exit_waves(o, p, r[i:i + batch], geometry), geometry).abs() ** 2,
                              dim=(-2, -1)) for i in range(0, len(r), batch)]
    return torch.cat(out).numpy()


def crop_patterns(patterns: np.ndarray, sampling: tuple[float, float], size: int,
                  *, bandlimit: float = BANDLIMIT) -> tuple[np.ndarray, tuple[float, float], float]:
    """Keep the central ``size`` x ``size`` pixels of centred patterns (the detector's useful part).

    The window in real space keeps its side, so the sampling coarsens by ``n / size``; the
    band limit, a fraction of the new Nyquist frequency, grows by the same factor.

    Returns
    -------
    patterns : numpy.ndarray, (N, size, size)
    sampling : (float, float)
        Angstrom per pixel of the cropped grid.
    bandlimit : float
        The data's band limit as a fraction of the cropped grid's Nyquist frequency.
    """
    n = np.shape(patterns)[1:]
    if size > min(n) or size < 2:
        raise ValueError(f"crop size {size} must lie in [2, {min(n)}] pixels")
    lo = [m // 2 - size // 2 for m in n]
    cropped = np.asarray(patterns)[:, lo[0]:lo[0] + size, lo[1]:lo[1] + size]
    factor = (n[0] / size, n[1] / size)
    return cropped, (sampling[0] * factor[0], sampling[1] * factor[1]), bandlimit * max(factor)


def data_error(measured: np.ndarray, model: np.ndarray) -> float:
    """Normalised amplitude error ``sum (sqrt(model) - sqrt(measured))^2 / sum measured`` (dimensionless)."""
    measured, model = np.asarray(measured, dtype=np.float64), np.asarray(model, dtype=np.float64)
    return float(np.sum((np.sqrt(np.maximum(model, 0)) - np.sqrt(np.maximum(measured, 0))) ** 2) / np.sum(measured))
