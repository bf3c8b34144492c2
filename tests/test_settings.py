"""The settings tables pages show (ctxlib.base.settings.rows)."""

from ctxlib.base.settings import rows
from ctxlib.ptycho.icgd import ICGDSettings


def test_settings_rows_show_an_unset_option_in_words():
    values = {row["setting"]: row["value"] for row in rows(ICGDSettings(), "Part II")}
    assert values["ICGDSettings.scale_pin"] == "not set" and "None" not in values.values()
