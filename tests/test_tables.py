"""The one table format of the book's pages."""

import numpy as np
import pandas as pd
import pytest

from ctxlib.book.tables import MISSING, format_cell, format_table


@pytest.mark.parametrize("value, kwargs, text", [
    (3, {}, "3"), (np.int64(1234567), {}, "1,234,567"), (2.0, {}, "2"), (0.5, {}, "0.5"), (0.98765, {}, "0.988"),
    (123.456, {}, "123"), (0.000012, {}, "1.20e-05"), (0.98765, {"percent": True}, "98.8 %"), (np.nan, {}, MISSING),
    (None, {}, MISSING), (True, {}, "yes"), ("MLP-Simple", {}, "MLP-Simple"), (np.float32(0.25), {}, "0.25"),
])
def test_cells_get_sensible_digits_and_no_nan(value, kwargs, text):
    assert format_cell(value, **kwargs) == text


def test_tables_keep_their_shape_and_name_a_bad_percent_column():
    table = pd.DataFrame({"share": [0.5, np.nan], "count": [3, 4]}, index=["a", "b"])
    html = format_table(table, percent=["share"]).to_html()
    assert "50.0 %" in html and MISSING in html and "nan" not in html.lower().replace("nanosecond", "")
    with pytest.raises(ValueError, match="percent names columns the table does not have: \\['shares'\\]"):
        format_table(table, percent=["shares"])
