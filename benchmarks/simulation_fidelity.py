"""Library settings against strict ones: ``python benchmarks/simulation_fidelity.py``.

The library (:class:`ctxlib.simulation.MotifSimulation` defaults) uses PRISM, one slice
per atomic plane, a 3 x 2 supercell and the coarsest potential sampling that keeps
280 mrad. Each row here changes one of those to a strict value on a few scans and
reports the change of the motif window: the largest pixel difference relative to the
window's maximum, and the relative change of the window's mean. The X-X height
(ideal prism h = a versus the documented 3.34 A of WSe2) is measured the same way.
Writes ``benchmarks/results/simulation_fidelity.json``, which notebook 02 shows.
"""

from __future__ import annotations

import time
from dataclasses import asdict, replace

import numpy as np
from record import write_result

from ctxlib.catalog import DETECTORS, HOSTS
from ctxlib.motifs import motif_structure
from ctxlib.simulation import MotifSimulation, simulate_motif, simulate_structure

SUBSET = [("WSe2", "Ti", "VacX[M,M,D]", 60), ("WSe2", "Ti", "D[X2,VacX,VacX2]", 100), ("NbSe2", "Ti", "VacX2[M,M,M]", 80)]
STRICT = {
    "plain multislice instead of PRISM": dict(method="multislice"),
    "uniform 0.15 A slices": dict(slice_thickness=0.15),
    "potential sampling x 0.75": dict(sampling_factor=0.75),
    "6 x 4 supercell instead of 3 x 2": dict(repeat=(6, 4)),
}


def compare(reference: np.ndarray, candidate: np.ndarray) -> tuple[float, float]:
    """(max |difference| / max(reference), |mean ratio - 1|) of two window stacks."""
    return (float(np.abs(candidate - reference).max() / reference.max()),
            float(abs(candidate.mean() / reference.mean() - 1)))


def main() -> dict:
    base = MotifSimulation()
    rows = []
    for host, dopant, motif, energy in SUBSET:
        started = time.perf_counter()
        library = simulate_motif(host, dopant, motif, energy, base).images
        library_seconds = time.perf_counter() - started
        variants = {name: (lambda kw=kw: simulate_motif(host, dopant, motif, energy, replace(base, **kw)).images)
                    for name, kw in STRICT.items()}
        if host == "WSe2":
            other = HOSTS[host].a
            variants[f"X-X height {other:.3f} A (ideal prism) instead of {HOSTS[host].height:.2f} A"] = (
                lambda: simulate_structure(motif_structure(host, dopant, motif, base.repeat, height=other), energy,
                                           base.window * np.sqrt(3) * HOSTS[host].a, base).images)
        for name, run in variants.items():
            started = time.perf_counter()
            strict = run()
            seconds = time.perf_counter() - started
            for d, detector in enumerate(DETECTORS):
                peak, mean = compare(strict[d], library[d])
                rows.append({"change": name, "host": host, "dopant": dopant, "motif": motif, "energy_kev": energy,
                             "detector": detector, "max_relative_difference": round(peak, 5),
                             "mean_relative_change": round(mean, 5), "strict_seconds": round(seconds, 2),
                             "library_seconds": round(library_seconds, 2)})
    result = {"library_settings": asdict(base), "rows": rows}
    return write_result("simulation_fidelity", result, "python benchmarks/simulation_fidelity.py")


if __name__ == "__main__":
    out = main()
    for row in out["rows"]:
        print(row)
