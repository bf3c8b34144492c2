"""The real-micrograph page's (notebook 08) cases and result: which images the uncertainty is tried on, and the
result box that leads the page."""

from __future__ import annotations

import html
import re
from dataclasses import replace

import numpy as np
import pandas as pd

from ctxlib.materials.imaging import ImagingContext
from ctxlib.micrographs.examples import ExampleImage
from ctxlib.micrographs.reading import Micrograph
from ctxlib.simulation.augmentation import PAPER_DEGRADATIONS, AugmentationSettings
from ctxlib.simulation.standins import MICROSCOPE_CASES, TestMicrograph


def uncertainty_cases(standin: TestMicrograph, real: Micrograph | None, example: ExampleImage, *,
                      sulfide: TestMicrograph | None = None) -> dict:
    """Images with a stated context for :func:`ctxlib.micrographs.validation.uncertain_shares`: a WSe2 stand-in
    stated rightly in each detector, its HAADF image stated as MAADF and as MoSe2, a WS2 stand-in's HAADF image
    stated as WSe2 (if ``sulfide`` is given), and the real image (if any)."""
    pixel = float(np.mean(standin.pixel_size))
    haadf, maadf = standin.image("HAADF"), standin.image("MAADF")

    def stated(detector: str, host: str = "WSe2") -> ImagingContext:
        return ImagingContext(host, standin.dopant, detector=detector, energy_kev=80)

    cases = {
        f"WSe2 + {standin.dopant} stand-in, HAADF (as stated)": dict(image=haadf, context=stated("HAADF"),
                                                                     pixel_size=pixel),
        f"WSe2 + {standin.dopant} stand-in, MAADF (as stated)": dict(image=maadf, context=stated("MAADF"),
                                                                     pixel_size=pixel),
        "the same HAADF image stated as MAADF": dict(image=haadf, context=stated("MAADF"), pixel_size=pixel),
        "the same HAADF image stated as MoSe2": dict(image=haadf, context=stated("HAADF", "MoSe2"), pixel_size=None),
    }
    if sulfide is not None:
        cases[f"WS2 + {sulfide.dopant} stand-in, HAADF, stated as WSe2"] = dict(
            image=sulfide.image("HAADF"), context=ImagingContext("WSe2", sulfide.dopant, detector="HAADF",
                                                                 energy_kev=80), pixel_size=None)
    if real is not None:
        context = ImagingContext(example.host, example.dopant, detector=example.detector,
                                 energy_kev=example.energy_kev)
        cases[f"real {example.host} (stated {'undoped' if example.dopant is None else example.dopant})"] = dict(
            image=real.image, context=context, pixel_size=real.pixel_size)
    return cases


def microscope_descriptions() -> pd.DataFrame:
    """One row per stand-in of :data:`~ctxlib.simulation.standins.MICROSCOPE_CASES`: its microscope in words."""
    return pd.DataFrame({"microscope": {name: case.description for name, case in MICROSCOPE_CASES.items()}})


def training_variants() -> dict[str, AugmentationSettings]:
    """The training data the real-micrograph page compares an image with: the paper's four degradations, the same
    with the training's blur range, and the training's own degradations."""
    training = AugmentationSettings()
    return {"paper's four degradations": PAPER_DEGRADATIONS,
            "the same, blur to 1.0 x FWHM": replace(PAPER_DEGRADATIONS, blur=training.blur),
            "the training's degradations": training}


def _share(table: pd.DataFrame, k: int, column: str = "all five agree") -> str:
    """Row ``k`` of a :func:`~ctxlib.micrographs.validation.model_agreement` table's ``column``, in percent."""
    return f"{100 * table[column].iloc[k]:.0f} %"


def _interval(f1: pd.DataFrame, name: str) -> str:
    return f"{f1.loc[name, 'F1']:.3f} [{f1.loc[name, '95 % low']:.3f}, {f1.loc[name, '95 % high']:.3f}]"


def result_text(now: pd.DataFrame | None, earlier: dict[str, pd.DataFrame], summary: dict | None, f1: pd.DataFrame,
                hard: tuple, dim: tuple) -> str:
    """The page's result box (HTML, styled as the theme's "important" admonition).

    Parameters
    ----------
    now : pandas.DataFrame or None
        :func:`ctxlib.micrographs.validation.model_agreement` today (None: no real image); rows "none" then "Re".
    earlier : dict of str to pandas.DataFrame
        :func:`ctxlib.book.records.earlier_agreement`: the same for earlier weights, oldest first, named by what they
        lacked, indexed by the stated dopant.
    summary : dict or None
        :meth:`ctxlib.micrographs.classify.Classification.summary` of the real image.
    f1 : pandas.DataFrame
        :func:`ctxlib.micrographs.validation.defect_f1_intervals` on the stand-ins.
    hard, dim : (curve, (set aside, accuracy kept))
        :func:`ctxlib.micrographs.validation.trust_curve` on the hard cases and on the dim-sulfide case.
    """
    (curve, (aside, kept)), (dim_curve, (_, dim_kept)) = hard, dim
    def history(k: int, column: str = "all five agree") -> str:
        return "; ".join(f"{_share(table, k, column)} with the weights of {label}" for label, table in earlier.items())

    real = ("**The real image could not be fetched on this machine.**" if now is None else
            f"**On a real image** (60 keV HAADF of Se-implanted monolayer MoS2, stated undoped): the five "
            f"context-aware models agree on **{_share(now, 0)}** of its {summary['columns']:,} columns "
            f"(earlier: {history(0)}); stated as MoS2 + Re, on {_share(now, 1)}. The aim is 97 %: "
            + ("**reached**" if now["all five agree"].iloc[0] >= 0.97 else "**not reached on this image**")
            + f", whose Se-on-S columns no class describes. `ctxlib classify` marks "
            f"**{100 * summary['uncertain share']:.0f} %** of its columns `uncertain` (earlier: {history(0, 'uncertain')}), "
            f"{100 * summary['outlier share']:.0f} % as unlike the training data.")
    standins = (f"**On stand-ins with known truth**: F1 {_interval(f1, 'single vacancy')} for single vacancies, "
                f"{_interval(f1, 'double vacancy')} for double vacancies and {_interval(f1, 'dopant')} for dopants "
                f"(95 % bootstrap intervals; the aim is 0.98). On the hard cases, setting aside the {100 * aside:.0f} % "
                f"of columns it calls uncertain raises accuracy from {100 * curve['accuracy'].iloc[0]:.1f} % to "
                f"{100 * kept:.2f} %, **except on the dim-sulfide case**, where the models agree and are wrong "
                f"({100 * dim_curve['accuracy'].iloc[0]:.0f} % accuracy, {100 * dim_kept:.0f} % on the columns kept): "
                "its MAADF image, where MoS2's metal and S2 columns are nearly equally bright, lands on swapped "
                "sublattices, which `ctxlib classify` warns of but cannot mend.")
    return _admonition("Result", [real, standins])


def _admonition(title: str, paragraphs: list[str]) -> str:
    """An "important" admonition as HTML (a code cell's Markdown output is rendered as plain CommonMark, without
    MyST directives), with ``**bold**`` and ``code`` spans of the paragraphs turned into tags."""
    def inline(text: str) -> str:
        text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(text, quote=False))
        return re.sub(r"`(.+?)`", r"<code>\1</code>", text)

    body = "".join(f"<p>{inline(p)}</p>" for p in paragraphs)
    return f'<div class="admonition important"><p class="admonition-title">{title}</p>{body}</div>'



def effect_verdict(scores: pd.DataFrame) -> str:
    """Which effects of real micrographs lower a defect class's F1 beyond the noise of the measurement: the effect's
    95 % interval lies wholly below that of the stand-ins without it.

    Parameters
    ----------
    scores : pandas.DataFrame
        :func:`ctxlib.micrographs.validation.effect_scores`, with a ``"none"`` row.

    Returns
    -------
    str
        Markdown: those effects, with the F1 before and after, or a sentence saying that none does.
    """
    base = scores.loc["none"]
    classes = [c[: -len(" F1")] for c in scores.columns if c.endswith(" F1")]
    costs = [f"{effect} ({name}: F1 {base[f'{name} F1']:.3f} -> {row[f'{name} F1']:.3f})"
             for effect, row in scores.drop(index="none").iterrows() for name in classes
             if row[f"{name} 95 % high"] < base[f"{name} 95 % low"]]
    if not costs:
        return ("**No effect lowers a defect class's F1 beyond the noise** (its 95 % interval wholly below that of the "
                "stand-ins without it): at these strengths the training's degradations and the encoder's background "
                "subtraction already cover them.")
    return ("**Effects that lower a defect class's F1 beyond the noise** (their 95 % interval wholly below that of the "
            "stand-ins without them): " + "; ".join(costs) + ". The others stay within the noise: at these strengths "
            "the training's degradations and the encoder's background subtraction already cover them.")


def context_verdict(shares: pd.DataFrame) -> str:
    """Markdown: which images of :func:`uncertainty_cases` stated in a wrong context the contrast check flagged.

    Parameters
    ----------
    shares : pandas.DataFrame
        :func:`ctxlib.micrographs.validation.uncertain_shares` of :func:`uncertainty_cases` (a name says "stated as"
        where the context is wrong).
    """
    wrong = shares[shares.index.str.contains("stated as") & (shares["columns"] > 0)]
    right = shares[~shares.index.str.contains("stated as") & (shares["columns"] > 0)]
    flagged = [name for name in wrong.index if wrong.loc[name, "context warning"]]
    missed = [name for name in wrong.index if not wrong.loc[name, "context warning"]]
    false = [name for name in right.index if right.loc[name, "context warning"]]
    text = ("**The contrast check flags** " + ("; ".join(f"{n} (contrast {wrong.loc[n, 'contrast factor']:.2f} x the "
                                                            "stated host's)" for n in flagged) if flagged else "none of them"))
    text += (". **It misses** " + "; ".join(f"{n} ({wrong.loc[n, 'contrast factor']:.2f} x)" for n in missed)
             if missed else ". It misses none")
    text += (", and wrongly flags " + ", ".join(false) + "." if false else
             ", and flags none of the images stated rightly.")
    return text


def baseline_verdict(vote: pd.DataFrame, baseline: pd.DataFrame) -> str:
    """Markdown: per defect class, whether the classical intensity baseline or the models' vote scores the higher F1
    on the stand-ins, and whether their 95 % intervals overlap.

    Parameters
    ----------
    vote, baseline : pandas.DataFrame
        :func:`ctxlib.micrographs.validation.defect_f1_intervals` of the vote and of the baseline.
    """
    parts = []
    for name in vote.index:
        v, b = vote.loc[name], baseline.loc[name]
        apart = b["95 % low"] > v["95 % high"] or v["95 % low"] > b["95 % high"]
        better = "the baseline" if b["F1"] > v["F1"] else "the models" if v["F1"] > b["F1"] else "neither"
        parts.append(f"{name}: models {v['F1']:.3f}, baseline {b['F1']:.3f} ({better} ahead"
                     + ("" if better == "neither" else ", intervals apart" if apart else ", intervals overlapping") + ")")
    return ("**The classical intensity baseline against the five models on the stand-ins**: " + "; ".join(parts)
            + ". Column intensity alone, fitted per image, is a strong classifier of vacancies and heavy dopants "
            "where the stated context is right; the models add the column's shape, and the baseline cannot tell "
            "apart classes of equal intensity.")
