"""Several classifiers as one: the vote and how far the members agree with it.

In: the class probabilities of each member model for the same rows. Out: the vote (the
class of the mean probability), the mean probability itself, and per row the share of
members whose own most likely class is the vote. A row on which trained models of
different architecture and batch size disagree is one their training did not settle:
the disagreement is a warning that needs no extra model (a "deep ensemble" in the sense
of Lakshminarayanan et al., 2017, here of the paper's five context-aware models).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EnsembleVote:
    """What :func:`ensemble_vote` found.

    Attributes
    ----------
    probabilities : numpy.ndarray, (N, C)
        Mean class probabilities over the members.
    label : numpy.ndarray of int, (N,)
        The vote: the most likely class of the mean probability.
    agreement : numpy.ndarray, (N,)
        Share of the members whose own most likely class is the vote, in [1/M, 1].
    members : int
        Number of member models M.
    """

    probabilities: np.ndarray
    label: np.ndarray
    agreement: np.ndarray
    members: int


def ensemble_vote(probabilities: list[np.ndarray] | tuple[np.ndarray, ...]) -> EnsembleVote:
    """The vote of several models over the same rows.

    Parameters
    ----------
    probabilities : sequence of numpy.ndarray, each (N, C)
        Class probabilities of each member, rows in the same order.

    Returns
    -------
    EnsembleVote

    Examples
    --------
    >>> a = np.array([[0.9, 0.1], [0.6, 0.4]])
    >>> b = np.array([[0.8, 0.2], [0.1, 0.9]])
    >>> vote = ensemble_vote([a, b])
    >>> vote.label.tolist(), vote.agreement.tolist()
    ([0, 1], [1.0, 0.5])
    """
    stack = np.asarray(probabilities, dtype=np.float64)
    if stack.ndim != 3 or not len(stack) or not stack.shape[1]:
        raise ValueError(f"probabilities must be one (N, C) array per member with N, C > 0, got shape {stack.shape}")
    mean = stack.mean(axis=0)
    label = mean.argmax(axis=1)
    agreement = (stack.argmax(axis=2) == label).mean(axis=0)
    return EnsembleVote(mean, label, agreement, len(stack))
