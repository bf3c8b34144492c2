"""Command line: ctxlib classify IMAGE [IMAGE ...] --host WSe2 --dopant Ti --detector HAADF --energy 80 -o out/

For every image it writes, into the output folder, IMAGE_columns.csv (one row per column:
x and y in pixels, sublattice, domain, has_peak, edge, boundary, class, the vote, the five
class probabilities, entropy in nats, the models' agreement and the outlier test; a column
the models disagree on, or whose features lie outside the training data, has the class
"uncertain"), IMAGE_columns.json (what the columns mean and their units, the pixel size
used and where it came from, the context stated and the trained context used, the models,
the ctxlib version) and IMAGE_overlay.png (the micrograph with every column marked by its
class, the crystal mask and the domain boundaries), and one row per image in summary.csv
(columns per class, the uncertain share, mean entropy, sites found, pixel size used, a
warning, or the reason it failed). summary.csv keeps the rows of earlier batches written to
the same folder (an image classified again replaces its row), also when two batches run at
once. Images may be given as several paths or as a quoted glob ("data/*.dm4"). An image
that fails is reported on one line and gets no files; the others go on, and the exit
status is 1 when any failed or an option's value is not accepted (2 for a malformed
command line).

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
DEFAULT_MODEL = "ensemble"
#: The per-image columns of summary.csv, in order (a failed image fills image, status and reason).
SUMMARY_COLUMNS = ("image", "status", "reason", "columns", "X2", "VacX", "VacX2", "M", "D", "uncertain",
                   "uncertain share", "all models agree", "outlier share", "baseline agrees", "contrast factor",
                   "mean entropy (nats)", "without peak",
                   "edge", "boundary", "domains", "pixel size (A)", "pixel size from", "energy used (keV)",
                   "detector used", "warning")


def expand_images(patterns: list[str]) -> list[Path]:
    """Paths from the arguments: each a path or a glob pattern (a pattern that matches nothing is kept, to be reported)."""
    paths = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) if any(c in pattern for c in "*?[") else []
        paths += [Path(m) for m in matches if Path(m).is_file()] or [Path(pattern)]
    return list(dict.fromkeys(paths))


def read_settings(path: Path | None):
    """The encoding and trust settings of a ``--settings`` file (TOML, or JSON where it ends in ``.json``).

    The file holds up to two tables, ``[encoding]`` (:class:`ctxlib.encoding.features.EncodingSettings`, with
    ``[encoding.sites]`` and ``[encoding.mask]``) and ``[trust]`` (:class:`ctxlib.micrographs.classify.TrustSettings`,
    with ``[trust.reference]``); what it does not name keeps its default. ``None`` gives the defaults.

    Raises
    ------
    ValueError
        A file that cannot be read or parsed, a table or setting that does not exist, or a value out of bounds; the
        message names the file, the setting and what is allowed.
    """
    import json
    import tomllib

    from ctxlib.base.settings import from_mapping
    from ctxlib.encoding.features import EncodingSettings
    from ctxlib.micrographs.classify import TrustSettings

    if path is None:
        return EncodingSettings(), TrustSettings()
    try:
        text = Path(path).read_text()
        data = json.loads(text) if Path(path).suffix.lower() == ".json" else tomllib.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"--settings {path}: cannot be read as {'JSON' if str(path).endswith('.json') else 'TOML'}: "
                         f"{error}") from None
    unknown = [name for name in data if name not in ("encoding", "trust")]
    if unknown:
        raise ValueError(f"--settings {path}: no table [{unknown[0]}]; the tables are [encoding] and [trust]")
    return (from_mapping(EncodingSettings, data.get("encoding", {}), where=f"--settings {path} [encoding]"),
            from_mapping(TrustSettings, data.get("trust", {}), where=f"--settings {path} [trust]"))


def _output_names(paths: list[Path]) -> dict[Path, str]:
    """A file stem per image, made unique with the parent folder's name where two images share a stem."""
    stems = [p.stem for p in paths]
    return {p: (f"{p.parent.name}_{p.stem}" if stems.count(p.stem) > 1 else p.stem) for p in paths}


def classify_one(path: Path, name: str, args: argparse.Namespace, out: Path, *, context, mapping, encoding,
                 trust) -> dict:
    """Classify one image and write its three files; returns its summary row (raises on failure).

    ``context`` is the :class:`~ctxlib.materials.imaging.ImagingContext` the image is classified in (the stated
    host and dopant at the trained detector and energy of ``mapping``), ``mapping`` the
    :class:`~ctxlib.micrographs.microscope.MicroscopeMapping` of the stated microscope, ``encoding`` and ``trust``
    the settings of :func:`read_settings` (``--min-agreement`` applied).
    """
    import json
    import warnings
    from dataclasses import asdict

    import matplotlib.pyplot as plt

    from ctxlib import __version__
    from ctxlib.base.files import atomic_write
    from ctxlib.base.settings import record
    from ctxlib.micrographs.classify import IMAGE_WARNINGS, TABLE_UNITS, UntrainedContextWarning, classify_image
    from ctxlib.micrographs.overlay import classification_overlay
    from ctxlib.micrographs.reading import read_micrograph

    micrograph = read_micrograph(path, args.pixel_size, channel=args.channel, detector=context.detector)
    with warnings.catch_warnings(record=True) as caught:
        for category in (UntrainedContextWarning, *IMAGE_WARNINGS):
            warnings.simplefilter("always", category)
        result = classify_image(micrograph.image, context, model=args.model, pixel_size=micrograph.pixel_size,
                                weights_dir=args.weights, trust=trust, settings=encoding,
                                reverse_sites=mapping.sites_reversed)
    for warning in caught:
        print(f"warning: {path}: {warning.message}", file=sys.stderr)
    calibration = result.encoding.calibration
    table = result.table
    summary = result.summary()
    sidecar = {"image": str(path), "columns": TABLE_UNITS, "pixel_size_A": calibration.pixel_size,
               "pixel_size_source": calibration.source, "pixel_aspect_measured": calibration.aspect,
               "rows_resampled": calibration.resampled, "context": asdict(context), "microscope": mapping.record(),
               "model": args.model, "models": list(result.members), "trust": record(trust), "encoding": record(encoding),
               "summary": summary,
               "in_training_set": result.in_training_set, "ctxlib_version": __version__,
               "warnings": [str(w.message) for w in caught]}
    title = (f"{context.host}{'' if context.dopant is None else ' + ' + context.dopant}, {context.detector}, "
             f"{context.energy_kev} keV, {args.model}")
    mask = None if calibration.resampled else result.encoding.mask
    figure = classification_overlay(micrograph.image, table, title=f"{path.name}: {title}", mask=mask,
                                    pixel_size=calibration.pixel_size)
    atomic_write(out / f"{name}_columns.csv", lambda handle: handle.write(table.to_csv(index=False).encode()))
    atomic_write(out / f"{name}_columns.json", lambda handle: handle.write(json.dumps(sidecar, indent=1).encode()))
    atomic_write(out / f"{name}_overlay.png", lambda handle: figure.savefig(handle, dpi=150, format="png",
                                                                         bbox_inches="tight"))
    plt.close(figure)
    return {"image": str(path), "status": "ok", "reason": "",
            **{k: summary[k] for k in SUMMARY_COLUMNS if k in summary},
            "mean entropy (nats)": float(table["entropy"].mean()), "without peak": int((~table["has_peak"]).sum()),
            "edge": int(table["edge"].sum()), "boundary": int(table["boundary"].sum()),
            "domains": int(table["domain"].nunique()), "pixel size (A)": calibration.pixel_size,
            "pixel size from": calibration.source, "energy used (keV)": mapping.energy_kev,
            "detector used": mapping.detector,
            "warning": " | ".join(str(w.message) for w in caught if issubclass(w.category, IMAGE_WARNINGS))}


def record_rows(out: Path, rows: list[dict]) -> None:
    """Add rows to ``out/summary.csv`` under a lock: rows of other images stay, an image's earlier row is replaced."""
    import pandas as pd

    from ctxlib.base.files import atomic_write, file_lock

    path = out / "summary.csv"
    with file_lock(out / ".summary.lock"):
        new = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
        if path.exists():
            old = pd.read_csv(path, keep_default_na=False)
            new = pd.concat([old[~old["image"].isin(new["image"])], new], ignore_index=True)
        atomic_write(path, lambda handle: handle.write(new.to_csv(index=False).encode()))


def classify_command(args: argparse.Namespace) -> int:
    """Run ``ctxlib classify`` over every image; 0 when all succeeded, 1 when any failed or an option's value is not
    accepted."""
    paths = expand_images(args.images)
    missing = [p for p in paths if not p.is_file()]
    if missing and len(paths) == 1:
        print(f"error: file not found: {missing[0]}", file=sys.stderr)
        return 1
    from dataclasses import replace

    from ctxlib.materials.catalog import UNDOPED
    from ctxlib.materials.imaging import ImagingContext
    from ctxlib.micrographs.classify import MODEL_CHOICES
    from ctxlib.micrographs.microscope import nearest_trained_context

    try:
        if args.model not in MODEL_CHOICES:
            raise ValueError(f"--model {args.model!r} is not one of {', '.join(MODEL_CHOICES)}")
        if args.detector is not None and args.detector not in DETECTOR_NAMES:
            raise ValueError(f"--detector {args.detector!r} is not one of {', '.join(DETECTOR_NAMES)}")
        if args.min_agreement is not None and not 0 <= args.min_agreement <= 1:
            raise ValueError(f"--min-agreement {args.min_agreement} is not a share in [0, 1]")
        encoding, trust = read_settings(args.settings)
        if args.min_agreement is not None:
            trust = replace(trust, min_agreement=args.min_agreement)
        mapping = nearest_trained_context(args.energy, detector=args.detector, angles_mrad=args.detector_angles,
                                          convergence_mrad=args.convergence, host=args.host)
        # the stated host and dopant at the trained detector and energy, checked once before any image is read
        context = ImagingContext(args.host, None if args.dopant.lower() == UNDOPED else args.dopant,
                                 detector=mapping.detector, energy_kev=mapping.energy_kev)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for rule in mapping.rules:
        print(f"note: {rule}", file=sys.stderr)
    from tqdm.auto import tqdm

    from ctxlib.base import config

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    names = _output_names(paths)
    failed = 0
    quiet = len(paths) < 2 or args.quiet or not config.get("progress")
    for path in tqdm(paths, desc="images", unit="image", disable=quiet, file=sys.stderr):
        try:
            if not path.is_file():
                raise FileNotFoundError(f"file not found: {path}")
            row = classify_one(path, names[path], args, out, context=context, mapping=mapping, encoding=encoding,
                               trust=trust)
            if not args.quiet:
                tqdm.write(f"{path}: {row['columns']} columns, {row['uncertain']} uncertain "
                           f"({row['without peak']} without a peak, {row['edge']} at the edge), pixel "
                           f"{row['pixel size (A)']:.4f} A from {row['pixel size from']}", file=sys.stdout)
        except (ValueError, FileNotFoundError, OSError) as error:
            row = {"image": str(path), "status": "failed", "reason": str(error).splitlines()[0]}
            failed += 1
            tqdm.write(f"error: {path}: {row['reason']}", file=sys.stderr)
        record_rows(out, [row])  # after each image: an interrupted batch keeps the rows it finished
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
    detector = classify.add_mutually_exclusive_group(required=True)
    detector.add_argument("--detector", help=f"the annular detector by name: one of {', '.join(DETECTOR_NAMES)}")
    detector.add_argument("--detector-angles", type=float, nargs=2, metavar=("INNER", "OUTER"),
                          help="the annular detector by its collection semi-angles, mrad; classified as the trained "
                               "detector by its inner angle (HAADF from 45 mrad)")
    classify.add_argument("--energy", required=True, type=float,
                          help=f"beam energy, 30-300 keV; classified as the trained energy ({', '.join(map(str, ENERGY_VALUES))}) "
                               "with the nearest electron wavelength")
    classify.add_argument("--convergence", type=float, default=None, metavar="MRAD",
                          help="probe convergence semi-angle, mrad (recorded in the sidecar)")
    classify.add_argument("--model", default=DEFAULT_MODEL,
                          help="ensemble (the vote of the five context-aware models) or one of them: MLP-Simple, "
                               "MLP-Deep, attn-4k, attn-200k, attn-400k")
    classify.add_argument("--min-agreement", type=float, default=None,
                          help="share of the ensemble's models that must agree with the vote, else the column is "
                               "uncertain (default 0.8, or the settings file's)")
    classify.add_argument("--settings", type=Path, default=None, metavar="FILE",
                          help="TOML (or .json) file with [encoding] and [trust] tables: how columns are found and "
                               "encoded, and when one is uncertain (every setting not named keeps its default)")
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
