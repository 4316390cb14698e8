from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aap.money import MAX_CENTS, euros_to_cents, format_eur, parse_cents


@pytest.mark.parametrize(("typed", "cents"), [
    ("12 500", 1_250_000), ("12 500,50", 1_250_050), ("12500.5", 1_250_050),
    ("12\u202f500,00 €", 1_250_000), ("0", 0), (7, 700), ("1e3", 100_000),
])
def test_euros_typed_the_french_way(typed, cents):
    assert euros_to_cents(typed) == cents


@pytest.mark.parametrize("typed", ["", "abc", "12,345", "1.2.3", "Infinity", "NaN", "--5"])
def test_what_is_not_an_amount(typed):
    with pytest.raises(ValueError):
        euros_to_cents(typed)


@pytest.mark.parametrize("value", [1.5, "100", True, -1, MAX_CENTS + 1, None])
def test_api_amounts_are_non_negative_integers(value):
    with pytest.raises(ValueError):
        parse_cents(value)


@given(st.integers(min_value=0, max_value=MAX_CENTS))
def test_formatting_then_parsing_gives_back_the_cents(cents):
    assert euros_to_cents(format_eur(cents)) == cents
    assert Decimal(cents) / 100 == Decimal(euros_to_cents(format_eur(cents))) / 100
