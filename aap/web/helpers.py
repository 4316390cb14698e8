"""Jinja filters and globals shared by every template."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask, request, url_for
from flask_babel import format_date, format_datetime

from aap.models.accounts import Role
from aap.money import format_eur
from aap.timeutil import to_paris
from aap.vocabulary import DOMAINS, GROUNDS
from workflows import get_workflow

ROLE_HOMES = {
    Role.APPLICANT: ("applicant.home", "Espace porteur"),
    Role.INSTRUCTOR: ("instructor.home", "Instruction"),
    Role.JUROR: ("jury.home", "Jury"),
    Role.FINANCE: ("finance.home", "Finances"),
    Role.ADMIN: ("admin.home", "Administration"),
}


def state_label(state: str) -> str:
    return get_workflow().label(state)


def paris(moment: datetime | None, fmt: str = "dd/MM/yyyy HH:mm") -> str:
    return format_datetime(to_paris(moment), fmt) if moment else "—"


def day(value: date | None) -> str:
    return format_date(value, "dd/MM/yyyy") if value else "—"


def page_url(page: int) -> str:
    args = dict(request.args)
    args["page"] = page
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def register_helpers(app: Flask) -> None:
    app.jinja_env.filters.update(eur=format_eur, paris=paris, day=day,
                                 state_label=state_label)
    app.jinja_env.globals.update(ROLE_HOMES=ROLE_HOMES, DOMAINS=DOMAINS, GROUNDS=GROUNDS,
                                 page_url=page_url)
