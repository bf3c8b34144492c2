import pytest

from ctxlib.materials.catalog import DOPANTS, HOSTS, check_detector, check_energy, doped_hosts, parse_formula
from ctxlib.materials.elements import period


def test_96_doped_hosts_from_the_period_rule():
    pairs = doped_hosts()
    assert len(HOSTS) == 13 and len(DOPANTS) == 10
    assert len(pairs) == 96
    assert len(set(pairs)) == 96
    for formula, dopant in pairs:
        assert period(dopant) != period(HOSTS[formula].metal)
    dropped = [(h, d) for h in HOSTS for d in DOPANTS if (h, d) not in pairs]
    assert all(period(d) == period(HOSTS[h].metal) for h, d in dropped)


def test_hosts_named_in_the_paper_are_present():
    assert {"WSe2", "MoSe2", "WTe2", "NbSe2", "TaSe2"} <= set(HOSTS)
    assert {h.metal for h in HOSTS.values()} == {"Ti", "V", "Cr", "Nb", "Mo", "Ta", "W"}
    assert {"Ti", "V", "Mn", "Co"} <= set(DOPANTS)


@pytest.mark.parametrize(
    "formula, message",
    [("WSe3", "not of the form MX2"), ("W2Se", "not of the form MX2"), ("XxSe2", "unknown host metal 'Xx'"),
     ("WO2", "unknown chalcogen 'O'.*S, Se, Te"), ("SeW2", "unknown host metal 'Se'"), (42, "not of the form MX2")],
)
def test_bad_formula(formula, message):
    with pytest.raises(ValueError, match=message):
        parse_formula(formula)


def test_parse_formula():
    assert parse_formula("WSe2") == ("W", "Se")
    assert parse_formula("TiS2") == ("Ti", "S")


def test_energy_and_detector_validation():
    assert check_energy(80) == 80
    assert check_detector("MAADF") == "MAADF"
    with pytest.raises(ValueError, match="200.*allowed: 60, 80, 100"):
        check_energy(200)
    with pytest.raises(ValueError, match="'ABF'.*allowed: HAADF, MAADF"):
        check_detector("ABF")


def test_host_table_has_a_height_and_a_documented_source_for_every_host():
    from ctxlib.materials.catalog import host_table, pairing_table
    from ctxlib.materials.imaging import imaging_contexts

    table = host_table()
    assert len(table) == 13 and table.notna().all().all()
    assert table.loc["WSe2", "X-X height (A)"] == 3.34 and "Schutte" in table.loc["WSe2", "height source"]
    ideal = table["height source"].str.startswith("No documented monolayer value")
    assert (table.loc[ideal, "X-X height (A)"] == table.loc[ideal, "a (A)"]).all()
    assert pairing_table().to_numpy().sum() == 96
    contexts = imaging_contexts()
    assert len(contexts) == 576 == len(set(contexts))


def test_dopant_validation_names_the_allowed_dopants():
    from ctxlib.materials.catalog import check_dopant

    assert check_dopant("WSe2", "Ti") == "Ti"
    with pytest.raises(ValueError, match="dopant 'Nb' shares the period of MoS2's metal.*allowed for MoS2: Ti, V"):
        check_dopant("MoS2", "Nb")
    with pytest.raises(ValueError, match="dopant 'Xx' is not in the catalog; allowed: Ti, V, Cr"):
        check_dopant("MoS2", "Xx")
