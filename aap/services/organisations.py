"""Organisations (*porteurs*) and their members."""

from __future__ import annotations

from collections.abc import Callable

from aap.errors import ValidationFailed
from aap.extensions import db
from aap.models import Membership, Organisation, User
from aap.services import identifiers

TEXT_FIELDS = {
    "name": ("La raison sociale", 300, True),
    "address": ("L'adresse", 300, True),
    "postcode": ("Le code postal", 10, True),
    "city": ("La commune", 120, True),
    "legal_representative": ("Le représentant légal", 200, True),
    "email": ("Le courriel", 254, False),
    "phone": ("Le téléphone", 30, False),
}
IDENTIFIERS: dict[str, Callable[[str], str | None]] = {
    "siret": identifiers.clean_siret,
    "rna": identifiers.clean_rna,
    "iban": identifiers.clean_iban,
    "bic": identifiers.clean_bic,
}


def clean(data: dict, *, partial: bool = False) -> dict:
    """Validated organisation fields, or ValidationFailed with every problem."""
    out: dict = {}
    fields: dict[str, list[str]] = {}
    for name, (label, size, required) in TEXT_FIELDS.items():
        if name not in data and partial:
            continue
        value = str(data.get(name) or "").strip()
        if required and not value:
            fields[name] = [f"{label} est obligatoire."]
        elif len(value) > size:
            fields[name] = [f"{label} dépasse {size} caractères."]
        else:
            out[name] = value or (None if not required else value)
    if "postcode" in out and out["postcode"] and not (
        out["postcode"].isdigit() and len(out["postcode"]) == 5
    ):
        fields["postcode"] = ["Le code postal compte 5 chiffres."]
    for name, cleaner in IDENTIFIERS.items():
        if name not in data and partial:
            continue
        try:
            out[name] = cleaner(str(data.get(name) or ""))
        except ValueError as exc:
            fields[name] = [str(exc)]
    if fields:
        raise ValidationFailed("L'organisation comporte des erreurs.", fields=fields)
    return out


def create_organisation(actor: User, data: dict) -> Organisation:
    organisation = Organisation(**clean(data))
    db.session.add(organisation)
    db.session.flush()
    db.session.add(Membership(user_id=actor.id, organisation_id=organisation.id))
    db.session.commit()
    return organisation
