"""Zernike-encoder throughput: ``python benchmarks/zernike_throughput.py``.

Measures m = 0 Zernike moments per second for 32 x 32 float32 patches with
:func:`ctxlib.encoding.zernike.zernike_moments` (best of several repeats over a batch), and the
same for mahotas (``zernike_moments`` with degree 10, one call per patch) on a subset
of the same patches. Writes ``benchmarks/results/zernike_throughput.json``, which the
book shows.
"""

from __future__ import annotations

import json

import numpy as np
from record import best_seconds, write_result

from ctxlib.encoding.zernike import zernike_moments


def best_rate(function, n_items: int, repeats: int) -> float:
    """Items per second of the fastest of ``repeats`` calls."""
    return n_items / best_seconds(function, repeats, warm_up=False)


def main(n_patches: int = 200_000, n_mahotas: int = 2_000, repeats: int = 5) -> dict:
    import mahotas

    rng = np.random.default_rng(0)
    patches = rng.random((n_patches, 32, 32), dtype=np.float32) + np.float32(0.01)
    ours = best_rate(lambda: zernike_moments(patches), n_patches, repeats)
    subset = patches[:n_mahotas]
    theirs = best_rate(
        lambda: [mahotas.features.zernike_moments(p, 16, degree=10, cm=(15.5, 15.5)) for p in subset], n_mahotas, 1
    )
    result = {
        "patches_per_second": round(ours),
        "mahotas_patches_per_second": round(theirs),
        "speedup_vs_mahotas": round(ours / theirs, 1),
        "patch": "32 x 32 float32",
        "batch": n_patches,
        "numpy": np.__version__,
        "mahotas": mahotas.__version__,
    }
    return write_result("zernike_throughput", result, "python benchmarks/zernike_throughput.py")


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
