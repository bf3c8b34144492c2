"""Training of the §5 classifiers: Adam, learning rate 1e-3, cross-entropy, seeded.

Data arrive as a stream of ``(X, y)`` batches (:func:`ctxlib.learning.reading.stream_batches`), so
the paper's ~55 M rows never need to be in memory; a checkpoint after every epoch (a
``state_dict`` and a JSON config with the history so far, loaded with
``weights_only=True``) lets an interrupted run resume.

The paper's schedule (§8: MLPs 20 epochs at batch 4,096; attn-4k, attn-200k, attn-400k 10
epochs at 4,096, 204,800 and 409,600) is :func:`schedule` at ``scale="full"``. At the quick
scale the training set (~125 k rows) is smaller than one batch of attn-200k, and the
paper's ~1,000 steps of 409,600 rows would take about an hour on two CPU cores, so every
batch size is divided by the scale's ``batch_divisor`` (:mod:`ctxlib.learning.scale`): the epochs, the ratios of the batch
sizes (1 : 50 : 100) and of the steps the models take stay the paper's.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import pandas as pd
import torch

from ctxlib import __version__
from ctxlib.base import config as knobs
from ctxlib.base.files import atomic_write
from ctxlib.base.settings import check_number
from ctxlib.learning.reading import feature_stamps, features_digest, stream_batches
from ctxlib.learning.models import build_model
from ctxlib.learning.scale import scale_preset
from ctxlib.learning.spec import MODEL_NAMES, model_spec
from ctxlib.materials.catalog import check_choice

#: Training rows per epoch at the paper's scale: 80 % of 576 contexts x 34 motifs x 2,800 realisations.
PAPER_TRAIN_ROWS = int(0.8 * 576 * 34 * 2800)
#: The splits of :func:`ctxlib.learning.reading.chunk_splits` and the ways an epoch is pooled.
SPLITS = ("random", "host", "energy")
SHUFFLES = ("every-file", "whole-files")


@dataclass(frozen=True)
class TrainingConfig:
    """How one model is trained (paper §8: MLPs 20 epochs at 4,096; attention 10 epochs)."""

    model: str
    epochs: int
    batch_size: int
    learning_rate: float = 1e-3
    seed: int = 0
    split: str = "random"
    #: :func:`ctxlib.learning.reading.features_digest` of the training data ("" when not from feature files).
    data: str = ""
    #: How an epoch is streamed from the feature files (:func:`ctxlib.learning.reading.stream_batches`): in
    #: pools of about ``pool_rows`` rows, each an equal random share of every file ("every-file"). A checkpoint
    #: written before these were recorded was trained on pools of whole files and loads as "whole-files",
    #: 4,000,000 rows (at the quick scale, one pool: the same full shuffle).
    shuffle: str = "every-file"
    pool_rows: int = 8_000_000

    def __post_init__(self):
        check_choice(self.model, MODEL_NAMES, "model")
        check_number("epochs", self.epochs, 1, 100_000, integer=True)
        check_number("batch_size", self.batch_size, 1, 100_000_000, integer=True)
        check_number("learning_rate", self.learning_rate, 1e-9, 10)
        check_number("seed", self.seed, 0, 2**63 - 1, integer=True)
        check_choice(self.split, SPLITS, "split")
        check_choice(self.shuffle, SHUFFLES, "shuffle")
        check_number("pool_rows", self.pool_rows, 1, 10**12, integer=True)


def schedule(model: str, scale: str = "quick", *, seed: int = 0, split: str = "random") -> TrainingConfig:
    """The training config of one of the six models at a scale (see the module docstring)."""
    spec = model_spec(model)
    batch = spec.paper_batch_size // scale_preset(scale).batch_divisor
    return TrainingConfig(model, spec.paper_epochs, batch, seed=seed, split=split)


def steps_per_epoch(train_rows: int, batch_size: int) -> int:
    """Optimiser steps of one epoch: batches of ``batch_size`` rows over ``train_rows`` rows, the last one partial.

    >>> steps_per_epoch(10, 4), steps_per_epoch(8, 4)
    (3, 2)
    """
    return -(-train_rows // batch_size)


def training_steps(config: TrainingConfig, train_rows: int) -> int:
    """Optimiser steps of a whole run of ``config`` on ``train_rows`` rows (epochs x :func:`steps_per_epoch`)."""
    return config.epochs * steps_per_epoch(train_rows, config.batch_size)


def paper_steps(model: str) -> int:
    """Optimiser steps of the paper's schedule for one model (epochs x batches per epoch)."""
    return training_steps(schedule(model, "full"), PAPER_TRAIN_ROWS)


def schedule_batch_sizes(scale: str = "quick", *, models: tuple[str, ...] = MODEL_NAMES) -> dict[str, int]:
    """The training batch size (rows) of each model at a scale (:func:`schedule`), which also evaluates it.

    >>> schedule_batch_sizes("full", models=("MLP-Simple", "attn-400k"))
    {'MLP-Simple': 4096, 'attn-400k': 409600}
    """
    return {name: schedule(name, scale).batch_size for name in models}


def training_plan(train_rows: int, scale: str = "quick", *, seed: int = 0,
                  models: tuple[str, ...] = MODEL_NAMES) -> pd.DataFrame:
    """The schedule of each model at a scale beside the paper's.

    Parameters
    ----------
    train_rows : int
        Training rows of one epoch at this scale.
    scale : str
        "quick" or "full" (:func:`schedule`).
    seed : int
    models : tuple of str

    Returns
    -------
    pandas.DataFrame
        Indexed by ``model``: ``epochs`` and ``paper batch`` (the paper's schedule), ``batch (this run)``
        (rows) and ``steps (this run)`` (optimiser steps of the whole run, :func:`training_steps`).
    """
    return pd.DataFrame([{
        "model": name, "epochs": schedule(name, "full").epochs, "paper batch": schedule(name, "full").batch_size,
        "batch (this run)": schedule(name, scale, seed=seed).batch_size,
        "steps (this run)": training_steps(schedule(name, scale), train_rows),
    } for name in models]).set_index("model")


def batches(X: np.ndarray, y: np.ndarray, batch_size: int, rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Shuffled mini-batches of one array pair held in memory (call once per epoch)."""
    order = rng.permutation(len(y))
    for start in range(0, len(y), batch_size):
        index = order[start:start + batch_size]
        yield X[index], y[index]


def model_inputs(name: str, X: np.ndarray) -> torch.Tensor:
    """The columns a model reads (its :attr:`~ctxlib.learning.spec.ModelSpec.inputs`), as a float32 tensor."""
    return torch.from_numpy(model_spec(name).select(X))


class CheckpointError(RuntimeError):
    """A checkpoint's weights and JSON record do not belong together."""


@dataclass
class Checkpoint:
    """A saved model with its training config, per-epoch history and optimiser state."""

    model: torch.nn.Module
    config: TrainingConfig
    history: list[dict]
    optimiser_state: dict
    #: What the training data were made from (feature stamps and digest), as saved.
    provenance: dict = field(default_factory=dict)

    @property
    def epoch(self) -> int:
        """Epochs completed."""
        return len(self.history)


def save_checkpoint(
    model: torch.nn.Module, config: TrainingConfig, history: list[dict], path: Path, *,
    optimiser: torch.optim.Optimizer | None = None, provenance: dict | None = None,
) -> None:
    """Write ``path`` (model and optimiser state_dicts) and ``path.with_suffix('.json')`` (config, history), atomically.

    Both files carry the epoch count; :func:`load_checkpoint` refuses a pair that disagrees
    (a run stopped between the two writes). ``provenance`` (what the training data were
    made from, see :func:`train_models`) is kept in the JSON beside the config.
    """
    path = Path(path)
    state = {"model": model.state_dict(), "optimiser": optimiser.state_dict() if optimiser is not None else {},
             "epoch": len(history)}
    atomic_write(path, lambda handle: torch.save(state, handle))
    record = {"config": asdict(config), "history": history, "provenance": provenance or {},
              "ctxlib": __version__, "torch": torch.__version__}
    text = json.dumps(record, indent=1).encode()
    atomic_write(path.with_suffix(".json"), lambda handle: handle.write(text))


def load_checkpoint(path: Path) -> Checkpoint:
    """Rebuild a model from a checkpoint written by :func:`save_checkpoint` (``weights_only=True``), in eval mode."""
    path = Path(path)
    record = json.loads(path.with_suffix(".json").read_text())
    config = TrainingConfig(**{"shuffle": "whole-files", "pool_rows": 4_000_000, **record["config"]})
    state = torch.load(path, weights_only=True, map_location="cpu")
    if state["epoch"] != len(record["history"]):
        raise CheckpointError(f"{path} holds epoch {state['epoch']} but {path.with_suffix('.json').name} "
                              f"{len(record['history'])}: the run stopped between the two writes; delete both")
    model = build_model(config.model)
    model.load_state_dict(state["model"])
    return Checkpoint(model.eval(), config, record["history"], state["optimiser"], record.get("provenance", {}))


def resume_point(config: TrainingConfig, checkpoint: Path | None) -> tuple[Checkpoint | None, list[str]]:
    """The checkpoint that training ``config`` goes on from, and why it does not where it does not.

    A checkpoint of the same config (training data digest included) with at most
    ``config.epochs`` epochs goes on from its last epoch; one of another config, or with
    more epochs, starts the run over.

    Parameters
    ----------
    config : TrainingConfig
        The run about to be trained.
    checkpoint : Path, optional
        Its checkpoint (``<model>.pt`` beside ``<model>.json``).

    Returns
    -------
    saved : Checkpoint or None
        The checkpoint to go on from; None where there is none, where the pair is
        inconsistent (a run stopped between its two writes) or where it is of another run.
    changed : list of str
        The config entries that differ from the checkpoint's (``["epochs"]`` where only the
        checkpoint's epochs exceed ``config.epochs``); empty where ``saved`` is not None or
        there is no consistent checkpoint.
    """
    if checkpoint is None or not Path(checkpoint).with_suffix(".json").exists() or not Path(checkpoint).exists():
        return None, []
    try:
        saved = load_checkpoint(checkpoint)
    except CheckpointError:
        return None, []
    if replace(saved.config, epochs=config.epochs) == config and saved.epoch <= config.epochs:
        return saved, []  # a longer run goes on
    changed = [k for k, v in asdict(config).items() if k != "epochs" and asdict(saved.config)[k] != v]
    return None, changed or ["epochs"]  # more epochs alone resume; fewer than the checkpoint's start over


def train(
    config: TrainingConfig,
    epoch_batches: Callable[[np.random.Generator], Iterable[tuple[np.ndarray, np.ndarray]]],
    *,
    checkpoint: Path | None = None,
    progress: bool | None = None,
    device: str | None = None,
    threads: int | None = 1,
    provenance: dict | None = None,
) -> tuple[torch.nn.Module, list[dict]]:
    """Train one model; resume from ``checkpoint`` when it holds a run of the same config, or a shorter one.

    A checkpoint of the same config with fewer epochs (a run stopped early, or asked for
    fewer epochs) goes on from its last epoch: each epoch's shuffle and dropout are seeded
    by the epoch alone, so the result is that of one uninterrupted run.

    Parameters
    ----------
    config : TrainingConfig
    epoch_batches : callable
        ``epoch_batches(rng)`` yields the shuffled ``(X, y)`` batches of one epoch.
    checkpoint : Path, optional
        Where to save after every epoch (and resume from).
    progress : bool, optional
        Show a tqdm bar over the epochs (loss and accuracy of the last one beside it); default: the
        ``progress`` knob of :mod:`ctxlib.base.config`.
    device : str, optional
        Torch device, e.g. ``"cuda"`` for the paper's scale (checkpoints load back onto the CPU); default:
        the ``device`` knob.
    threads : int or None
        CPU threads torch may use while training (restored afterwards); None leaves torch's
        setting. One is the default: steps on 31 features gain nothing from more, and threads
        that spin on cores busy with other work slowed small-batch training 10-100x (measured).
    provenance : dict, optional
        Saved with every checkpoint (see :func:`save_checkpoint`).

    Returns
    -------
    model, history
        The trained model (eval mode) and one ``{"epoch", "loss", "accuracy", "samples"}`` per
        epoch, including epochs done before a resume (running figures over the epoch's batches,
        in training mode).
    """
    device, progress = knobs.resolve("device", device), knobs.resolve("progress", progress)
    torch.manual_seed(config.seed)
    model, history, optimiser_state = build_model(config.model), [], {}
    saved, changed = resume_point(config, checkpoint)
    if saved is not None:
        model, history, optimiser_state = saved.model, saved.history, saved.optimiser_state
    elif changed:
        _say(f"{config.model}: training from scratch, the checkpoint's {', '.join(changed)} changed")
    model.to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    if optimiser_state:
        optimiser.load_state_dict(optimiser_state)
    with torch_threads(threads):
        _run_epochs(model, optimiser, config, epoch_batches, history, checkpoint=checkpoint, progress=progress,
                    device=device, provenance=provenance)
    return model.cpu().eval(), history


def _say(message: str) -> None:
    """One line for the person running the training (beside tqdm's bars)."""
    from tqdm.auto import tqdm

    tqdm.write(message)


@contextmanager
def torch_threads(threads: int | None):
    """Let torch use ``threads`` CPU threads inside the ``with`` block (None: leave it), then restore."""
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _run_epochs(model, optimiser, config, epoch_batches, history, *, checkpoint, progress, device, provenance) -> None:
    """The epochs still to do; appends to ``history`` and checkpoints after each."""
    from tqdm.auto import tqdm

    bar = tqdm(total=config.epochs, initial=len(history), desc=config.model, unit="epoch", disable=not progress)
    for epoch in range(len(history), config.epochs):
        model.train()
        rng = np.random.default_rng([config.seed, epoch])
        torch.manual_seed(config.seed * 1000 + epoch)
        total, correct, loss_sum = 0, 0, 0.0
        for X, y in epoch_batches(rng):
            inputs = model_inputs(config.model, X).to(device)
            target = torch.as_tensor(y, dtype=torch.long, device=device)
            optimiser.zero_grad()
            logits = model(inputs)
            loss = torch.nn.functional.cross_entropy(logits, target)
            loss.backward()
            optimiser.step()
            total += len(y)
            correct += int((logits.argmax(dim=1) == target).sum())
            loss_sum += float(loss.detach()) * len(y)
        history.append({"epoch": epoch + 1, "loss": loss_sum / total, "accuracy": correct / total, "samples": total})
        if checkpoint is not None:
            save_checkpoint(model, config, history, checkpoint, optimiser=optimiser, provenance=provenance)
        bar.set_postfix(loss=f"{history[-1]['loss']:.4f}", accuracy=f"{history[-1]['accuracy']:.4f}")
        bar.update()
    bar.close()


def train_models(
    features_dir: str | Path, scale: str = "quick", *, seed: int = 0, checkpoint_dir: str | Path | None = None,
    models: tuple[str, ...] = MODEL_NAMES, split: str = "random", progress: bool | None = None,
    device: str | None = None,
    epochs: int | None = None,
    changes: Mapping[str, object] | None = None,
) -> dict[str, Checkpoint]:
    """Train models on the training part of ``split`` of the feature files, with the :func:`schedule` of ``scale``.

    Batches are streamed from ``features_dir`` (:func:`ctxlib.learning.reading.stream_batches`);
    with ``checkpoint_dir``, each model is checkpointed there as ``<model>.pt`` + ``.json``
    after every epoch, and a finished model is not trained again unless its config or its
    data (:func:`ctxlib.learning.reading.features_digest`: the feature files' stamps and
    bytes) changed; the checkpoint keeps every feature file's stamp (library checksum,
    augmentation ranges, patch grid, realisations, seed, code digest). ``epochs`` replaces the
    schedule's number of epochs (for a controlled experiment; the batch size stays); ``changes`` replaces
    any other fields of every model's :class:`TrainingConfig`, e.g. ``{"learning_rate": 5e-4}`` (checked by
    the config; ``model``, ``seed``, ``split`` and ``data`` are set here and cannot be changed).
    """
    changes = dict(changes or {})
    fixed = {"model", "seed", "split", "data"}
    allowed = sorted(f.name for f in fields(TrainingConfig) if f.name not in fixed)
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise ValueError(f"changes {unknown} are not TrainingConfig fields that may change; allowed: "
                         f"{', '.join(allowed)}")
    digest = features_digest(features_dir)
    provenance = {"features_digest": digest, "features": feature_stamps(features_dir)}
    trained = {}
    for name in models:
        config = replace(schedule(name, scale, seed=seed, split=split), data=digest)
        config = replace(config, **{**changes, **({} if epochs is None else {"epochs": epochs})})
        checkpoint = None if checkpoint_dir is None else Path(checkpoint_dir) / f"{name}.pt"

        def epoch_batches(rng, batch_size=config.batch_size, pool_rows=config.pool_rows):
            return stream_batches(features_dir, batch_size, rng, split=split, seed=seed, buffer_rows=pool_rows)

        model, history = train(config, epoch_batches, checkpoint=checkpoint, progress=progress, device=device,
                               provenance=provenance)
        trained[name] = Checkpoint(model, config, history, {}, provenance)
    return trained


def models_of(checkpoints: Mapping[str, Checkpoint]) -> dict[str, torch.nn.Module]:
    """The model of each checkpoint: ``{name: checkpoint.model}``."""
    return {name: checkpoint.model for name, checkpoint in checkpoints.items()}


def batch_sizes_of(checkpoints: Mapping[str, Checkpoint]) -> dict[str, int]:
    """The training batch size (rows) of each checkpoint's config, which also evaluates it: ``{name: batch size}``."""
    return {name: checkpoint.config.batch_size for name, checkpoint in checkpoints.items()}


def histories_of(checkpoints: Mapping[str, Checkpoint]) -> dict[str, list[dict]]:
    """The per-epoch training history of each checkpoint: ``{name: checkpoint.history}``."""
    return {name: checkpoint.history for name, checkpoint in checkpoints.items()}


def checkpoint_steps(checkpoints: Mapping[str, Checkpoint], train_rows: int) -> dict[str, int]:
    """Optimiser steps each checkpoint's config takes on ``train_rows`` rows per epoch (:func:`training_steps`)."""
    return {name: training_steps(checkpoint.config, train_rows) for name, checkpoint in checkpoints.items()}


def timed_training(
    features_dir: str | Path, scale: str = "quick", *, seed: int = 0, checkpoint_dir: str | Path | None = None,
    models: tuple[str, ...] = MODEL_NAMES,
) -> tuple[dict[str, Checkpoint], dict[str, float]]:
    """:func:`train_models`, one model at a time, with the wall time each took.

    Parameters
    ----------
    features_dir : str or pathlib.Path
        The feature files.
    scale : str
        The :func:`schedule` to train with.
    seed : int
    checkpoint_dir : str or pathlib.Path, optional
        Where checkpoints are written (a finished model there is read back, not trained again).
    models : tuple of str
        The models, trained in this order.

    Returns
    -------
    trained, seconds : dict
        Model name -> :class:`Checkpoint`, and model name -> wall time in seconds (reading the
        feature files included).
    """
    trained, seconds = {}, {}
    for name in models:
        start = time.perf_counter()
        trained.update(train_models(features_dir, scale, seed=seed, checkpoint_dir=checkpoint_dir, models=(name,)))
        seconds[name] = time.perf_counter() - start
    return trained, seconds


def training_speed(histories: Mapping[str, list[dict]], seconds: Mapping[str, float]) -> pd.DataFrame:
    """Wall time and training throughput of each model.

    Parameters
    ----------
    histories : dict
        Model name -> per-epoch history (each epoch's ``samples``: rows trained on).
    seconds : dict
        Model name -> wall time of its training, seconds.

    Returns
    -------
    pandas.DataFrame
        Indexed by the models of ``seconds``: ``seconds`` and ``samples/s`` (rows of all epochs per second).
    """
    return pd.DataFrame({"seconds": seconds, "samples/s": {name: sum(h["samples"] for h in histories[name]) / s
                                                           for name, s in seconds.items()}})


def train_to_paper_steps(
    features_dir: str | Path, scale: str, train_rows: int, *, seed: int = 0, checkpoint_dir: str | Path | None = None,
    models: tuple[str, ...] = ("attn-200k", "attn-400k"),
) -> dict[str, Checkpoint]:
    """Train models at the batch sizes of ``scale`` for at least as many steps as the paper's schedule gives them.

    A control of the quick scale's step counts: each model trains for the fewest whole epochs of
    ``train_rows`` rows whose steps (:func:`steps_per_epoch`) reach :func:`paper_steps`.

    Parameters
    ----------
    features_dir : str or pathlib.Path
        The feature files.
    scale : str
        The scale whose batch sizes are kept.
    train_rows : int
        Training rows of one epoch.
    seed : int
    checkpoint_dir : str or pathlib.Path, optional
        Where checkpoints are written (keep it apart from the scheduled run's).
    models : tuple of str
        The models, trained in this order.

    Returns
    -------
    dict
        Model name -> :class:`Checkpoint`.
    """
    trained = {}
    for name in models:
        epochs = -(-paper_steps(name) // steps_per_epoch(train_rows, schedule(name, scale).batch_size))
        trained[name] = train_models(features_dir, scale, seed=seed, checkpoint_dir=checkpoint_dir, models=(name,),
                                     epochs=epochs)[name]
    return trained
