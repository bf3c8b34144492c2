"""The settings of every stage at one scale, as the table each rendered page prints.

In: a scale name and seed. Out: one row per setting (stage, setting, value): the library's
simulation settings (read from its manifest), the augmentation ranges, the encoding, the
feature files and the scale preset, i.e. what a page's numbers were computed with.
"""

from __future__ import annotations

import pandas as pd

from ctxlib.base.settings import rows
from ctxlib.encoding.features import EncodingSettings
from ctxlib.learning.dataset import FeatureSettings
from ctxlib.learning.scale import scale_preset
from ctxlib.simulation.library import read_manifest, settings_from_record
from ctxlib.simulation.scans import MotifSimulation


def settings_table(scale: str = "quick", seed: int = 0) -> pd.DataFrame:
    """Every stage's settings at ``scale`` (the library's as recorded in its manifest)."""
    recorded = read_manifest().get("settings")
    library = settings_from_record(recorded) if recorded else MotifSimulation()
    features = FeatureSettings.at_scale(scale, seed)
    table = (rows(library, "simulation (library)") + rows(EncodingSettings(), "encoding")
             + rows(features, "learning (features)") + rows(scale_preset(scale), "learning (scale)"))
    return pd.DataFrame(table)


def settings_markdown(scale: str = "quick", seed: int = 0) -> str:
    """:func:`settings_table` as a Markdown table."""
    table = settings_table(scale, seed)
    lines = ["| stage | setting | value |", "|---|---|---|"]
    lines += [f"| {r.stage} | `{r.setting}` | {r.value} |" for r in table.itertuples()]
    return "\n".join(lines)
