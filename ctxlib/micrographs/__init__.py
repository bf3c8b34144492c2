"""Classifying a microscopist's own images (stage 5, paper section 6).

In: a micrograph file and its imaging context, and a trained model from ``learning``.
Out: the image read with its pixel size (``reading``), every column classified
(``classify``: by the vote of the five models, with the columns not to trust marked
``uncertain``), any microscope mapped to the nearest trained context (``microscope``), the classical
intensity baseline (``intensities``), its
overlay figure (``overlay``), agreement with reference labels
(``validation``), the labelling tool of Fig. 6a (``labelling``) and the command line
``ctxlib classify`` (``cli``).
"""

from ctxlib.base.lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "classify": ["ENSEMBLE", "MODEL_CHOICES", "UNCERTAIN", "UntrainedContextWarning", "UncertainImageWarning",
                     "TrustSettings", "Classification", "TABLE_UNITS", "classification_table",
                     "without_dopant_class", "classify_image"],
        "intensities": ["expected_levels", "intensity_classes"],
        "microscope": ["ENERGY_RANGE_KEV", "HAADF_FROM_MRAD", "MicroscopeMapping", "nearest_trained_context"],
        "labelling": ["UNLABELLED", "LabellingSession", "majority_vote", "pairwise_kappa", "labelling_widget"],
        "overlay": ["CLASS_COLOURS", "OVERLAY_STYLE", "DOMAIN_TINTS", "classification_overlay", "scale_bar"],
        "reading": ["READERS", "STANDIN_CHANNELS", "ANGSTROM_PER_UNIT", "Micrograph", "read_micrograph"],
        "validation": ["DEFECT_NAMES", "Matched", "match_columns", "match_reach", "REGIONS", "site_recovery",
                       "subset", "accuracy", "agreement", "ModelScores", "score_models", "trusted_columns",
                       "ScoredImages", "collect_scores", "score_hard_cases", "TABLE1_METRICS", "detector_means",
                       "patches_by_class", "score_encoding", "sublattice_brightness", "describe_test_micrographs",
                       "describe_hard_cases", "trusted_columns_by_host", "hard_case_columns", "defect_f1_intervals_by"],
    },
)
