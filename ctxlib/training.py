"""Training of the §5 classifiers: Adam, learning rate 1e-3, cross-entropy, seeded.

Data arrive as a stream of ``(X, y)`` batches (:func:`batches`), so the paper's ~55 M
rows never need to be in memory; a checkpoint after every epoch (a ``state_dict`` and a
JSON config, loaded with ``weights_only=True``) lets an interrupted run resume.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import torch

from .library import atomic_write
from .models import build_model

#: The Zernike columns of the 31 features (MLP-NoContext sees only these).
ZERNIKE_COLUMNS = slice(23, 29)


@dataclass(frozen=True)
class TrainingConfig:
    """How one model is trained (paper §8: MLPs 20 epochs at 4,096; attention 10 epochs)."""

    model: str
    epochs: int
    batch_size: int
    learning_rate: float = 1e-3
    seed: int = 0


def batches(X: np.ndarray, y: np.ndarray, batch_size: int, rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Shuffled mini-batches of one array pair (call once per epoch; stream files by chaining calls)."""
    order = rng.permutation(len(y))
    for start in range(0, len(y), batch_size):
        index = order[start:start + batch_size]
        yield X[index], y[index]


def model_inputs(name: str, X: np.ndarray) -> torch.Tensor:
    """The columns a model sees: the 6 Zernike moments for MLP-NoContext, all 31 otherwise."""
    X = X[:, ZERNIKE_COLUMNS] if name == "MLP-NoContext" else X
    return torch.as_tensor(np.ascontiguousarray(X), dtype=torch.float32)


def save_checkpoint(
    model: torch.nn.Module, config: TrainingConfig, epoch: int, path: Path, optimiser: torch.optim.Optimizer | None = None
) -> None:
    """Write ``path`` (model and optimiser state_dicts) and ``path.with_suffix('.json')`` (config, epoch), atomically."""
    path = Path(path)
    state = {"model": model.state_dict(), "optimiser": optimiser.state_dict() if optimiser is not None else {}}
    atomic_write(path, lambda handle: torch.save(state, handle))
    text = json.dumps({**asdict(config), "epoch": epoch}, indent=1).encode()
    atomic_write(path.with_suffix(".json"), lambda handle: handle.write(text))


def load_checkpoint(path: Path) -> tuple[torch.nn.Module, TrainingConfig, int, dict]:
    """Rebuild a model from a checkpoint written by :func:`save_checkpoint` (``weights_only=True``).

    Returns the model, its training config, the epochs done, and the optimiser state.
    """
    path = Path(path)
    record = json.loads(path.with_suffix(".json").read_text())
    epoch = record.pop("epoch")
    config = TrainingConfig(**record)
    state = torch.load(path, weights_only=True)
    model = build_model(config.model)
    model.load_state_dict(state["model"])
    return model, config, epoch, state["optimiser"]


def train(
    config: TrainingConfig,
    epoch_batches: Callable[[np.random.Generator], Iterable[tuple[np.ndarray, np.ndarray]]],
    checkpoint: Path | None = None,
    progress: bool = True,
) -> tuple[torch.nn.Module, list[dict]]:
    """Train one model; resume from ``checkpoint`` when it holds an unfinished run of the same config.

    Parameters
    ----------
    config : TrainingConfig
    epoch_batches : callable
        ``epoch_batches(rng)`` yields the shuffled ``(X, y)`` batches of one epoch.
    checkpoint : Path, optional
        Where to save after every epoch (and resume from).
    progress : bool
        Show a tqdm bar per epoch.

    Returns
    -------
    model, history
        The trained model (eval mode) and one ``{"epoch", "loss", "accuracy", "samples"}`` per epoch.
    """
    from tqdm.auto import tqdm

    torch.manual_seed(config.seed)
    model, start, optimiser_state = build_model(config.model), 0, {}
    if checkpoint is not None and Path(checkpoint).exists():
        saved, saved_config, saved_epoch, saved_optimiser = load_checkpoint(checkpoint)
        if saved_config == config:
            model, start, optimiser_state = saved, saved_epoch, saved_optimiser
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    if optimiser_state:
        optimiser.load_state_dict(optimiser_state)
    history = []
    for epoch in range(start, config.epochs):
        model.train()
        rng = np.random.default_rng([config.seed, epoch])
        torch.manual_seed(config.seed * 1000 + epoch)
        total, correct, loss_sum = 0, 0, 0.0
        for X, y in tqdm(epoch_batches(rng), desc=f"{config.model} epoch {epoch + 1}/{config.epochs}",
                         disable=not progress, leave=False):
            inputs, target = model_inputs(config.model, X), torch.as_tensor(y, dtype=torch.long)
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
            save_checkpoint(model, config, epoch + 1, checkpoint, optimiser)
    return model.eval(), history


@torch.no_grad()
def predict_proba(model: torch.nn.Module, name: str, X: np.ndarray, batch_size: int = 65536) -> np.ndarray:
    """Class probabilities (N, 5) of a trained model, in batches."""
    model.eval()
    out = [torch.softmax(model(model_inputs(name, X[i:i + batch_size])), dim=1).numpy() for i in range(0, len(X), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, 5))
