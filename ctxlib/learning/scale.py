"""The two scales of the whole pipeline: ``quick`` (minutes on a laptop) and ``full`` (the paper's).

In: a scale name. Out: a frozen :class:`Scale` that says how many noisy realisations of
every imaging context the features hold and by how much the paper's training batch sizes
are divided. Every stage that depends on the scale asks this preset, and the book prints
it on every page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ctxlib.base import config
from ctxlib.base.paths import ROOT
from ctxlib.base.settings import check_number
from ctxlib.materials.catalog import check_choice


@dataclass(frozen=True)
class Scale:
    """A scale preset.

    Attributes
    ----------
    name : str
    realisations : int
        Noisy realisations per imaging context (``full``: 576 contexts x 34 motifs x 2,800
        = 54.8 M patches, the paper's ~55 M).
    batch_divisor : int
        Paper batch size / this scale's batch size. At ``quick`` the training set (~125 k
        rows) is smaller than one attn-200k batch, so every batch is divided by 32: epochs,
        the 1 : 50 : 100 batch ratio and the ratio of the models' steps stay the paper's.
    """

    name: str
    realisations: int
    batch_divisor: int

    def __post_init__(self) -> None:
        check_number("realisations", self.realisations, 1, 100_000, integer=True)
        check_number("batch_divisor", self.batch_divisor, 1, 4096, integer=True)


SCALES: dict[str, Scale] = {s.name: s for s in (Scale("quick", 8, 32), Scale("full", 2800, 1))}
SCALE_NAMES: tuple[str, ...] = tuple(SCALES)


def scale_preset(name: str) -> Scale:
    """The preset of a scale name, or a ValueError naming the allowed ones."""
    return SCALES[check_choice(name, SCALE_NAMES, "scale")]


def paper_scale_folders(seed: int = 0) -> dict[str, Path]:
    """Where the paper-scale run of ``seed`` keeps its work: ``features_dir`` (the feature files, made again on
    each machine, under ``_build/``) and ``weights_dir`` (the per-epoch checkpoints, kept in the repository so a
    run spread over sessions and machines goes on). ``benchmarks/full_scale.py`` and the book at ``scale="full"``
    share them, so either goes on where the other stopped."""
    check_number("seed", seed, 0, 2**32 - 1, integer=True)
    return {"features_dir": ROOT / "_build" / "data" / f"features-full-seed{seed}",
            "weights_dir": config.data_folder(f"training-full-seed{seed}")}
