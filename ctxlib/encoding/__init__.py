"""From an image to numbers per atomic column (stage 3, paper section 3).

In: a 2-D image (simulated or experimental) and its imaging context. Out: the lattice
constant (``lattice``), the visible intensity peaks (``columns``), where the crystal is
(``mask``), every site of both sublattices from a lattice model, with domains
(``sites``), centred patches (``patches``), their Zernike moments (``zernike``), the
23-number context vector (``context``) and the 31-number feature vector of every column
(``features``).
"""

from ctxlib.base.lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "columns": ["nearest_neighbour_distance", "find_columns", "translation_pairs", "site_flags"],
        "context": ["CONTEXT_FEATURE_NAMES", "CONTEXT_BLOCKS", "shell_fractions", "encode_context"],
        "features": [
            "SITE_FEATURE_NAMES",
            "CONTRAST_FEATURE_NAMES",
            "FEATURE_NAMES",
            "assemble_features",
            "EncodingSettings",
            "Calibration",
            "ImageEncoding",
            "resample_rows",
            "locate_sites",
            "encode_image",
        ],
        "lattice": [
            "TRANSLATION_FRACTION",
            "MIN_PEAK_HEIGHT",
            "LatticeEstimate",
            "patch_side",
            "autocorrelation",
            "radial_profile",
            "estimate_lattice_constant",
        ],
        "patches": [
            "PATCH_SIZE",
            "PATCH_SIZE_BOUNDS",
            "PatchSet",
            "EDGE_RULES",
            "patch_offsets",
            "extract_patches",
            "centre_intensity",
        ],
        "mask": ["MaskSettings", "coarse_cells", "mask_at", "crystalline_peaks", "crystal_mask"],
        "sites": ["BOND_FRACTION", "HAND_MARGIN", "SiteSettings", "DomainLattice", "Sites", "find_sites"],
        "zernike": [
            "ZERNIKE_ORDERS",
            "ZERNIKE_FEATURE_NAMES",
            "disk_coordinates",
            "radial_polynomial",
            "zernike_basis",
            "resampled_basis",
            "zernike_moments",
        ],
    },
)
