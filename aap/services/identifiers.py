"""French identifiers (SIRET, RNA, IBAN, BIC), checked with python-stdnum."""

from __future__ import annotations

import re

from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.fr import siret as stdnum_siret

RNA_PATTERN = re.compile(r"^W\d{9}$")


def clean_siret(value: str) -> str:
    """The 14-digit SIRET, or ValueError with a French message."""
    compact = stdnum_siret.compact(value or "")
    if not compact.isdigit() or len(compact) != 14:
        raise ValueError("Le SIRET compte 14 chiffres.")
    if not stdnum_siret.is_valid(compact):
        raise ValueError("Ce SIRET n'est pas valide (clé de contrôle incorrecte).")
    return compact


def clean_rna(value: str | None) -> str | None:
    """``W`` + 9 digits; empty is allowed (Alsace-Moselle associations have none)."""
    compact = (value or "").strip().upper().replace(" ", "")
    if not compact:
        return None
    if not RNA_PATTERN.match(compact):
        raise ValueError("Le numéro RNA s'écrit W suivi de 9 chiffres (ex. W133012345).")
    return compact


def clean_iban(value: str | None) -> str | None:
    compact = stdnum_iban.compact(value or "")
    if not compact:
        return None
    if not stdnum_iban.is_valid(compact):
        raise ValueError("Cet IBAN n'est pas valide (clé de contrôle incorrecte).")
    return compact


def clean_bic(value: str | None) -> str | None:
    compact = stdnum_bic.compact(value or "")
    if not compact:
        return None
    if not stdnum_bic.is_valid(compact):
        raise ValueError("Ce BIC n'est pas valide (8 ou 11 caractères).")
    return compact


def format_iban(value: str | None) -> str:
    return stdnum_iban.format(value) if value else ""
