"""The public open data: the funded projects that anyone may read, without logging in,
and their SCDL subventions CSV (SPEC 6; loi 2000-321 art. 10, décret 2017-779).

**What is published.** A grant is published once its decision is out: the application is
in the workflow's ``funded`` phase (granted, and every later state, cancelled grants
included since the deliberation granted them) and its deliberation is dated today or
earlier (Paris time). A call is listed as soon as one of its deliberations is out: calls
decide in sessions (the demo's Bureau decides twice while the call stays open), and each
deliberation is a public act from its date. Drafts, applications under instruction, on the
waitlist, proposed, refused or withdrawn are never published, nor a deliberation dated in
the future.

**What is shown.** Only what the SCDL file publishes or what describes the project: the
organisation's name, the project's title, its territories, the amount granted, the
decision date, the call and who granted it (the *attribuant*: the authority that runs the
call's fund, else the fund's owner). Never a person's name, an address, an e-mail, a phone number,
an IBAN, a score or a review. The rows are read as columns (not as ORM objects), so no
other field of the organisation reaches the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from aap.extensions import db
from aap.models import Application, Authority, Call, Decision, Fund, Organisation
from aap.services.exports import attribuant, scdl
from aap.timeutil import now, to_paris

PER_PAGE = 25


@dataclass(frozen=True)
class FundedProject:
    organisation: str
    title: str
    territories: list[str]
    amount_cents: int
    decided_on: date
    call_title: str
    fiscal_year: int
    attribuant: str = ""


@dataclass(frozen=True)
class Summary:
    projects: int
    amount_cents: int
    calls: int


def today() -> date:
    """The publication day: today in Paris."""
    return to_paris(now()).date()


def _published(on: date) -> list:
    return [Application.state.in_(scdl.GRANTED_PHASE), Decision.decided_on <= on]


def summary(on: date | None = None) -> Summary:
    """How many projects are published, for how much, over how many calls (one query)."""
    on = on or today()
    row = db.session.execute(
        select(func.count(Application.id), func.coalesce(func.sum(Decision.amount_cents), 0),
               func.count(func.distinct(Application.call_id)))
        .select_from(Application).join(Decision, Decision.application_id == Application.id)
        .where(*_published(on))).one()
    return Summary(int(row[0]), int(row[1]), int(row[2]))


def funded_projects(page: int = 1, per_page: int = PER_PAGE, on: date | None = None
                    ) -> list[FundedProject]:
    """One page of the published grants, the latest decisions first (one query)."""
    on = on or today()
    rows = db.session.execute(
        select(Organisation.name, Application.title, Application.territories,
               Decision.amount_cents, Decision.decided_on, Call.title, Call.fiscal_year,
               attribuant.name_column())
        .select_from(Application)
        .join(Decision, Decision.application_id == Application.id)
        .join(Organisation, Organisation.id == Application.organisation_id)
        .join(Call, Call.id == Application.call_id)
        .join(Fund, Fund.id == Call.fund_id)
        .outerjoin(Authority, Authority.id == Fund.authority_id)
        .where(*_published(on))
        .order_by(Decision.decided_on.desc(), Organisation.name, Application.id)
        .limit(per_page).offset((max(page, 1) - 1) * per_page))
    return [FundedProject(name, title, list(territories or []), amount, decided_on,
                          call_title, year, owner)
            for name, title, territories, amount, decided_on, call_title, year, owner in rows]


def published_calls(on: date | None = None) -> list[int]:
    """The ids of the calls with at least one published grant."""
    on = on or today()
    return list(db.session.scalars(
        select(Application.call_id).join(Decision, Decision.application_id == Application.id)
        .where(*_published(on)).distinct().order_by(Application.call_id)))


def build_public_scdl(on: date | None = None) -> bytes:
    """The SCDL CSV of the published grants: the same rows as the page."""
    on = on or today()
    return scdl.build_scdl(published_calls(on), decided_by=on)


def with_attribuant():
    """The loader option that reads each call's fund and its authority with the calls
    (a list of calls that names their attribuant costs no query per call)."""
    return joinedload(Call.fund).joinedload(Fund.authority)


def pages(total: int, per_page: int = PER_PAGE) -> int:
    return max(1, -(-total // per_page))

