import pytest
from mendeleev import element

from ctxlib.materials.elements import (
    CHALCOGENS,
    CONFIGURATIONS,
    SHELLS,
    TRANSITION_METALS,
    atomic_number,
    period,
    shell_populations,
)


@pytest.mark.parametrize("symbol", sorted(CONFIGURATIONS))
def test_shells_match_mendeleev(symbol):
    reference = element(symbol)
    expected = tuple(reference.ec.electrons_per_shell().get(shell, 0) for shell in SHELLS)
    assert shell_populations(symbol) == expected
    assert atomic_number(symbol) == reference.atomic_number
    assert period(symbol) == reference.period


def test_tungsten_is_not_the_papers_example():
    assert shell_populations("W") == (2, 8, 18, 32, 12, 2)
    assert sum(shell_populations("W")) == 74


def test_element_groups_are_disjoint_and_complete():
    assert set(CHALCOGENS) | set(TRANSITION_METALS) == set(CONFIGURATIONS)
    assert len(TRANSITION_METALS) == 29  # Sc-Zn, Y-Cd, Hf-Hg


def test_unknown_element_is_named():
    with pytest.raises(ValueError, match="'Xx'.*allowed: .*W"):
        shell_populations("Xx")
