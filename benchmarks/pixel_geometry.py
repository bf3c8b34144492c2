"""What the patch's pixel geometry changes at the quick scale: ``python benchmarks/pixel_geometry.py``.

The clean library's pixels are not square (WSe2: 0.258 x 0.274 A). Until 2026-12 the
training patches spanned ``sqrt(3) a`` over the *mean* pixel size, so they were 3 %
short along one axis and 3 % long along the other, while a calibrated micrograph's patch
is physically square. For each rule of :attr:`ctxlib.learning.dataset.FeatureSettings.pixel_geometry`
this script builds the quick features (seed 0), trains the six models with the quick
schedule and reports

* accuracy on the test part of the random split (the model's own kind of data);
* Cohen's kappa and accuracy on the four WSe2 stand-in micrographs of section 6 (both
  detectors, columns away from the image edge), where the geometry of training and use
  meet.

The per-axis rule uses the folders the shipped weights are built from
(``_build/data/features-quick-seed0``, ``_build/training/quick-seed0``), so
``python -m ctxlib.learning.pretrained build`` afterwards reuses its models. Writes
``benchmarks/results/pixel_geometry.json``, which notebook 03 shows.
"""

from __future__ import annotations

import json
from pathlib import Path

from record import write_result

from ctxlib.base.paths import ROOT
from ctxlib.learning.dataset import PIXEL_GEOMETRIES, FeatureSettings, build_features
from ctxlib.learning.evaluation import part_predictions
from ctxlib.learning.metrics import accuracy
from ctxlib.learning.training import batch_sizes_of, models_of, train_models
from ctxlib.micrographs.validation import standin_means
from ctxlib.simulation.standins import TEST_DOPANTS, load_test_micrograph

WORK = ROOT / "_build"


def folders(geometry: str) -> tuple[Path, Path]:
    """Feature and checkpoint folders of one rule (per-axis: those of the shipped weights' build)."""
    suffix = "" if geometry == "per-axis" else f"-{geometry}"
    return WORK / "data" / f"features-quick-seed0{suffix}", WORK / "training" / f"quick-seed0{suffix}"


def arm(geometry: str) -> dict:
    features, checkpoints = folders(geometry)
    build_features(features, "quick", seed=0, settings=FeatureSettings.at_scale("quick", 0, pixel_geometry=geometry))
    trained = train_models(features, "quick", seed=0, checkpoint_dir=checkpoints)
    probabilities, y, _ = part_predictions(models_of(trained), batch_sizes_of(trained), features, part="test")
    table = standin_means({dopant: load_test_micrograph(dopant) for dopant in TEST_DOPANTS}, trained).droplevel("mode")
    return {name: {"test_accuracy": accuracy(y, probabilities[name].argmax(axis=1)),
                   "standin_kappa": float(table.loc[name, "kappa"]),
                   "standin_accuracy": float(table.loc[name, "accuracy (interior)"])} for name in trained}


def main() -> dict:
    result = {"scale": "quick", "seed": 0, "standins": f"WSe2 + {', '.join(TEST_DOPANTS)}, HAADF and MAADF, 80 keV",
              "arms": {geometry: arm(geometry) for geometry in PIXEL_GEOMETRIES}}
    return write_result("pixel_geometry", result, "python benchmarks/pixel_geometry.py")


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
