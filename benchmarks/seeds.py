"""Test accuracy and posterior entropy over several seeds at the quick scale: ``python benchmarks/seeds.py``.

Each seed draws its own features (noise realisations, augmentation draws), split,
initialisation and batch order, then the six §5 models are trained as notebook 03 trains
them (:func:`ctxlib.learning.training.train_models`, resumable) and scored on their own
test rows as notebook 04 scores them (attention models in the paper's batch mode).
Writes ``benchmarks/results/seeds.json``: per seed and model the test accuracy and the
mean posterior entropy (nats), with the features digest each was trained on, so that the
book can say whether a difference between models or from the paper is larger than the
spread between seeds. About 3.5 minutes per seed on two cores.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from record import write_result

from ctxlib.base.paths import ROOT
from ctxlib.learning.dataset import build_features
from ctxlib.learning.evaluation import part_predictions, score_table
from ctxlib.learning.pretrained import library_digest
from ctxlib.learning.reading import features_digest
from ctxlib.learning.training import batch_sizes_of, models_of, train_models


def score_seed(seed: int, *, scale: str, work: Path, progress: bool) -> dict:
    """Build the features of ``seed``, train the six models and score them on the test rows."""
    start = time.perf_counter()
    features = work / "data" / f"features-{scale}-seed{seed}"  # where pretrained.build puts them
    build_features(features, scale, seed=seed, progress=progress)
    trained = train_models(features, scale, seed=seed, checkpoint_dir=work / "training" / f"{scale}-seed{seed}",
                           progress=progress)
    for checkpoint in trained.values():
        if hasattr(checkpoint.model, "set_attention_mode"):
            checkpoint.model.set_attention_mode("batch")  # the paper's evaluation, as notebook 04
    probabilities, y, _ = part_predictions(models_of(trained), batch_sizes_of(trained), features, part="test",
                                           seed=seed)
    scores = score_table(probabilities, y)
    return {"seed": seed, "features_digest": features_digest(features), "test_rows": int(len(y)),
            # wall time of this call: a seed whose features and checkpoints were current (e.g. seed 0 after
            # `python -m ctxlib.learning.pretrained build`) is scored, not trained again
            "seconds_this_call": round(time.perf_counter() - start, 1),
            "models": {name: {"test_accuracy": float(row["accuracy"]), "entropy_nats": float(row["entropy_nats"])}
                       for name, row in scores.iterrows()}}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0 .. N-1 (at least 3 for a spread)")
    parser.add_argument("--work", type=Path, default=ROOT / "_build", help="features and checkpoints (shared with pretrained build)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if args.seeds < 2:
        parser.error(f"--seeds {args.seeds}: a spread needs at least 2 seeds (3 or more recommended)")
    runs = [score_seed(seed, scale="quick", work=args.work, progress=not args.quiet) for seed in range(args.seeds)]
    result = {"scale": "quick", "library_digest": library_digest(), "runs": runs}
    return write_result("seeds", result, f"python benchmarks/seeds.py --seeds {args.seeds}")


if __name__ == "__main__":
    main()
