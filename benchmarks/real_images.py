"""How far the five models agree on a public real micrograph: ``python benchmarks/real_images.py [--weights DIR
--label NAME]``.

Classifies the TEMUL toolkit's 60 keV HAADF image of Se-implanted monolayer MoS2
(:data:`ctxlib.micrographs.examples.EXAMPLES`, fetched from the package index) stating each
dopant in turn (none, and Re, a heavy dopant the catalog holds for MoS2), and records per
weights set the share of columns on which all five context-aware models agree, each model's
share of defect calls, and the share ``ctxlib classify`` marks uncertain
(:func:`ctxlib.micrographs.validation.model_agreement`). Each run adds or replaces the entry
of its label in ``benchmarks/results/real_images.json``, so weights from another commit can
be compared with today's: ``git archive COMMIT data/weights | tar -x -C /tmp/old`` and
``--weights /tmp/old/data/weights --label "COMMIT"``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from record import results_dir, write_result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", type=Path, default=None, help="weights folder (default: the shipped ones)")
    parser.add_argument("--label", default="shipped", help="name of this weights set in the record")
    parser.add_argument("--example", default="temul-mos2-se")
    args = parser.parse_args(argv)
    from ctxlib.micrographs.examples import EXAMPLES, fetch_example
    from ctxlib.micrographs.reading import read_micrograph
    from ctxlib.micrographs.validation import model_agreement

    example = EXAMPLES[args.example]
    micrograph = read_micrograph(fetch_example(args.example))
    table = model_agreement(micrograph.image, host=example.host, dopants=(None, "Re"), detector=example.detector,
                            energy_kev=example.energy_kev, pixel_size=micrograph.pixel_size, weights_dir=args.weights)
    print(table.to_string(index=False))
    path = results_dir() / "real_images.json"
    record = json.loads(path.read_text()) if path.exists() else {"runs": {}}
    command = " ".join(["python benchmarks/real_images.py", *(sys.argv[1:] if argv is None else argv)])
    record["runs"][args.label] = {"example": args.example, "weights": str(args.weights or "data/weights"),
                                  "command": command, "date": date.today().isoformat(),
                                  "rows": table.to_dict(orient="records")}
    return write_result("real_images", {"runs": record["runs"]}, "python benchmarks/real_images.py [--weights DIR "
                        "--label NAME], once per weights set (each run's own command is in its entry)")


if __name__ == "__main__":
    main()
