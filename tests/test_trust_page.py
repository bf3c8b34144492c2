"""The real-micrograph page's result box and cases."""

import numpy as np
import pandas as pd

from ctxlib.book.trust import result_text, uncertainty_cases
from ctxlib.micrographs.examples import EXAMPLES
from ctxlib.micrographs.reading import Micrograph
from ctxlib.simulation.standins import load_test_micrograph


def test_the_result_box_puts_each_number_beside_its_aim():
    earlier = {"3bda882": pd.DataFrame({"all five agree": [0.011, 0.62], "uncertain": [0.57, 0.33]}, index=["none", "Re"]),
               "5a0430c": pd.DataFrame({"all five agree": [0.83, 0.77], "uncertain": [0.40, 0.32]}, index=["none", "Re"])}
    now = pd.DataFrame({"dopant": ["none", "Re"], "all five agree": [0.88, 0.84]})
    f1 = pd.DataFrame({"F1": [0.984, 1.0, 1.0], "95 % low": [0.957, 1.0, 1.0], "95 % high": [1.0, 1.0, 1.0]},
                      index=["single vacancy", "double vacancy", "dopant"])
    curve = pd.DataFrame({"accuracy": [0.98, 0.99]})
    text = result_text(now, earlier, {"columns": 4365, "uncertain share": 0.11, "outlier share": 0.02}, f1,
                       (curve, (0.18, 0.997)), (pd.DataFrame({"accuracy": [0.49]}), (0.17, 0.42)))
    assert text.startswith('<div class="admonition important"><p class="admonition-title">Result</p>')
    assert text.endswith("</p></div>") and "**" not in text and "<code>ctxlib classify</code>" in text
    for piece in ("<strong>88 %</strong>", "4,365 columns", "(earlier: 1 % with the weights of 3bda882; 83 % with the "
                  "weights of 5a0430c)", "stated as MoS2 + Re, on 84 %", "<strong>not reached",
                  "<strong>11 %</strong>", "(earlier: 57 % with the weights of 3bda882; 40 % with", "2 % as unlike",
                  "0.984 [0.957, 1.000]", "from 98.0 % to 99.70 %", "(49 % accuracy, 42 % on the columns kept)"):
        assert piece in text, piece
    now.loc[0, "all five agree"] = 0.975
    assert "<strong>reached</strong>" in result_text(now, earlier, {"columns": 4365, "uncertain share": 0.11,
                                                                    "outlier share": 0.02}, f1,
                                                     (curve, (0.18, 0.997)), (pd.DataFrame({"accuracy": [0.49]}),
                                                                              (0.17, 0.42)))
    assert "could not be fetched" in result_text(None, earlier, None, f1, (curve, (0.18, 0.997)),
                                                 (pd.DataFrame({"accuracy": [0.49]}), (0.17, 0.42)))


def test_the_cases_state_the_stand_in_rightly_then_wrongly_and_add_the_real_image():
    standin = load_test_micrograph("Ti")
    example = EXAMPLES["temul-mos2-se"]
    cases = uncertainty_cases(standin, Micrograph(np.ones((8, 8)), 0.127, "x.dm3"), example)
    assert [c["context"].detector for c in cases.values()] == ["HAADF", "MAADF", "MAADF", "HAADF", "HAADF"]
    assert [c["context"].host for c in cases.values()] == ["WSe2", "WSe2", "WSe2", "MoSe2", "MoS2"]
    assert [c["context"].dopant for c in cases.values()] == ["Ti"] * 4 + [None]
    assert np.array_equal(cases["the same HAADF image stated as MAADF"]["image"], standin.image("HAADF"))
    assert len(uncertainty_cases(standin, None, example)) == 4
    sulfide = load_test_micrograph("Ti", "WS2")
    wrong = uncertainty_cases(standin, None, example, sulfide=sulfide)["WS2 + Ti stand-in, HAADF, stated as WSe2"]
    assert wrong["context"].host == "WSe2" and np.array_equal(wrong["image"], sulfide.image("HAADF"))


def test_the_context_verdict_names_what_the_contrast_check_flagged_and_missed():
    from ctxlib.book.trust import context_verdict

    shares = pd.DataFrame({"columns": [336, 336, 336, 0], "contrast factor": [1.05, 0.94, 4.36, np.nan],
                           "context warning": [False, False, True, False]},
                          index=["stand-in (as stated)", "the same stated as MAADF", "WS2 stated as WSe2",
                                 "refused, stated as X"])
    text = context_verdict(shares)
    assert "flags** WS2 stated as WSe2 (contrast 4.36 x" in text and "misses** the same stated as MAADF (0.94 x)" in text
    assert "refused" not in text and text.endswith("flags none of the images stated rightly.")


def test_the_effect_verdict_names_the_effects_outside_the_interval():
    from ctxlib.book.trust import effect_verdict

    scores = pd.DataFrame({"dopant F1": [1.0, 0.997, 0.90], "dopant 95 % low": [1.0, 0.99, 0.85],
                           "dopant 95 % high": [1.0, 1.0, 0.95]}, index=["none", "coma", "finer pixels"])
    assert "finer pixels (dopant: F1 1.000 -> 0.900)" in effect_verdict(scores)
    assert "coma" not in effect_verdict(scores)  # one column's error: its interval still reaches the other's
    assert effect_verdict(scores.iloc[:2]).startswith("**No effect lowers")


def test_the_baseline_verdict_says_who_is_ahead_and_whether_the_intervals_part():
    from ctxlib.book.trust import baseline_verdict

    index = ["single vacancy", "dopant"]
    vote = pd.DataFrame({"F1": [0.945, 1.0], "95 % low": [0.92, 1.0], "95 % high": [0.97, 1.0]}, index=index)
    base = pd.DataFrame({"F1": [0.978, 1.0], "95 % low": [0.96, 1.0], "95 % high": [0.99, 1.0]}, index=index)
    text = baseline_verdict(vote, base)
    assert "single vacancy: models 0.945, baseline 0.978 (the baseline ahead, intervals overlapping)" in text
    assert "dopant: models 1.000, baseline 1.000 (neither ahead)" in text
