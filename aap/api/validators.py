"""Marshmallow validators of the API schemas."""

from __future__ import annotations

from marshmallow import ValidationError

from aap.services import emails


def email_address(value: str | None) -> None:
    """An e-mail address, by the rule of the web forms and the services (blank is left to
    the service: ``required`` or optional)."""
    if value is not None and value.strip() and not emails.is_valid(value):
        raise ValidationError(emails.INVALID)
