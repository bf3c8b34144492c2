"""What each of the six classifiers is (paper §5, §8): its inputs, its size, its schedule.

In: the feature names of :mod:`ctxlib.encoding.features`. Out: one frozen
:class:`ModelSpec` per model, which owns the feature columns the model reads (by name,
derived from :data:`~ctxlib.encoding.features.FEATURE_NAMES`), its hidden layers, the
paper's training batch size and epochs, and the attention mode it is used in at
inference. Everything that builds, trains, evaluates or loads a model asks its spec; no
module dispatches on a model's name. This module does not import PyTorch, so the command
line can list the models at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ctxlib.encoding.features import FEATURE_NAMES
from ctxlib.encoding.zernike import ZERNIKE_FEATURE_NAMES
from ctxlib.materials.catalog import check_choice
from ctxlib.materials.motifs import CLASS_NAMES

#: Output classes of every model (X2, VacX, VacX2, M, D).
N_CLASSES = len(CLASS_NAMES)
SIMPLE_HIDDEN: tuple[int, ...] = (64, 32, 16, 8)
#: §5's "11 hidden layers" (the model description says "12 blocks"); the paper gives no widths.
DEEP_HIDDEN: tuple[int, ...] = (64, 64, 64, 64, 64, 32, 32, 32, 16, 16, 8)
#: The two attention modes (see :mod:`ctxlib.learning.models`): the paper's batch statistic, and ours.
ATTENTION_MODES = ("batch", "frozen")


@dataclass(frozen=True)
class ModelSpec:
    """One classifier of the paper.

    Attributes
    ----------
    name : str
        The paper's name (``"MLP-Simple"``, ``"attn-400k"``, ...).
    kind : {"mlp", "attention"}
    inputs : tuple of str
        The feature names the model reads, in order (a subset of ``FEATURE_NAMES``).
    hidden : tuple of int
        Hidden widths of an MLP (empty for an attention model).
    paper_batch_size : int
        Training batch size of the paper's schedule (§8), rows.
    paper_epochs : int
        Training epochs of the paper's schedule.
    attention_mode : {"batch", "frozen"} or None
        The mode an attention model is used in at inference (None for an MLP): "frozen"
        by default, so a prediction does not depend on the rows that share its batch.
    """

    name: str
    kind: str
    inputs: tuple[str, ...]
    hidden: tuple[int, ...]
    paper_batch_size: int
    paper_epochs: int
    attention_mode: str | None = None

    def __post_init__(self) -> None:
        check_choice(self.kind, ("mlp", "attention"), "kind")
        unknown = [n for n in self.inputs if n not in FEATURE_NAMES]
        if unknown or not self.inputs:
            raise ValueError(f"{self.name}: inputs {unknown or '()'} are not feature names; allowed: {FEATURE_NAMES}")
        if self.kind == "attention":
            check_choice(self.attention_mode, ATTENTION_MODES, "attention_mode")
        elif self.attention_mode is not None:
            raise ValueError(f"{self.name} is an MLP: attention_mode must be None, got {self.attention_mode!r}")
        if self.paper_batch_size < 1 or self.paper_epochs < 1:
            raise ValueError(f"{self.name}: batch size and epochs must be >= 1, got "
                             f"{self.paper_batch_size} and {self.paper_epochs}")

    @property
    def columns(self) -> np.ndarray:
        """Indices of :attr:`inputs` in the 31 features."""
        return np.array([FEATURE_NAMES.index(n) for n in self.inputs])

    @property
    def n_inputs(self) -> int:
        """Number of input features."""
        return len(self.inputs)

    @property
    def uses_context(self) -> bool:
        """Whether the model reads any feature beyond the contrast block."""
        return any(n not in ZERNIKE_FEATURE_NAMES for n in self.inputs)

    def select(self, X: np.ndarray) -> np.ndarray:
        """The model's columns of a (N, 31) feature array, as a contiguous float32 array."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != len(FEATURE_NAMES):
            raise ValueError(f"expected features of shape (N, {len(FEATURE_NAMES)}), got {X.shape}")
        if self.inputs == FEATURE_NAMES:
            return np.ascontiguousarray(X, dtype=np.float32)
        return np.ascontiguousarray(X[:, self.columns], dtype=np.float32)


def _attention(name: str, batch: int) -> ModelSpec:
    return ModelSpec(name, "attention", FEATURE_NAMES, (), batch, 10, "frozen")


#: The six models of the paper, in its order.
MODEL_SPECS: dict[str, ModelSpec] = {
    spec.name: spec for spec in (
        ModelSpec("MLP-NoContext", "mlp", ZERNIKE_FEATURE_NAMES, SIMPLE_HIDDEN, 4096, 20),
        ModelSpec("MLP-Simple", "mlp", FEATURE_NAMES, SIMPLE_HIDDEN, 4096, 20),
        ModelSpec("MLP-Deep", "mlp", FEATURE_NAMES, DEEP_HIDDEN, 4096, 20),
        _attention("attn-4k", 4096),
        _attention("attn-200k", 204_800),
        _attention("attn-400k", 409_600),
    )
}
MODEL_NAMES: tuple[str, ...] = tuple(MODEL_SPECS)
#: The models that read the imaging context (all but MLP-NoContext).
CONTEXT_MODELS: tuple[str, ...] = tuple(n for n, s in MODEL_SPECS.items() if s.uses_context)
#: The attention models (their batch statistic makes the mode matter).
ATTENTION_MODELS: tuple[str, ...] = tuple(n for n, s in MODEL_SPECS.items() if s.kind == "attention")


def model_spec(name: str) -> ModelSpec:
    """The spec of one of the six models, or a ValueError listing the allowed names."""
    check_choice(name, MODEL_NAMES, "model")
    return MODEL_SPECS[name]
