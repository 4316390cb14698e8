"""Jinja filters and globals shared by every template."""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlencode

from flask import Flask, request, url_for
from flask_babel import format_date, format_datetime, format_decimal, get_locale, gettext
from flask_babel import lazy_gettext as _l

from aap.models.accounts import Role
from aap.money import format_eur
from aap.services.exports import attribuant
from aap.timeutil import to_paris
from aap.vocabulary import DOMAINS, GROUNDS, N_
from workflows import get_workflow

ROLE_HOMES = {
    Role.APPLICANT: ("applicant.home", _l("Espace porteur")),
    Role.INSTRUCTOR: ("instructor.home", _l("Instruction")),
    Role.JUROR: ("jury.home", _l("Jury")),
    Role.FINANCE: ("finance.home", _l("Finances")),
    Role.MANAGER: ("manager.home", _l("Équipe")),
    Role.ADMIN: ("admin.home", _l("Administration")),
}

ROLE_LABELS = {
    Role.APPLICANT: _l("Porteur de projet"),
    Role.INSTRUCTOR: _l("Instructeur"),
    Role.JUROR: _l("Juré"),
    Role.FINANCE: _l("Finances"),
    Role.MANAGER: _l("Gestionnaire de collectivité"),
    Role.ADMIN: _l("Administrateur"),
}

# Audited actions that are not state changes (see ``aap.services.audit.record_action``).
ACTION_LABELS = {
    "create": _l("Dossier créé"),
    "edit": _l("Dossier modifié"),
    "upload": _l("Pièce jointe ajoutée"),
    "payment": _l("Versement enregistré"),
    "review_submitted": _l("Évaluation transmise"),
    "conflict_declared": _l("Conflit d'intérêts déclaré"),
    "conflict_recorded": _l("Conflit d'intérêts enregistré par l'instruction"),
    "jury_assigned": _l("Jurés désignés"),
    "remove_attachment": _l("Pièce jointe retirée"),
    "report_reminder": _l("Rappel du compte rendu envoyé"),
    "repayment_claimed": _l("Titre de reversement émis"),
    "repayment_received": _l("Reversement encaissé"),
}

# Messages of the services that reach the error pages, listed for the extractor.
SERVICE_MESSAGES = (
    N_("Dossier introuvable."), N_("Vous n'êtes pas membre de cette organisation."),
    N_("Seuls les membres de l'organisation modifient le dossier."),
    N_("Vous n'êtes pas juré de ce dossier."), N_("Seuls les jurés évaluent les dossiers."),
    N_("Les évaluations sont réservées au jury et à l'instruction."),
    N_("Le dossier n'est plus modifiable dans son état actuel."),
    N_("Le service est momentanément occupé : réessayez dans un instant."),
)

MONEY_LOCALES = {"fr": "fr_FR", "en": "en_GB"}


def state_label(state: str) -> str:
    return gettext(get_workflow().label(state))


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def budget_line(label: str) -> str:
    return gettext(label)


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


def eur(cents: int | None) -> str:
    locale = get_locale()
    return format_eur(cents, MONEY_LOCALES.get(locale.language if locale else "fr", "fr_FR"))


def score(value) -> str:
    """A score or a total: at most two decimals, in the notation of the language."""
    return "—" if value is None else format_decimal(value, format="#,##0.##")


def paris(moment: datetime | None, fmt: str = "dd/MM/yyyy HH:mm") -> str:
    return format_datetime(to_paris(moment), fmt) if moment else "—"


def day(value: date | None) -> str:
    return format_date(value, "dd/MM/yyyy") if value else "—"


def page_url(page: int, param: str = "page") -> str:
    """This page's URL with ``param`` (a page number) set; the other arguments kept."""
    args = dict(request.args)
    args[param] = page
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def here_without_lang() -> str:
    """The current path and query, without ``lang`` (the target of the language switch:
    a ``lang`` left in the query would switch the language back)."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    return request.path + ("?" + urlencode(args) if args else "")


def put_errors(form, fields: dict[str, list[str]] | None,
               mapping: dict[str, str] | None = None) -> list[str]:
    """A service's problems (French msgids by field) under the form's fields, translated;
    returns those of no field of the form (the general messages above the form).
    ``mapping`` renames a service's key to the form's field."""
    general: list[str] = []
    for key, messages in (fields or {}).items():
        name = (mapping or {}).get(key, key)
        if name in form._fields and name != "csrf_token":
            form[name].errors = [*form[name].errors, *(gettext(m) for m in messages)]
        else:
            general.extend(gettext(m) for m in messages)
    return general


def register_helpers(app: Flask) -> None:
    app.jinja_env.filters.update(eur=eur, paris=paris, day=day, score=score,
                                 state_label=state_label, action_label=action_label,
                                 role_label=role_label, budget_line=budget_line)
    app.jinja_env.globals.update(ROLE_HOMES=ROLE_HOMES, DOMAINS=DOMAINS, GROUNDS=GROUNDS,
                                 page_url=page_url, here_without_lang=here_without_lang,
                                 get_locale=get_locale, attribuant=attribuant.of_fund)
