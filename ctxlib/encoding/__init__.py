"""From an image to numbers per atomic column (stage 3, paper section 3).

In: a 2-D image (simulated or experimental) and its imaging context. Out: the lattice
constant (``lattice``), column positions and sublattices (``columns``), sites with no
peak put back (``sites``), centred patches (``patches``), their Zernike moments
(``zernike``), the 23-number context vector (``context``) and the 31-number feature
vector of every column (``features``).
"""

from ctxlib.base.lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "columns": ["nearest_neighbour_distance", "find_columns", "partition_sublattices", "site_flags"],
        "context": ["CONTEXT_FEATURE_NAMES", "CONTEXT_BLOCKS", "shell_fractions", "encode_context"],
        "features": [
            "SITE_FEATURE_NAMES",
            "CONTRAST_FEATURE_NAMES",
            "FEATURE_NAMES",
            "EncodingSettings",
            "assemble_features",
            "ImageEncoding",
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
            "patch_offsets",
            "extract_patches",
            "centre_intensity",
        ],
        "sites": ["bond_vectors", "fill_missing_sites"],
        "zernike": [
            "ZERNIKE_ORDERS",
            "ZERNIKE_FEATURE_NAMES",
            "disk_coordinates",
            "radial_polynomial",
            "zernike_basis",
            "zernike_moments",
        ],
    },
)
