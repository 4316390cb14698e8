"""Money is integer cents. These helpers parse and format it without floats."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency

MAX_CENTS = 10**13  # 100 billion euros: anything above is a typing error


def format_eur(cents: int | None, locale: str = "fr_FR") -> str:
    if cents is None:
        return "—"
    return format_currency(Decimal(cents) / 100, "EUR", locale=locale)


def euros_to_cents(text: str | int | Decimal) -> int:
    """Parse "5 000,50", "5000.5" or 5000 (euros) into cents; raise ValueError if unsure."""
    if isinstance(text, int):
        return text * 100
    cleaned = str(text).strip().replace("\u202f", "").replace("\xa0", "").replace(" ", "")
    cleaned = cleaned.replace("€", "").replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {text!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not an amount: {text!r}")
    cents = value * 100
    if cents != cents.to_integral_value():
        raise ValueError("more than two decimals")
    return int(cents)


def parse_cents(value: object) -> int:
    """An API amount: a non-negative integer number of cents (bools and floats refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("un montant en centimes (nombre entier) est attendu")
    if value < 0:
        raise ValueError("le montant ne peut pas être négatif")
    if value > MAX_CENTS:
        raise ValueError("montant invraisemblable")
    return value
