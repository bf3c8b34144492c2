"""The imaging context: what a micrograph shows and how it was taken, as one checked value.

A context is a host, a dopant (``None`` for an undoped sample), a detector and a beam energy
(paper §3): the four things the classifier is told about every column. As abTEM's
``Accelerator`` does for the beam, :class:`ImagingContext` checks its values once, when it is
made, and gives the names and indices that the library, the feature files, the context
vector and the records use, so no other module builds or splits them.

Examples
--------
>>> context = ImagingContext("WSe2", "Ti", detector="MAADF", energy_kev=60)
>>> context.pair, context.trained
('WSe2-Ti', True)
>>> ImagingContext.from_pair("MoS2-none").dopant is None
True
>>> ImagingContext("WSe2", "W")
Traceback (most recent call last):
...
ValueError: dopant 'W' equals the host metal of WSe2; a dopant must differ from 'W'
"""

from __future__ import annotations

from dataclasses import dataclass

from ctxlib.materials.catalog import (
    DETECTORS, ENERGIES_KEV, check_detector, check_energy, doped_hosts, pair_name, parse_formula, parse_pair_name,
    trained_pairs,
)
from ctxlib.materials.elements import TRANSITION_METALS, check_element


@dataclass(frozen=True)
class ImagingContext:
    """A host, its dopant, the detector and the beam energy of one micrograph.

    Parameters
    ----------
    host : str
        MX2 formula, e.g. ``"WSe2"``: M a transition metal, X one of S, Se, Te (any such
        formula, not only the catalog's 13 hosts: :attr:`trained` says which were learned).
    dopant : str or None
        Substitutional dopant on the metal site, a transition metal other than the host
        metal; ``None`` for an undoped sample.
    detector : {"HAADF", "MAADF"}
        Annular detector of the catalog (68-280 and 30-120 mrad).
    energy_kev : {60, 80, 100}
        Beam energy, keV.

    Raises
    ------
    ValueError
        Naming the bad value and what is allowed, before the context exists.
    """

    host: str
    dopant: str | None = None
    detector: str = "HAADF"
    energy_kev: int = 80

    def __post_init__(self) -> None:
        metal, _ = parse_formula(self.host)
        if self.dopant is not None:
            check_element(self.dopant, TRANSITION_METALS, role="dopant")
            if self.dopant == metal:
                raise ValueError(f"dopant {self.dopant!r} equals the host metal of {self.host}; "
                                 f"a dopant must differ from {metal!r}")
        check_detector(self.detector)
        check_energy(self.energy_kev)

    @classmethod
    def from_pair(cls, name: str, *, detector: str = "HAADF", energy_kev: int = 80) -> ImagingContext:
        """The context of a pair name, ``"WSe2-Ti"`` or ``"WSe2-none"``, at a detector and energy."""
        host, dopant = parse_pair_name(name)
        return cls(host, dopant, detector=detector, energy_kev=energy_kev)

    @property
    def pair(self) -> str:
        """The pair's file and record name, ``"WSe2-Ti"`` or ``"WSe2-none"``."""
        return pair_name(self.host, self.dopant)

    @property
    def trained(self) -> bool:
        """Whether the host and dopant are one of the trained pairs (the 96 doped and 13 undoped hosts)."""
        return (self.host, self.dopant) in trained_pairs()

    @property
    def pair_index(self) -> int:
        """Index of the host and dopant in :func:`~ctxlib.materials.catalog.trained_pairs` (0-95 doped, 96-108 undoped).

        Raises
        ------
        ValueError
            For a pair that is not trained.
        """
        if not self.trained:
            raise ValueError(f"{self.pair} is not one of the {len(trained_pairs())} trained host and dopant pairs")
        return trained_pairs().index((self.host, self.dopant))

    @property
    def index(self) -> int:
        """Index in :func:`trained_contexts`: pair, then energy, then detector."""
        return (self.pair_index * len(ENERGIES_KEV) + ENERGIES_KEV.index(self.energy_kev)) * len(DETECTORS) \
            + list(DETECTORS).index(self.detector)


def imaging_contexts() -> list[ImagingContext]:
    """The paper's contexts: 96 doped hosts x 3 energies x 2 detectors = 576."""
    return [ImagingContext(h, d, detector=det, energy_kev=e) for h, d in doped_hosts()
            for e in ENERGIES_KEV for det in DETECTORS]


def trained_contexts() -> list[ImagingContext]:
    """The contexts the classifiers learn: the 96 doped and 13 undoped hosts at every energy and detector (654),
    in the order of :attr:`ImagingContext.index`."""
    return [ImagingContext(h, d, detector=det, energy_kev=e) for h, d in trained_pairs()
            for e in ENERGIES_KEV for det in DETECTORS]
