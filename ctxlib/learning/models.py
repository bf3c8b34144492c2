"""The six classifiers of paper §5 (Figs. 5a-c, S10-S12), in PyTorch.

* ``MLP``: blocks of linear - ReLU - dropout, then a linear head (softmax in the loss).
  MLP-NoContext: 6 Zernike inputs, hidden 64-32-16-8 (Fig. S10); MLP-Simple: 31 inputs,
  hidden 64-32-16-8 (Fig. S11); MLP-Deep: 31 inputs, 11 hidden layers (§5 says "11 hidden
  layers", the model description "12 blocks"; we follow §5; the paper gives no widths,
  ours are :data:`ctxlib.learning.spec.DEEP_HIDDEN`).
* ``FeatureAttentionClassifier``: batch norm on the input, three layers of
  feature-feature self-attention and a position-wise feed-forward block, each with a
  residual connection and batch norm, dropout 0.1, linear head.

The paper's attention matrix, ``softmax(Q^T K / sqrt(d))``, is d x d and sums over the
*samples of the batch*: one sample's prediction depends on the others in its batch
(NOTES). :class:`FeatureAttention` computes it that way in training (``mode="batch"``)
and keeps a running mean of ``Q^T K / n`` like batch norm keeps its statistics; with
``mode="frozen"`` inference uses ``n_train`` x that mean, the attention a training batch
saw on average, so a prediction no longer depends on its batch.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import torch
from torch import nn

from ctxlib.learning.spec import ATTENTION_MODES, N_CLASSES, SIMPLE_HIDDEN, ModelSpec, model_spec


class MLP(nn.Module):
    """Linear-ReLU-dropout blocks and a linear head producing logits.

    Parameters
    ----------
    in_features : int
        6 (Zernike only) or 31 (context + contrast).
    hidden : tuple of int
        Width of each hidden layer.
    dropout : float
        Dropout rate after every hidden layer.
    """

    def __init__(self, in_features: int, hidden: tuple[int, ...] = SIMPLE_HIDDEN, dropout: float = 0.1,
                 n_classes: int = N_CLASSES):
        super().__init__()
        layers, width = [], in_features
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(dropout)]
            width = size
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


class FeatureAttention(nn.Module):
    """Feature-feature attention (Fig. 5c): ``V softmax(Q^T K / sqrt(d))``, then a linear layer.

    Parameters
    ----------
    d : int
        Number of features.
    momentum : float
        Update rate of the running mean of ``Q^T K / n``.
    """

    def __init__(self, d: int, momentum: float = 0.1):
        super().__init__()
        self.d = d
        self.momentum = momentum
        self.query, self.key, self.value, self.out = (nn.Linear(d, d) for _ in range(4))
        self.register_buffer("running_qk", torch.zeros(d, d))
        self.register_buffer("train_batch_size", torch.tensor(0.0))
        self.mode = "batch"

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """The d x d attention matrix for input ``x`` (n, d) in the current mode."""
        if self.mode == "frozen" and not self.training:
            if self.train_batch_size == 0:
                raise RuntimeError("frozen attention needs statistics from training; train the model first")
            logits = self.train_batch_size * self.running_qk
        else:
            q, k = self.query(x), self.key(x)
            logits = q.T @ k
            if self.training:
                with torch.no_grad():
                    self.running_qk.lerp_(logits / len(x), self.momentum)
                    self.train_batch_size.fill_(len(x))
        return torch.softmax(logits / math.sqrt(self.d), dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.value(x) @ self.attention(x))


class AttentionLayer(nn.Module):
    """Self-attention and position-wise feed-forward sub-layers, each residual + batch norm (Fig. 5b)."""

    def __init__(self, d: int, hidden: int = 64):
        super().__init__()
        self.attention = FeatureAttention(d)
        self.norm1 = nn.BatchNorm1d(d)
        self.feed_forward = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, d))
        self.norm2 = nn.BatchNorm1d(d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm1(x + self.attention(x))
        return self.norm2(x + self.feed_forward(x))


class FeatureAttentionClassifier(nn.Module):
    """Batch norm, three attention layers, dropout, linear head (Fig. 5a).

    Parameters
    ----------
    d : int
        Number of input features (31).
    layers : int
        Attention layers (3).
    dropout : float
        Dropout after the last attention layer.
    """

    def __init__(self, d: int = 31, layers: int = 3, dropout: float = 0.1, n_classes: int = N_CLASSES):
        super().__init__()
        self.input_norm = nn.BatchNorm1d(d)
        self.layers = nn.ModuleList(AttentionLayer(d) for _ in range(layers))
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(d, n_classes)

    @property
    def attention_mode(self) -> str:
        """``"batch"`` or ``"frozen"`` (see :meth:`set_attention_mode`)."""
        return self.layers[0].attention.mode

    def set_attention_mode(self, mode: str) -> "FeatureAttentionClassifier":
        """``"batch"`` (the paper's: attention from the batch) or ``"frozen"`` (batch-independent inference)."""
        if mode not in ATTENTION_MODES:
            raise ValueError(f"attention mode {mode!r} is not one of {ATTENTION_MODES}")
        for layer in self.layers:
            layer.attention.mode = mode
        return self

    def attention_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The d x d attention matrix of every layer for the batch ``x`` (Fig. S17)."""
        maps, h = [], self.input_norm(x)
        for layer in self.layers:
            maps.append(layer.attention.attention(h))
            h = layer(h)
        return maps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.input_norm(x)
        for layer in self.layers:
            h = layer(h)
        return self.head(self.dropout(h))


def describe(model: nn.Module) -> list[str]:
    """The layers of a model, input to output, one line each (the boxes of Figs. 5a, S10-S12)."""
    if isinstance(model, MLP):
        lines = [f"input ({model.body[0].in_features} features)"]
        lines += [f"Linear {m.in_features}->{m.out_features}, ReLU, Dropout {model.body[i + 2].p}"
                  for i, m in enumerate(model.body) if isinstance(m, nn.Linear)]
    else:
        d = model.input_norm.num_features
        lines = [f"input ({d} features)", f"BatchNorm1d({d})"]
        for k, layer in enumerate(model.layers, start=1):
            hidden = layer.feed_forward[0].out_features
            lines += [f"layer {k}: V softmax(Q^T K / sqrt({d})), Linear; + x, BatchNorm",
                      f"layer {k}: Linear {d}->{hidden}, ReLU, Linear {hidden}->{d}; + x, BatchNorm"]
        lines.append(f"Dropout {model.dropout.p}")
    return lines + [f"Linear {model.head.in_features}->{model.head.out_features}, softmax"]


def n_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (the k of the BIC)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def build_model(model: str | ModelSpec) -> nn.Module:
    """A fresh, untrained model from its spec (or its name, see :data:`~ctxlib.learning.spec.MODEL_NAMES`)."""
    spec = model if isinstance(model, ModelSpec) else model_spec(model)
    if spec.kind == "mlp":
        return MLP(spec.n_inputs, spec.hidden)
    return FeatureAttentionClassifier(spec.n_inputs)


def build_models(names: Sequence[str]) -> dict[str, nn.Module]:
    """Fresh, untrained models (:func:`build_model`), built in the order of ``names``."""
    return {name: build_model(name) for name in names}


def parameter_counts(models: Mapping[str, nn.Module]) -> dict[str, int]:
    """Trainable parameters of each model (:func:`n_parameters`; the k of the BIC)."""
    return {name: n_parameters(model) for name, model in models.items()}


def model_descriptions(models: Mapping[str, nn.Module]) -> dict[str, list[str]]:
    """The layers of each model, one line each (:func:`describe`; the boxes of Figs. 5a, S10-S12)."""
    return {name: describe(model) for name, model in models.items()}


@contextmanager
def attention_mode(model: nn.Module, mode: str | None) -> Iterator[nn.Module]:
    """Use an attention model in ``mode`` ("batch" or "frozen") inside the block, then restore its mode.

    An MLP (no attention) and ``mode=None`` pass through unchanged.
    """
    if mode is None or not isinstance(model, FeatureAttentionClassifier):
        yield model
        return
    original = model.attention_mode
    model.set_attention_mode(mode)
    try:
        yield model
    finally:
        model.set_attention_mode(original)
