"""Small text rules shared by the mail and the exports."""

from __future__ import annotations


def one_line(text: str | None) -> str:
    """The text on one line: every run of whitespace, line breaks included (CR, tab,
    U+0085, U+2028 typed in an organisation's name), becomes one space; ends trimmed. For
    mail headers (no header injection) and the SCDL's one-line fields."""
    return " ".join((text or "").split())
