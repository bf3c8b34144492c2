"""Command line: ``ctxlib classify IMAGE --host WSe2 --dopant Ti --detector HAADF --energy 80 -o out/``.

Writes ``out/<image>_columns.csv`` (x, y in pixels, sublattice, filled, class, the five
class probabilities, entropy in nats) and ``out/<image>_overlay.png`` (the micrograph
with every classified column marked by its class). ``--dopant none`` classifies an
undoped host.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from ctxlib.learning.spec import CONTEXT_MODELS
from ctxlib.materials.catalog import DETECTORS, ENERGIES_KEV


def classify_command(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from ctxlib.micrographs.classify import UntrainedContextWarning, classify_image
    from ctxlib.micrographs.overlay import classification_overlay
    from ctxlib.micrographs.reading import read_micrograph

    micrograph = read_micrograph(args.image, args.pixel_size)
    dopant = None if args.dopant.lower() == "none" else args.dopant
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UntrainedContextWarning)  # repeated after the summary, as plain text
        result = classify_image(micrograph.image, args.host, dopant, args.detector, args.energy, args.model,
                                micrograph.pixel_size, args.weights)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    stem = Path(args.image).stem
    result.table.to_csv(out / f"{stem}_columns.csv", index=False)
    title = f"{args.host}{'' if dopant is None else ' + ' + dopant}, {args.detector}, {args.energy} keV, {args.model}"
    classification_overlay(micrograph.image, result.table, title).savefig(out / f"{stem}_overlay.png", dpi=150)
    counts = result.table["class"].value_counts().to_dict()
    print(f"{len(result.table)} columns classified ({len(result.border)} at the border skipped): {counts}")
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    print(f"wrote {out / (stem + '_columns.csv')} and {out / (stem + '_overlay.png')}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ctxlib", description="Context-aware defect classification in STEM")
    sub = parser.add_subparsers(dest="command", required=True)
    classify = sub.add_parser("classify", help="classify every atomic column of a micrograph",
                              description=__doc__.split("\n\n")[0])
    classify.add_argument("image", help=".dm3, .dm4, .emd, .tif or .npy micrograph")
    classify.add_argument("--host", required=True, help="e.g. WSe2")
    classify.add_argument("--dopant", required=True, help="e.g. Ti, or none for an undoped host")
    classify.add_argument("--detector", required=True, choices=tuple(DETECTORS))
    classify.add_argument("--energy", required=True, type=int, choices=ENERGIES_KEV, help="beam energy, keV")
    classify.add_argument("--model", default="MLP-Simple", choices=CONTEXT_MODELS)
    classify.add_argument("--pixel-size", type=float, help="Angstrom per pixel (default: from the file)")
    classify.add_argument("--weights", type=Path, help="folder of trained models (default: the shipped data/weights)")
    classify.add_argument("-o", "--output", default="classified", help="output folder")
    args = parser.parse_args(argv)
    try:
        return classify_command(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
