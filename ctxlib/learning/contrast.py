"""The metal / X2 contrast of every host in the library (paper Fig. S2), and where it reverses.

In: the shipped clean library. Out: per host, energy and detector, the ratio of the clean
pristine metal column's normalised centre intensity to the X2 column's (the quantity the
site flags of :func:`ctxlib.learning.dataset.context_site_flags` compare), and the hosts and
energies where HAADF and MAADF disagree on which sublattice is the brighter.
"""

from __future__ import annotations

import pandas as pd

from ctxlib.learning.dataset import pristine_centre_intensities
from ctxlib.materials.catalog import DETECTORS, ENERGIES_KEV, HOSTS
from ctxlib.simulation.library import first_present


def contrast_ratios(hosts: tuple[str, ...] = tuple(HOSTS)) -> pd.DataFrame:
    """Metal / X2 normalised centre intensity of each host's first doped host in the library.

    Parameters
    ----------
    hosts : tuple of str
        Catalog hosts; those without a library file are left out.

    Returns
    -------
    pandas.DataFrame
        Columns ``host``, ``energy_kev`` (keV), ``detector`` and ``ratio`` (above 1: the metal
        sublattice is the brighter and gets the site flag ``[1, 0]``).
    """
    rows = []
    for host in hosts:
        entry = first_present(host)
        if entry is None:
            continue
        for e, energy in enumerate(ENERGIES_KEV):
            for d, detector in enumerate(DETECTORS):
                x2, metal = pristine_centre_intensities(entry.images[e, :, d], entry.pixel_size, HOSTS[host].a)
                rows.append({"host": host, "energy_kev": energy, "detector": detector, "ratio": metal / x2})
    return pd.DataFrame(rows, columns=["host", "energy_kev", "detector", "ratio"])


def detector_reversals(ratios: pd.DataFrame) -> list[tuple[str, int]]:
    """(host, energy in keV) where HAADF and MAADF disagree on the brighter sublattice.

    Examples
    --------
    >>> ratios = pd.DataFrame({"host": ["A"] * 4, "energy_kev": [60, 60, 80, 80],
    ...                        "detector": ["HAADF", "MAADF"] * 2, "ratio": [1.2, 0.8, 1.3, 1.1]})
    >>> detector_reversals(ratios)
    [('A', 60)]
    """
    table = ratios.pivot_table(index=["host", "energy_kev"], columns="detector", values="ratio")
    return [(host, int(energy)) for host, energy in table.index[(table["HAADF"] > 1) != (table["MAADF"] > 1)]]
