"""Contrast encoder: rotation-invariant Zernike moments of square patches (paper §3, Fig. 3b).

Disk mapping
    An ``N x N`` patch is mapped onto the unit disk with its centre at the patch centre,
    pixel ``(i, j)`` at ``rho = |(i - c, j - c)| / (N / 2)``, ``c = (N - 1) / 2``: the
    disk is inscribed in the patch. Pixels whose centres lie outside the disk
    (``rho > 1``) are ignored.
Normalisation
    The moment of order ``(n, m)`` is the standard discrete estimate of
    ``A_nm = (n + 1) / pi * integral f(rho, theta) V*_nm(rho, theta) dA`` over the unit
    disk, with ``dA = (2 / N)**2`` per pixel. Intensities are used as given (no
    rescaling to unit sum and no recentring on the centre of mass): the patch is
    already centred on its column, and its total intensity is the signal (vacancies
    differ from full columns by how bright they are).
Features kept
    ``m = 0`` and ``n = 0, 2, ..., 10``. For ``m = 0`` the basis is real,
    ``V_n0 = R_n0(rho)``, so the moments are real, rotation invariant and keep their
    sign. ``R_n0(rho) = P_{n/2}(2 rho^2 - 1)`` with ``P`` the Legendre polynomial.

All moments of a batch come from one matrix product with a cached basis.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.special import eval_legendre

#: Radial orders of the kept m = 0 moments.
ZERNIKE_ORDERS: tuple[int, ...] = (0, 2, 4, 6, 8, 10)
ZERNIKE_FEATURE_NAMES: tuple[str, ...] = tuple(f"Z{n},0" for n in ZERNIKE_ORDERS)


def disk_coordinates(size: int) -> np.ndarray:
    """Radial coordinate ``rho`` of each pixel centre of a ``size x size`` patch (unit disk inscribed)."""
    if size < 2:
        raise ValueError(f"patch size must be at least 2 pixels, got {size}")
    centre = (size - 1) / 2
    i, j = np.mgrid[:size, :size]
    return np.hypot(i - centre, j - centre) / (size / 2)


def radial_polynomial(n: int, rho: np.ndarray) -> np.ndarray:
    """Zernike radial polynomial ``R_n^0(rho)`` for even ``n`` (Legendre identity)."""
    if n < 0 or n % 2:
        raise ValueError(f"m = 0 radial polynomials need an even order n >= 0, got n = {n}")
    return eval_legendre(n // 2, 2 * np.asarray(rho, dtype=np.float64) ** 2 - 1)


@lru_cache(maxsize=16)
def zernike_basis(size: int, orders: tuple[int, ...] = ZERNIKE_ORDERS, *, dtype: str = "float32") -> np.ndarray:
    """Weights ``W`` such that ``patches.reshape(N, -1) @ W`` gives the m = 0 moments.

    Parameters
    ----------
    size : int
        Patch side, pixels.
    orders : tuple of int
        Even radial orders ``n``.
    dtype : str
        Floating-point type of the basis (and so of the product).

    Returns
    -------
    numpy.ndarray, shape (size * size, len(orders)), read-only
    """
    rho = disk_coordinates(size).ravel()
    inside = rho <= 1.0
    pixel_area = (2.0 / size) ** 2
    columns = [(n + 1) / np.pi * radial_polynomial(n, rho) * inside * pixel_area for n in orders]
    basis = np.stack(columns, axis=1).astype(dtype)
    basis.setflags(write=False)
    return basis


def resampled_basis(rows: np.ndarray, cols: np.ndarray, *, orders: tuple[int, ...] = ZERNIKE_ORDERS) -> np.ndarray:
    """Weights ``K`` such that ``windows.reshape(N, -1) @ K`` are the moments of the patches ``rows @ windows @ cols.T``.

    The moments are linear in the patch and the patch in the window, so the two maps fold
    into one: ``K[:, k] = vec(rows.T @ W_k @ cols)``, with ``W_k`` the patch-space weights of
    order ``orders[k]`` (:func:`zernike_basis`). The features of a window stack then cost one
    small product (``h w x len(orders)`` a row) instead of the patches and their moments.

    Parameters
    ----------
    rows, cols : numpy.ndarray, (size, h) and (size, w)
        The patch resampling matrices (:func:`ctxlib.encoding.patches.window_resampling`,
        restricted to the window's rows and columns).
    orders : tuple of int
        Even radial orders ``n``.

    Returns
    -------
    numpy.ndarray, float32, (h * w, len(orders))
    """
    size = rows.shape[0]
    if cols.shape[0] != size:
        raise ValueError(f"rows and cols must resample to the same patch size, got {rows.shape} and {cols.shape}")
    weights = zernike_basis(size, tuple(orders), dtype="float64").T.reshape(len(orders), size, size)
    rows, cols = np.asarray(rows, np.float64), np.asarray(cols, np.float64)
    folded = np.stack([rows.T @ w @ cols for w in weights], axis=-1)  # (h, w, orders)
    return folded.reshape(-1, len(orders)).astype(np.float32)


def zernike_moments(patches: np.ndarray, orders: tuple[int, ...] = ZERNIKE_ORDERS) -> np.ndarray:
    """Real m = 0 Zernike moments of a batch of square patches.

    Parameters
    ----------
    patches : array_like, shape (N, size, size) or (size, size)
        Intensities. float32 input is computed in float32 (fast), anything else in
        float64.
    orders : tuple of int
        Even radial orders ``n`` (default ``0, 2, ..., 10``).

    Returns
    -------
    numpy.ndarray, shape (N, len(orders)) or (len(orders),)

    Raises
    ------
    ValueError
        If patches are not square or contain NaN or infinite values.
    """
    patches = np.asarray(patches)
    single = patches.ndim == 2
    batch = patches[None] if single else patches
    if batch.ndim != 3 or batch.shape[1] != batch.shape[2]:
        raise ValueError(f"patches must have shape (N, size, size) with square patches, got {patches.shape}")
    dtype = "float32" if batch.dtype == np.float32 else "float64"
    flat = np.ascontiguousarray(batch.reshape(len(batch), -1), dtype=dtype)
    moments = flat @ zernike_basis(batch.shape[1], tuple(orders), dtype=dtype)
    # NaN and inf reach every moment through the product (0 * inf is NaN too), so the
    # small result is checked instead of the large input.
    if not np.isfinite(moments).all():
        bad = np.flatnonzero(~np.isfinite(moments).all(axis=1))
        raise ValueError(f"patches {bad[:10].tolist()} contain NaN or infinite values; Zernike moments need finite intensities")
    return moments[0] if single else moments
