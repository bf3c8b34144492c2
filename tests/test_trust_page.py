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
    for piece in ("<strong>88 %</strong>", "4,365 columns", "against 1 % before", "and 83 % when", "84 % (earlier: 62 %, 77 %)",
                  "<strong>not reached", "<strong>11 %</strong>", "(it marked 40 % before", "2 % as unlike",
                  "0.984 [0.957, 1.000]", "from 98.0 % to 99.70 %", "(49 % accuracy, 42 % on the columns kept)"):
        assert piece in text, piece
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
