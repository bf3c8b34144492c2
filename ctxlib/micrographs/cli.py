"""Command line: ctxlib classify IMAGE [IMAGE ...] --host WSe2 --dopant Ti --detector HAADF --energy 80 -o out/

For every image it writes, into the output folder, IMAGE_columns.csv (one row per column:
x and y in pixels, sublattice, domain, has_peak, edge, boundary, class, the five class
probabilities, entropy in nats), IMAGE_columns.json (what the columns mean and their
units, the pixel size used and where it came from, the context, the model, the ctxlib
version) and IMAGE_overlay.png (the micrograph with every column marked by its class, the
crystal mask and the domain boundaries), and for the whole batch summary.csv (one row per
image: columns per class, mean entropy, sites found, pixel size used, or the reason it
failed). Images may be given as several paths or as a quoted glob ("data/*.dm4"). An image
that fails is reported on one line and gets no files; the others go on, and the exit
status is 1 when any failed (2 for a usage error).

Imports are deferred so that ctxlib --help answers at once.
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path

#: Written in the help text without importing the catalog (tests check them against it).
DETECTOR_NAMES = ("HAADF", "MAADF")
ENERGY_VALUES = (60, 80, 100)
DEFAULT_MODEL = "MLP-Simple"


def expand_images(patterns: list[str]) -> list[Path]:
    """Paths from the arguments: each a path or a glob pattern (a pattern that matches nothing is kept, to be reported)."""
    paths = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) if any(c in pattern for c in "*?[") else []
        paths += [Path(m) for m in matches if Path(m).is_file()] or [Path(pattern)]
    return list(dict.fromkeys(paths))


def _output_names(paths: list[Path]) -> dict[Path, str]:
    """A file stem per image, made unique with the parent folder's name where two images share a stem."""
    stems = [p.stem for p in paths]
    return {p: (f"{p.parent.name}_{p.stem}" if stems.count(p.stem) > 1 else p.stem) for p in paths}


def classify_one(path: Path, name: str, args: argparse.Namespace, out: Path) -> dict:
    """Classify one image and write its three files; returns its summary row (raises on failure)."""
    import json
    import warnings

    import matplotlib.pyplot as plt

    from ctxlib import __version__
    from ctxlib.base.files import atomic_write
    from ctxlib.micrographs.classify import TABLE_UNITS, UntrainedContextWarning, classify_image
    from ctxlib.micrographs.overlay import classification_overlay
    from ctxlib.micrographs.reading import read_micrograph

    micrograph = read_micrograph(path, args.pixel_size, args.channel, args.detector)
    dopant = None if args.dopant.lower() == "none" else args.dopant
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UntrainedContextWarning)
        result = classify_image(micrograph.image, args.host, dopant, args.detector, args.energy, args.model,
                                micrograph.pixel_size, args.weights)
    for warning in caught:
        print(f"warning: {path}: {warning.message}", file=sys.stderr)
    calibration = result.encoding.calibration
    table = result.table
    context = {"host": args.host, "dopant": dopant, "detector": args.detector, "energy_kev": args.energy}
    sidecar = {"image": str(path), "columns": TABLE_UNITS, "pixel_size_A": calibration.pixel_size,
               "pixel_size_source": calibration.source, "pixel_aspect_measured": calibration.aspect,
               "rows_resampled": calibration.resampled, "context": context, "model": args.model,
               "in_training_set": result.in_training_set, "ctxlib_version": __version__,
               "warnings": [str(w.message) for w in caught]}
    title = f"{args.host}{'' if dopant is None else ' + ' + dopant}, {args.detector}, {args.energy} keV, {args.model}"
    mask = None if calibration.resampled else result.encoding.mask
    figure = classification_overlay(micrograph.image, table, f"{path.name}: {title}", mask)
    atomic_write(out / f"{name}_columns.csv", lambda handle: handle.write(table.to_csv(index=False).encode()))
    atomic_write(out / f"{name}_columns.json", lambda handle: handle.write(json.dumps(sidecar, indent=1).encode()))
    atomic_write(out / f"{name}_overlay.png", lambda handle: figure.savefig(handle, dpi=150, format="png"))
    plt.close(figure)
    counts = table["class"].value_counts()
    return {"image": str(path), "status": "ok", "reason": "", "columns": len(table),
            **{name: int(counts.get(name, 0)) for name in ("X2", "VacX", "VacX2", "M", "D")},
            "mean entropy (nats)": float(table["entropy"].mean()), "without peak": int((~table["has_peak"]).sum()),
            "edge": int(table["edge"].sum()), "boundary": int(table["boundary"].sum()),
            "domains": int(table["domain"].nunique()), "pixel size (A)": calibration.pixel_size,
            "pixel size from": calibration.source, "warnings": len(caught)}


def classify_command(args: argparse.Namespace) -> int:
    """Run ``ctxlib classify`` over every image; 0 when all succeeded, 1 when any failed, 2 for a bad option."""
    paths = expand_images(args.images)
    missing = [p for p in paths if not p.is_file()]
    if missing and len(paths) == 1:
        print(f"error: file not found: {missing[0]}", file=sys.stderr)
        return 1
    from ctxlib.learning.spec import CONTEXT_MODELS
    from ctxlib.materials.catalog import DETECTORS, ENERGIES_KEV

    for option, value, allowed in (("--model", args.model, CONTEXT_MODELS), ("--detector", args.detector, DETECTORS),
                                   ("--energy", args.energy, ENERGIES_KEV)):
        if value not in allowed:
            print(f"error: {option} {value!r} is not one of {', '.join(map(str, allowed))}", file=sys.stderr)
            return 2
    import pandas as pd
    from tqdm.auto import tqdm

    from ctxlib.base.files import atomic_write

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    names = _output_names(paths)
    rows = []
    for path in tqdm(paths, desc="images", unit="image", disable=len(paths) < 2 or args.quiet, file=sys.stderr):
        try:
            if not path.is_file():
                raise FileNotFoundError(f"file not found: {path}")
            rows.append(classify_one(path, names[path], args, out))
            if not args.quiet:
                row = rows[-1]
                tqdm.write(f"{path}: {row['columns']} columns ({row['without peak']} without a peak, {row['edge']} at "
                           f"the edge), pixel {row['pixel size (A)']:.4f} A from {row['pixel size from']}",
                           file=sys.stdout)
        except (ValueError, FileNotFoundError, OSError) as error:
            rows.append({"image": str(path), "status": "failed", "reason": str(error).splitlines()[0]})
            tqdm.write(f"error: {path}: {rows[-1]['reason']}", file=sys.stderr)
    summary = pd.DataFrame(rows)
    atomic_write(out / "summary.csv", lambda handle: handle.write(summary.to_csv(index=False).encode()))
    failed = int((summary["status"] == "failed").sum())
    print(f"{len(paths) - failed} of {len(paths)} image(s) classified; wrote {out / 'summary.csv'}")
    return 1 if failed else 0


class _DefaultsFormatter(argparse.HelpFormatter):
    """Help that shows an option's default where it has one and the text does not already say it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "default" not in text:
            text += " (default: %(default)s)"
        return text


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (no heavy imports)."""
    parser = argparse.ArgumentParser(prog="ctxlib", description="Context-aware defect classification in STEM.")
    sub = parser.add_subparsers(dest="command", required=True)
    classify = sub.add_parser(
        "classify", help="classify every atomic column of one or more micrographs",
        description=__doc__.split("\n\n")[1].replace("\n", " "),
        formatter_class=_DefaultsFormatter)
    classify.add_argument("images", nargs="+", metavar="IMAGE",
                          help=".dm3, .dm4, .emd, .tif, .png, .npy or .npz files, or quoted glob patterns")
    classify.add_argument("--host", required=True, help="host crystal, e.g. WSe2")
    classify.add_argument("--dopant", required=True, help="e.g. Ti, or none for an undoped host")
    classify.add_argument("--detector", required=True, help=f"one of {', '.join(DETECTOR_NAMES)}")
    classify.add_argument("--energy", required=True, type=int,
                          help=f"beam energy, keV: one of {', '.join(map(str, ENERGY_VALUES))}")
    classify.add_argument("--model", default=DEFAULT_MODEL, help="a context-aware model (MLP-Simple, MLP-Deep, attn-4k, "
                                                                 "attn-200k or attn-400k)")
    classify.add_argument("--pixel-size", type=float, default=None,
                          help="Angstrom per pixel along x (default: from the file, else from the host's lattice)")
    classify.add_argument("--channel", default=None,
                          help=".npz only: the array's key, or KEY:INDEX for one image of a stack (default: the only "
                               "2-D array; for the shipped test micrographs, the degraded image of --detector)")
    classify.add_argument("--weights", type=Path, default=None,
                          help="folder of trained models (default: the shipped data/weights, the quick scale's; "
                               "data/weights-full holds the paper scale's)")
    classify.add_argument("-o", "--output", default="classified", help="output folder")
    classify.add_argument("-q", "--quiet", action="store_true", help="no progress bar or per-image lines")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ctxlib`` console script."""
    args = build_parser().parse_args(argv)
    return classify_command(args)


if __name__ == "__main__":
    sys.exit(main())
