"""``aap.money`` to the letter: amounts typed the French way (narrow and ordinary
no-break spaces as thousands separators), the messages of each refusal, the formatting
in French and in English, and the bounds of an API amount."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aap.money import MAX_CENTS, euros_to_cents, format_eur, parse_cents


@pytest.mark.parametrize(("typed", "cents"), [
    ("12\xa0500", 1_250_000),          # no-break space, as a spreadsheet copies it
    ("1\u202f234,56\xa0€", 123_456),   # what format_eur writes
    ("  8 000,5 ", 800_050),
    (Decimal("12.34"), 1_234),
    (0, 0),
])
def test_typed_amounts(typed, cents):
    assert euros_to_cents(typed) == cents


def test_the_refusals_say_why():
    with pytest.raises(ValueError) as bad:
        euros_to_cents("douze")
    assert str(bad.value) == "not an amount: 'douze'"
    with pytest.raises(ValueError) as infinite:
        euros_to_cents("Infinity")
    assert str(infinite.value) == "not an amount: 'Infinity'"
    with pytest.raises(ValueError) as precise:
        euros_to_cents("1,005")
    assert str(precise.value) == "more than two decimals"


def test_formatting():
    assert format_eur(None) == "—"
    assert format_eur(123_456) == "1\u202f234,56\xa0€"
    assert format_eur(0) == "0,00\xa0€"
    assert format_eur(5, locale="en_GB") == "€0.05"


@pytest.mark.parametrize("value", [0, 1, MAX_CENTS])
def test_api_amounts_at_the_bounds(value):
    assert parse_cents(value) == value


@pytest.mark.parametrize(("value", "message"), [
    (False, "un montant en centimes (nombre entier) est attendu"),
    (-1, "le montant ne peut pas être négatif"),
    (MAX_CENTS + 1, "montant invraisemblable"),
])
def test_api_amount_refusals(value, message):
    with pytest.raises(ValueError) as refused:
        parse_cents(value)
    assert str(refused.value) == message
