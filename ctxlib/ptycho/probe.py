"""The electron probe of a STEM scan: a band-limited, defocused aperture on the pattern grid.

In: beam energy (keV), convergence semi-angle (mrad), defocus (Angstrom), the pattern grid
(pixels) and its real-space sampling (Angstrom per pixel). Out: the complex probe wave
centred on the window (pixel ``n // 2`` on each axis, arrays indexed ``[x, y]`` as abTEM),
normalised so that ``sum |P|^2 = 1`` (the whole incident beam), and the 2/3-Nyquist
band-limit mask that abTEM applies to every wave it propagates.
"""

from __future__ import annotations

import numpy as np

from ctxlib.base.electrons import electron_wavelength

#: abTEM's antialiasing: waves are band-limited to this fraction of the Nyquist frequency.
BANDLIMIT = 0.6666666
BANDLIMIT_TAPER = 0.01


def spatial_frequencies(gpts: tuple[int, int], sampling: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Spatial frequencies ``(kx, ky)``, 1/Angstrom, of a ``gpts`` grid in FFT order, broadcast to 2-D."""
    kx = np.fft.fftfreq(gpts[0], sampling[0])[:, None]
    ky = np.fft.fftfreq(gpts[1], sampling[1])[None, :]
    return np.broadcast_to(kx, gpts), np.broadcast_to(ky, gpts)


def bandlimit_mask(gpts: tuple[int, int], sampling: tuple[float, float], *, fraction: float = BANDLIMIT,
                   taper: float = BANDLIMIT_TAPER) -> np.ndarray:
    """Band-limit aperture (FFT order): 1 below ``fraction`` of the smaller Nyquist frequency, 0 above.

    The edge is a raised-cosine taper of width ``taper / max(sampling)`` (1/Angstrom), as abTEM's
    antialiasing aperture.

    Parameters
    ----------
    gpts : (int, int)
        Grid points.
    sampling : (float, float)
        Angstrom per pixel.
    fraction : float
        Cut-off as a fraction of ``1 / (2 max(sampling))``; abTEM uses 2/3.
    taper : float
        Taper width times ``max(sampling)``; abTEM uses 0.01.
    """
    kx, ky = spatial_frequencies(gpts, sampling)
    k = np.sqrt(kx**2 + ky**2)
    cutoff = fraction / (2 * max(sampling))
    width = taper / max(sampling)
    if width <= 0:
        return (k < cutoff).astype(np.float64)
    edge = 0.5 * (1 + np.cos(np.pi * (k - cutoff + width) / width))
    return np.where(k > cutoff, 0.0, np.where(k > cutoff - width, edge, 1.0))


def probe_wave(
    gpts: tuple[int, int],
    sampling: tuple[float, float],
    energy_kev: float,
    semiangle_mrad: float,
    *,
    defocus: float = 0.0,
) -> np.ndarray:
    """Complex probe wave on the pattern grid, centred on pixel ``(nx // 2, ny // 2)``.

    The aperture has a one-pixel soft edge, direction by direction (abTEM's default) and the aberration phase
    is defocus only, in abTEM's convention: ``chi = -pi * lambda * k^2 * defocus`` with
    ``defocus = -C10`` (positive: focus above the specimen).

    Parameters
    ----------
    gpts : (int, int)
        Pattern grid points.
    sampling : (float, float)
        Real-space sampling, Angstrom per pixel.
    energy_kev : float
        Beam energy, keV.
    semiangle_mrad : float
        Convergence semi-angle, mrad.
    defocus : float
        Defocus, Angstrom.

    Returns
    -------
    numpy.ndarray, complex128, shape ``gpts``
        ``sum |P|^2 = 1``.
    """
    if not semiangle_mrad > 0:
        raise ValueError(f"semiangle_mrad = {semiangle_mrad!r} must be > 0 mrad")
    wavelength = electron_wavelength(energy_kev)
    kx, ky = spatial_frequencies(gpts, sampling)
    k = np.sqrt(kx**2 + ky**2)
    cutoff = semiangle_mrad * 1e-3 / wavelength
    phi = np.arctan2(ky, kx)
    dk = (1 / (gpts[0] * sampling[0]), 1 / (gpts[1] * sampling[1]))
    edge = np.sqrt((np.cos(phi) * dk[0]) ** 2 + (np.sin(phi) * dk[1]) ** 2)  # one Fourier pixel, 1/Angstrom
    aperture = np.clip((cutoff - k) / edge + 0.5, 0.0, 1.0)
    aperture[0, 0] = 1.0
    chi = -np.pi * wavelength * k**2 * defocus
    centre = np.exp(-2j * np.pi * (kx * (gpts[0] // 2) * sampling[0] + ky * (gpts[1] // 2) * sampling[1]))
    wave = np.fft.ifft2(aperture * np.exp(-1j * chi) * centre)
    return wave / np.sqrt(np.sum(np.abs(wave) ** 2))
