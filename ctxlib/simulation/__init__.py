"""Images from structures (stage 2).

In: the structures and imaging settings of ``materials``. Out: abTEM scans of the motifs
(``scans``), the clean simulated library in ``data/library`` (``library``: generate,
verify, load), the noise model that turns a clean image into an experiment-like one
(``augmentation``), and simulated test micrographs with per-column truth
(``standins``).
"""

from ctxlib.base.lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "augmentation": [
            "AUGMENTATION_BOUNDS",
            "AugmentationSettings",
            "AUGMENTATION_DESCRIPTIONS",
            "probe_fwhm",
            "Degradation",
            "draw_degradations",
            "degrade",
        ],
        "library": [
            "PARTS",
            "REGENERATE",
            "LibraryError",
            "library_file",
            "read_manifest",
            "LibraryEntry",
            "load_library",
            "verify_library",
            "library_status",
            "first_present",
            "library_bytes",
            "motif_indices",
            "clean_views",
            "settings_record",
            "settings_from_record",
            "generate_library",
            "generation_order",
        ],
        "scans": [
            "ANGLE_MARGIN",
            "potential_sampling",
            "simulate_periodic_images",
            "periodic_fields",
            "column_species",
            "MotifSimulation",
            "MotifImages",
            "simulate_motif",
            "simulate_structure",
            "build_potential",
            "fft_friendly",
        ],
        "standins": [
            "TEST_DOPANTS",
            "micrographs_root",
            "LAYOUTS",
            "TRUTH_KEYS",
            "FieldSettings",
            "ExperimentLike",
            "defect_field",
            "simulate_field",
            "row_shift",
            "degrade_field",
            "truth_pixels",
            "TestMicrograph",
            "micrograph_file",
            "generate_test_micrographs",
            "HardCase",
            "HARD_CASES",
            "hard_case_file",
            "generate_hard_cases",
            "load_hard_case",
            "load_hard_cases",
            "load_test_micrograph",
            "load_test_micrographs",
            "UNDOPED_FIELD",
        ],
    },
)
