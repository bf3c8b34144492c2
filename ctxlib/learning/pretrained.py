"""The shipped pretrained weights of the six §5 models (``data/weights/``).

Each model is a checkpoint of :mod:`ctxlib.learning.training` without optimiser state:
``<model>.pt`` (a ``state_dict``, read with ``torch.load(weights_only=True)``) and
``<model>.json`` (training config and per-epoch history). ``manifest.json`` records
the SHA-256 of every file, the scale, seed and library the models were trained on, and
their train and test accuracy. Regenerate with::

    python -m ctxlib.learning.pretrained build               # quick scale: the shipped data/weights
    python -m ctxlib.learning.pretrained build --scale full  # the paper's scale, into data/weights-full
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import torch

from ctxlib.base.files import atomic_write, sha256
from ctxlib.base import config
from ctxlib.base.paths import ROOT
from ctxlib.learning.dataset import build_features
from ctxlib.learning.evaluation import accuracy_by_part, predictions_by_part
from ctxlib.learning.spec import MODEL_NAMES, model_spec
from ctxlib.learning.training import (Checkpoint, batch_sizes_of, load_checkpoint, models_of, save_checkpoint,
                                      train_models)
from ctxlib.materials.catalog import check_choice
from ctxlib.simulation.library import read_manifest

FORMAT = 1
REBUILD = "python -m ctxlib.learning.pretrained build"


class PretrainedError(RuntimeError):
    """Shipped weights are missing or do not match their manifest."""


def library_digest(manifest: dict | None = None) -> str:
    """One SHA-256 over the library's per-file checksums: which clean library features came from."""
    files = (manifest or read_manifest())["files"]
    lines = "".join(f"{name}:{files[name]['sha256']}\n" for name in sorted(files))
    return hashlib.sha256(lines.encode()).hexdigest()


def export_weights(
    trained: dict[str, Checkpoint], scale: str, seed: int, scores: dict[str, dict[str, float]], *,
    directory: Path | None = None,
) -> dict:
    """Write every trained model and the manifest to ``directory`` (default: :func:`weights_folder` of ``scale``),
    atomically, manifest last.

    Parameters
    ----------
    trained : dict
        ``{model: Checkpoint}`` as returned by :func:`ctxlib.learning.training.train_models`.
    scale : str
    seed : int
    scores : dict
        ``{model: {"train_accuracy": ..., "test_accuracy": ...}}``.
    """
    directory = weights_folder(scale) if directory is None else Path(directory)
    files = {}
    for name, checkpoint in trained.items():
        path = directory / f"{name}.pt"
        save_checkpoint(checkpoint.model, checkpoint.config, checkpoint.history, path, provenance=checkpoint.provenance)
        for written in (path, path.with_suffix(".json")):
            files[written.name] = {"sha256": sha256(written), "bytes": written.stat().st_size}
    library = read_manifest()
    manifest = {"format": FORMAT, "scale": scale, "seed": seed, "torch": torch.__version__,
                "library_digest": library_digest(library), "library_files": len(library["files"]),
                "files": files, "scores": scores}
    text = json.dumps(manifest, indent=1, sort_keys=True).encode()
    atomic_write(directory / "manifest.json", lambda handle: handle.write(text))
    return manifest


def read_weights_manifest(directory: Path | None = None) -> dict:
    """The weights manifest of ``directory`` (default: the quick scale's :func:`weights_folder`); a clear error where
    there is none."""
    directory = weights_folder("quick") if directory is None else Path(directory)
    path = directory / "manifest.json"
    if not path.exists():
        raise PretrainedError(f"no pretrained weights in {directory}; build them with `{REBUILD}`")
    return json.loads(path.read_text())


def weights_folder(scale: str = "quick") -> Path:
    """Where the shipped weights of a scale lie: ``weights`` (quick) or ``weights-full`` under the ``data_root``
    knob (:mod:`ctxlib.base.config`; default ``data/``)."""
    name = {"quick": "weights", "full": "weights-full"}[check_choice(scale, ("quick", "full"), "scale")]
    return config.data_folder(name)


def load_pretrained(name: str, directory: Path | None = None, *, attention_mode: str | None = None,
                    scale: str = "quick") -> Checkpoint:
    """A shipped model, checksum-verified, in eval mode.

    ``directory`` defaults to the weights of ``scale`` (:func:`weights_folder`).

    Attention models come in their spec's inference mode
    (:attr:`~ctxlib.learning.spec.ModelSpec.attention_mode`, the batch-independent
    ``"frozen"``: a prediction does not depend on the other columns classified with it);
    pass ``attention_mode="batch"`` for the paper's.
    """
    check_choice(name, MODEL_NAMES, "model")
    directory = Path(directory) if directory is not None else weights_folder(scale)
    files = read_weights_manifest(directory)["files"]
    for file in (f"{name}.pt", f"{name}.json"):
        path = directory / file
        if file not in files or not path.exists():
            raise PretrainedError(f"{path} is missing; rebuild the weights with `{REBUILD}`")
        if sha256(path) != files[file]["sha256"]:
            raise PretrainedError(f"{path} does not match its checksum in manifest.json; rebuild with `{REBUILD}`")
    return _in_mode(load_checkpoint(directory / f"{name}.pt"), attention_mode)


def _in_mode(checkpoint: Checkpoint, attention_mode: str | None) -> Checkpoint:
    """Set an attention model's inference mode: ``attention_mode``, or its spec's (MLPs have none)."""
    mode = attention_mode or model_spec(checkpoint.config.model).attention_mode
    if mode is not None and hasattr(checkpoint.model, "set_attention_mode"):
        checkpoint.model.set_attention_mode(mode)
    return checkpoint


def load_models(directory: Path | None = None, names: tuple[str, ...] = MODEL_NAMES, *,
                attention_mode: str | None = None) -> dict[str, Checkpoint]:
    """Trained models from a folder (default: the quick scale's :func:`weights_folder`): shipped weights
    (checksum-verified, when it has a manifest) or training checkpoints.

    Attention models come in ``attention_mode``, or their spec's inference mode
    (``"frozen"``) when it is None, as :func:`load_pretrained`.
    """
    directory = weights_folder("quick") if directory is None else Path(directory)
    if (directory / "manifest.json").exists():
        return {name: load_pretrained(name, directory, attention_mode=attention_mode) for name in names}
    missing = [name for name in names if not (directory / f"{name}.json").exists()]
    if missing:
        raise PretrainedError(f"no trained {', '.join(missing)} in {directory}; run notebook 03 (training) first, "
                              f"or read the shipped weights from {weights_folder('quick')}")
    return {name: _in_mode(load_checkpoint(directory / f"{name}.pt"), attention_mode) for name in names}


def build_scores(trained: dict[str, Checkpoint], features: Path, *, seed: int = 0) -> dict[str, dict[str, float]]:
    """Train and test accuracy of every model on the random split of the feature files it was trained on."""
    probabilities, labels, _ = predictions_by_part(models_of(trained), batch_sizes_of(trained), features, seed=seed)
    table = accuracy_by_part(probabilities, labels)
    return {name: {f"{part}_accuracy": float(table.loc[name, part]) for part in table.columns} for name in trained}


def build(scale: str = "quick", seed: int = 0, *, work: Path = ROOT / "_build", directory: Path | None = None,
          progress: bool | None = None) -> dict:
    """Features, training and export: the whole path to the shipped weights (resumable); ``progress`` defaults to the
    knob of :mod:`ctxlib.base.config`."""
    features = Path(work) / "data" / f"features-{scale}-seed{seed}"
    build_features(features, scale, seed=seed, progress=progress)
    trained = train_models(features, scale, seed=seed, checkpoint_dir=Path(work) / "training" / f"{scale}-seed{seed}",
                           progress=progress)
    return export_weights(trained, scale, seed, build_scores(trained, features, seed=seed), directory=directory)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m ctxlib.learning.pretrained build [--scale quick|full] [--seed N]``."""
    parser = argparse.ArgumentParser(prog="python -m ctxlib.learning.pretrained", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    command = sub.add_parser("build", help="build features, train the six models, write data/weights")
    command.add_argument("--scale", choices=("quick", "full"), default="quick")
    command.add_argument("--seed", type=int, default=0)
    command.add_argument("--out", type=Path, help="weights folder (default data/weights, data/weights-full at full scale)")
    args = parser.parse_args(argv)
    out = args.out or weights_folder(args.scale)
    manifest = build(args.scale, args.seed, directory=out)
    for name, score in manifest["scores"].items():
        print(f"{name:14s} train {100 * score['train_accuracy']:.2f} %  test {100 * score['test_accuracy']:.2f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
