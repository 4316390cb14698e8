"""E-mail addresses typed by people, checked with email-validator (the syntax and the
domain's form, without a DNS lookup): one rule for the web forms, the API and the services."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

INVALID = "Adresse électronique invalide."


def normalise(value: str | None) -> str:
    """The address in its normal form, or ValueError with a French message."""
    try:
        return validate_email(str(value or "").strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(INVALID) from exc


def is_valid(value: str | None) -> bool:
    try:
        normalise(value)
    except ValueError:
        return False
    return True
