"""Decisions for many at once (SPEC 3, 4): one deliberation (body, reference, date) grants
a selection of a call's proposed applications at their proposed amounts, and the money a
withdrawal or a cancellation frees proposes the first waitlisted application.

Each grant goes through the workflow engine on its own, with its atomic budget check
(``workflow.fire`` locks the call, then the application): one refusal, e.g. a budget
overrun, is reported with its code and reason, and the others go through.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import func, select

from aap.allocation import engine
from aap.database import write_transaction
from aap.errors import Forbidden, NotFound, ValidationFailed
from aap.extensions import db
from aap.models import Application, Call, Decision, Organisation, User
from aap.models.accounts import Role
from aap.services import allocation, audit, budget, policies, scoring, workflow
from aap.timeutil import parse_date
from workflows.engine import WorkflowError

#: What a deliberation grants: applications proposed for funding.
PROPOSED = "proposed"
WAITLISTED = "waitlisted"
BODY_MAX, REFERENCE_MAX = 200, 100
#: A deliberation grants at most this many applications at once (a call's whole list).
MAX_APPLICATIONS = 1000


# -- the deliberation ------------------------------------------------------------------

@dataclass(frozen=True)
class Deliberation:
    body: str
    reference: str
    decided_on: date

    def as_decision(self) -> dict:
        """The ``decision`` of the ``grant`` trigger's data."""
        return {"body": self.body, "reference": self.reference,
                "date": self.decided_on.isoformat()}


def clean(data: dict) -> Deliberation:
    """The deliberation's body, reference and date, every problem reported at once
    (422 ``invalid_data`` with a French message per field)."""
    problems: dict[str, list[str]] = {}
    texts = {}
    for name, label, limit in (("body", "L'instance de décision", BODY_MAX),
                               ("reference", "La référence de la délibération",
                                REFERENCE_MAX)):
        value = data.get(name)
        text = value.strip() if isinstance(value, str) else ""
        if not text:
            problems[name] = [f"{label} est obligatoire."]
        elif len(text) > limit:
            problems[name] = [f"{limit} caractères au maximum."]
        texts[name] = text
    decided_on = None
    if data.get("date") in (None, ""):
        problems["date"] = ["La date de la délibération est obligatoire."]
    else:
        try:
            decided_on = parse_date(data["date"])
        except ValueError:
            problems["date"] = ["Date attendue au format AAAA-MM-JJ."]
    if problems:
        raise ValidationFailed("La délibération est incomplète ou invalide.",
                               fields=problems)
    return Deliberation(texts["body"], texts["reference"], decided_on)


def _consistent(call: Call, deliberation: Deliberation) -> None:
    """A reference already used on the call names the same deliberation: same body, same
    date (else the annex of that deliberation would mix two decisions)."""
    known = db.session.execute(
        select(Decision.body, Decision.decided_on)
        .join(Application, Application.id == Decision.application_id)
        .where(Application.call_id == call.id, Decision.reference == deliberation.reference)
        .limit(1)).first()
    if known and (known.body != deliberation.body
                  or known.decided_on != deliberation.decided_on):
        message = (f"La délibération « {deliberation.reference} » est déjà enregistrée sur "
                   f"cet appel : {known.body}, le {known.decided_on:%d/%m/%Y}. Reprenez la "
                   "même instance et la même date, ou une autre référence.")
        raise ValidationFailed(message, fields={"reference": [message]})


# -- the proposed applications ------------------------------------------------------------

@dataclass(frozen=True)
class Proposal:
    """A proposed application as the deliberation page lists it."""

    application: Application
    rank: int | None
    score: Decimal | None

    @property
    def amount_cents(self) -> int:
        return self.application.proposed_cents


def proposals(call: Call) -> list[Proposal]:
    """The call's proposed applications, best rank first (the engine's one ranking), the
    unranked last by reference."""
    apps = list(db.session.scalars(
        select(Application).where(Application.call_id == call.id,
                                  Application.state == PROPOSED)
        .order_by(Application.id)).unique())
    if not apps:
        return []
    ids = [a.id for a in apps]
    ranks = allocation.ranking(call, ids)
    scores = scoring.call_aggregates(call, ids)
    rows = [Proposal(a, ranks.get(a.id), scores[a.id].score if a.id in scores else None)
            for a in apps]
    return sorted(rows, key=_rank_order)


def _rank_order(row: Proposal) -> tuple:
    return (row.rank is None, row.rank or 0, row.application.reference or "",
            row.application.id)


@dataclass(frozen=True)
class Room:
    """What the call (and each envelope) has left for new grants and proposals: its
    budget less what grants hold and what proposals are waiting to be granted."""

    call_cents: int
    envelopes: dict[int, int] = field(default_factory=dict)


def room(call: Call) -> Room:
    held, by_envelope = allocation.spoken_for(call)
    return Room(call.budget_cents - held,
                {e.id: e.budget_cents - by_envelope.get(e.id, 0) for e in call.envelopes})


def available_for_grants(call: Call) -> Room:
    """What grants may still commit: the budget less what is committed (SPEC 4), for the
    call and each envelope (the figures the ``grant`` guard checks)."""
    return Room(budget.available_cents(call),
                {e.id: budget.available_cents(call, e.id) for e in call.envelopes})


# -- granting -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Granted:
    application_id: int
    reference: str | None
    title: str
    organisation: str
    amount_cents: int


@dataclass(frozen=True)
class Refused:
    application_id: int
    reference: str | None
    title: str | None
    code: str
    message: str


@dataclass(frozen=True)
class Outcome:
    call_id: int
    deliberation: Deliberation
    granted: list[Granted]
    refused: list[Refused]

    @property
    def granted_cents(self) -> int:
        return sum(g.amount_cents for g in self.granted)


def clean_ids(raw: object) -> list[int]:
    """The selected application ids, in the order given, without repeats."""
    if not isinstance(raw, list | tuple) or not raw:
        raise ValidationFailed("Sélectionnez au moins un dossier.",
                               fields={"application_ids": ["Sélectionnez au moins un dossier."]})
    if any(isinstance(i, bool) or not isinstance(i, int) or i < 1 for i in raw):
        raise ValidationFailed("Identifiants de dossiers invalides.",
                               fields={"application_ids": ["Identifiants entiers attendus."]})
    ids = list(dict.fromkeys(raw))
    if len(ids) > MAX_APPLICATIONS:
        message = f"{MAX_APPLICATIONS} dossiers au plus par délibération."
        raise ValidationFailed(message, fields={"application_ids": [message]})
    return ids


def grant(call: Call, actor: User, data: dict, application_ids: Iterable[int]) -> Outcome:
    """Grant each selected application of ``call`` at its proposed amount under the
    deliberation ``data`` (``{body, reference, date}``).

    The deliberation is checked first (nothing is granted if it is invalid). Then the
    applications are granted one by one through the engine, best rank first, so that
    when the budget runs short the best ranked are granted: each refusal (not in the
    call, not proposed, budget or envelope exceeded...) is reported with its code and
    French message, and does not stop the others."""
    if not actor.has_role(Role.INSTRUCTOR):
        raise Forbidden("Seule l'instruction enregistre une délibération.")
    policies.require_acting_on_call(actor, call, Role.INSTRUCTOR)
    deliberation = clean(data)
    ids = clean_ids(list(application_ids))
    _consistent(call, deliberation)
    found = {a.id: a for a in db.session.scalars(
        select(Application).where(Application.id.in_(ids))).unique()}
    ours = [i for i in ids if i in found and found[i].call_id == call.id
            and policies.can_see_application(actor, found[i])]
    ranks = allocation.ranking(call, ours) if ours else {}
    order = sorted(ours, key=lambda i: (ranks.get(i) is None, ranks.get(i) or 0, i))
    refused = [Refused(i, None, None, "not_found", "Dossier introuvable dans cet appel.")
               for i in ids if i not in ours]
    granted: list[Granted] = []
    for application_id in order:
        app = found[application_id]
        reference, title, organisation = app.reference, app.title, app.organisation.name
        data = {"amount_cents": app.proposed_cents, "decision": deliberation.as_decision()}
        try:
            app = workflow.fire(app, "grant", actor, data)
        except WorkflowError as exc:
            db.session.rollback()
            refused.append(Refused(application_id, reference, title, exc.code, exc.message))
            continue
        granted.append(Granted(application_id, reference, title, organisation,
                               app.granted_cents))
    with write_transaction():
        audit.record_call_action(call, actor, "deliberation", data={
            "body": deliberation.body, "reference": deliberation.reference,
            "date": deliberation.decided_on.isoformat(),
            "granted": [{"application_id": g.application_id, "amount_cents": g.amount_cents}
                        for g in granted],
            "refused": [{"application_id": r.application_id, "code": r.code}
                        for r in refused]})
    position = {i: n for n, i in enumerate(ids)}
    return Outcome(call.id, deliberation,
                   sorted(granted, key=lambda g: position[g.application_id]),
                   sorted(refused, key=lambda r: position[r.application_id]))


# -- deliberations recorded -----------------------------------------------------------------

@dataclass(frozen=True)
class Recorded:
    """A deliberation of a call, as its decisions record it."""

    reference: str
    body: str
    decided_on: date
    count: int
    amount_cents: int


def recorded(call: Call) -> list[Recorded]:
    """The deliberations that granted applications of the call, latest first."""
    rows = db.session.execute(
        select(Decision.reference, Decision.body, Decision.decided_on,
               func.count(Decision.id), func.coalesce(func.sum(Decision.amount_cents), 0))
        .join(Application, Application.id == Decision.application_id)
        .where(Application.call_id == call.id)
        .group_by(Decision.reference, Decision.body, Decision.decided_on)
        .order_by(Decision.decided_on.desc(), Decision.reference)).all()
    return [Recorded(r[0], r[1], r[2], int(r[3]), int(r[4])) for r in rows]


def beneficiaries(call: Call, reference: str) -> list[tuple[Application, Decision]]:
    """The applications of ``call`` granted by the deliberation ``reference``, by
    beneficiary name then reference; NotFound when it granted none of them."""
    rows = db.session.execute(
        select(Application, Decision)
        .join(Decision, Decision.application_id == Application.id)
        .join(Organisation, Organisation.id == Application.organisation_id)
        .where(Application.call_id == call.id, Decision.reference == reference)
        .order_by(Organisation.name, Application.reference, Application.id)).unique().all()
    if not rows:
        raise NotFound("Aucune délibération de cette référence n'a accordé de subvention "
                       "sur cet appel.")
    return [(app, decision) for app, decision in rows]


# -- freed money proposes the waitlist ----------------------------------------------------

class Promotion(NamedTuple):
    """The waitlisted application to propose for funding, and the amount that fits."""

    application: Application
    amount_cents: int


def promotion_candidate(call: Call) -> Promotion | None:
    """The first waitlisted application, in the ranking's order, that what is left of
    the call and of its envelope can fund now: its request (within the call's caps), or
    under the ``partial`` rule at least ``partial_min_share`` of it; under ``skip`` the
    first that fits; under ``stop`` only the first of the list. What is left is the
    budget less the grants and the proposals not granted yet, so money becomes free when
    a proposed application is withdrawn or a grant is cancelled.

    The amount is what a run of the call's own rules over the waitlist would propose
    (same engine, same seed and aggregation as the ranking); ``None`` when nothing fits.
    """
    ids = list(db.session.scalars(select(Application.id).where(
        Application.call_id == call.id, Application.state == WAITLISTED)))
    if not ids:
        return None
    in_force = allocation.run_in_force(call)
    seed = allocation.ranking_seed(call, in_force)
    method = in_force.aggregation if in_force else "mean"
    params = allocation.parameters_for(call, {"aggregation": method}, seed=seed)
    if params.budget_cents <= 0:
        return None
    result = engine.allocate(allocation.candidates(call, method, application_ids=ids), params)
    funded = sorted((r for r in result.rows if r.proposed_cents > 0 and r.rank is not None),
                    key=lambda r: r.rank)
    if not funded:
        return None
    first = funded[0]
    return Promotion(db.session.get(Application, first.application_id), first.proposed_cents)
