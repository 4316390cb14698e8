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


@pytest.mark.parametrize(("typed", "reason"), [
    ("", "not an amount"), ("abc", "not an amount"), ("1.2.3", "not an amount"),
    ("Infinity", "not an amount"), ("NaN", "not an amount"), ("--5", "not an amount"),
    ("12,345", "more than two decimals"),  # not read as 12 345 €, nor rounded
])
def test_what_is_not_an_amount(typed, reason):
    with pytest.raises(ValueError, match=reason):
        euros_to_cents(typed)


@pytest.mark.parametrize(("value", "reason"), [
    (1.5, "nombre entier"), ("100", "nombre entier"), (True, "nombre entier"),
    (None, "nombre entier"), (-1, "négatif"), (MAX_CENTS + 1, "invraisemblable"),
])
def test_api_amounts_are_non_negative_integers(value, reason):
    with pytest.raises(ValueError, match=reason):
        parse_cents(value)


@given(st.integers(min_value=0, max_value=MAX_CENTS))
def test_formatting_then_parsing_gives_back_the_cents(cents):
    assert euros_to_cents(format_eur(cents)) == cents
    assert Decimal(cents) / 100 == Decimal(euros_to_cents(format_eur(cents))) / 100
