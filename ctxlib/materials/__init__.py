"""What can be encoded and simulated (stage 1).

In: the curated host table ``data/hosts.csv`` and the periodic table. Out: elements and
their shell populations (``elements``), the 13 hosts, 10 dopants, the 96 doped hosts and the
imaging settings (``catalog``), and the 34 local configurations as ASE structures
(``motifs``).
"""

from ctxlib.base.lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "catalog": [
            "ENERGIES_KEV",
            "DETECTORS",
            "CONVERGENCE_MRAD",
            "Host",
            "HOSTS_TABLE",
            "SOURCES_TABLE",
            "DOPANTS",
            "parse_formula",
            "HOSTS",
            "host_table",
            "check_choice",
            "check_energy",
            "check_detector",
            "dopant_is_visible",
            "doped_hosts",
            "check_host",
            "check_dopant",
            "pairing_table",
            "UNDOPED",
            "undoped_hosts",
            "trained_pairs",
            "pair_name",
            "parse_pair_name",
        ],
        "imaging": ["ImagingContext", "imaging_contexts", "trained_contexts"],
        "elements": [
            "SHELLS",
            "CHALCOGENS",
            "CONFIGURATIONS",
            "TRANSITION_METALS",
            "check_element",
            "shell_populations",
            "atomic_number",
            "period",
        ],
        "motifs": [
            "CLASS_NAMES",
            "CHALCOGEN_STATES",
            "METAL_STATES",
            "MOTIF_REPEAT",
            "necklaces",
            "Motif",
            "MOTIFS",
            "MOTIF_NAMES",
            "PRISTINE",
            "host_cell",
            "motif_structure",
            "projected_columns",
            "resolve_motif",
            "write_motif_cifs",
        ],
    },
)
