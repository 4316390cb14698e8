"""The demo (``aap demo``) loads a coherent world, through the services and the engine.

Loading takes seconds, so it is loaded once for the module and the tests only read it
(each one queries afresh: the reload test replaces the rows with identical ones)."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from click import ClickException
from sqlalchemy import func, select
from stdnum import iban
from stdnum.fr import siret

from aap.demo import DEMO_PASSWORD, demo_call, load_demo
from aap.extensions import db as _db
from aap.models import Application, Call, Decision, Organisation, Review, User
from aap.models.accounts import ROLES
from aap.services import accounts, allocation, audit, budget, deliberations, scoring
from aap.services.validation import submission_problems
from aap.timeutil import now
from tests.conftest import _empty_tables
from workflows.application import PHASES, STATES

Logins = list[tuple[str, str, str]]


@pytest.fixture(scope="module")
def demo(app):
    """The demo, loaded once; the tables are emptied afterwards like the ``db`` fixture
    does, so the next tests start from an empty database."""
    with app.app_context():
        try:
            yield load_demo()
        finally:
            _db.session.rollback()
            _empty_tables()
            _db.session.remove()


@pytest.fixture
def db(demo):
    """This module's ``db`` is the loaded demo (the global one would empty it)."""
    return _db


def _applications(db) -> list[Application]:
    return list(db.session.scalars(select(Application).order_by(Application.id)))


def _granted_cents(db, call: Call, envelope_id: int | None = None) -> int:
    query = (select(func.coalesce(func.sum(Decision.amount_cents), 0))
             .join(Application, Decision.application_id == Application.id)
             .where(Application.call_id == call.id))
    if envelope_id is not None:
        query = query.where(Application.envelope_id == envelope_id)
    return int(db.session.scalar(query))


def _fingerprint(db) -> list[tuple]:
    return [
        (a.reference, a.state, a.title, a.requested_cents, a.granted_cents, a.paid_cents,
         a.organisation.siret, a.organisation.iban, a.budget(),
         sorted(str(r.total) for r in a.reviews))
        for a in _applications(db)
    ]


def test_demo_covers_the_workflow_within_the_budget(db):
    call = demo_call()
    apps = _applications(db)
    assert call is not None and call.is_open(now())
    assert len(apps) >= 40
    states = Counter(a.state for a in apps)
    assert set(states) == {s["name"] for s in STATES}, states

    assert call.budget_cents == 10_000_000
    assert sum(e.budget_cents for e in call.envelopes) <= call.budget_cents
    assert len(call.envelopes) == 6 and len(call.jury) == 5
    assert _granted_cents(db, call) <= call.budget_cents
    assert budget.available_cents(call) >= 0
    for envelope in call.envelopes:
        assert _granted_cents(db, call, envelope.id) <= envelope.budget_cents, envelope.key
        assert budget.available_cents(call, envelope.id) >= 0, envelope.key

    for app in apps:
        assert audit.replay(audit.trail(app.id)) == app.state, app.reference
        if app.state not in ("draft", "incomplete"):
            assert submission_problems(app) == {}, app.reference


def test_demo_identifiers_reviews_and_logins(db, demo: Logins):
    logins = demo
    organisations = list(db.session.scalars(select(Organisation)))
    assert len(organisations) >= 36
    assert all(siret.is_valid(o.siret) for o in organisations)
    assert all(iban.is_valid(o.iban) and o.iban.startswith("FR") for o in organisations)
    assert len({o.siret for o in organisations}) == len(organisations)

    reviews = list(db.session.scalars(select(Review)))
    assert any(r.conflict for r in reviews)
    assert any(r.submitted for r in reviews) and any(not r.submitted for r in reviews)
    rejected = [a for a in _applications(db) if a.state == "rejected"]
    assert rejected and all(scoring.aggregate(a) < demo_call().min_total for a in rejected)

    assert {role for role, _, _ in logins} == set(ROLES)
    for role in ROLES:
        email = next(e for r, e, _ in logins if r == role)
        user = accounts.authenticate(email, DEMO_PASSWORD)
        assert user is not None and user.has_role(role)
    applicant = accounts.find_by_email(next(e for r, e, _ in logins if r == "applicant"))
    organisation_id = applicant.memberships[0].organisation_id
    own = {a.state for a in _applications(db) if a.organisation_id == organisation_id}
    assert len(own) >= 3


def test_demo_reloads_identically_and_refuses_to_load_twice(db, is_postgres):
    if is_postgres:
        pytest.skip("the demo is SQLite's zero-configuration data; one reload check suffices")
    first = _fingerprint(db)
    users = db.session.scalar(select(func.count(User.id)))

    load_demo(reset=True)
    assert _fingerprint(db) == first
    assert db.session.scalar(select(func.count(User.id))) == users

    with pytest.raises(ClickException):
        load_demo(reset=False)


# What a committed run fires for each outcome (SPEC 5: propose / waitlist / reject).
FIRED_BY_RUN = {"funded": "propose", "partial": "propose", "waitlisted": "waitlist",
                "rejected": "reject"}


def test_demo_allocates_through_committed_runs_then_deliberations(db):
    """No proposal, waitlist or refusal by hand: committed allocation runs seeded by a
    public draw, the earlier one superseded; what-if simulations left to compare; grants
    by deliberation at the proposed amounts; a promotion once a withdrawal freed money."""
    call = demo_call()
    runs = allocation.runs_of(call)
    committed = sorted((r for r in runs if r.committed), key=lambda r: r.id)
    simulations = [r for r in runs if not r.committed]
    in_force = allocation.run_in_force(call)
    assert len(committed) == 2 and in_force.id == committed[-1].id
    assert committed[0].superseded_at is not None and in_force.superseded_at is None
    for run in committed:
        assert re.fullmatch(r"Loto \d{4}-\d{2}-\d{2} : (\d{1,2} ){4}\d{1,2}", run.seed)
    assert len(simulations) == 2
    assert {(s.overflow, s.budget_cents < in_force.budget_cents) for s in simulations} == {
        ("skip", False), ("partial", True)}
    for simulation in simulations:
        changes = allocation.compare(in_force, simulation)
        assert any(c.outcome_changed for c in changes), simulation.id
    assert all(allocation.replay(run).matches for run in runs)

    rows = {r.application_id: r for run in committed for r in allocation.rows_of(run)}
    decided_by_runs = 0
    for app in _applications(db):
        events = [e for e in audit.trail(app.id) if e.trigger in FIRED_BY_RUN.values()]
        if app.state in PHASES["allocated"] or events:
            row = rows[app.id]  # every allocated application went through a run
            assert [e.trigger for e in events] == [FIRED_BY_RUN[row.outcome]], app.reference
            assert events[0].comment == row.reason
            decided_by_runs += 1
        if app.decision is not None:
            assert app.decision.amount_cents == rows[app.id].proposed_cents > 0, app.reference
    assert decided_by_runs == sum(len(allocation.rows_of(run)) for run in committed)

    recorded = deliberations.recorded(call)
    assert len(recorded) == 2 and {r.body for r in recorded} == {
        "Bureau de la Métropole Aix-Marseille-Provence"}
    assert sum(r.count for r in recorded) == db.session.scalar(
        select(func.count(Decision.id)))

    promoted = [a for a in _applications(db)
                if any(e.trigger == "promote" for e in audit.trail(a.id))]
    assert len(promoted) == 1 and promoted[0].state == "proposed"
    assert rows[promoted[0].id].outcome == "waitlisted"
    withdrawn = [a for a in _applications(db) if a.state == "withdrawn"
                 and rows.get(a.id) is not None and rows[a.id].outcome == "funded"]
    assert len(withdrawn) == 1 and withdrawn[0].envelope_id == promoted[0].envelope_id
    assert withdrawn[0].reference in audit.trail(promoted[0].id)[-1].comment


def test_the_demo_exports_a_valid_scdl_file(db):
    """The demo's grants of both sessions (paid, reported, closed, one cancelled): their
    SCDL file passes the official schema and the custom checks."""
    from aap.services.exports import scdl
    from tests.services.test_scdl_export import frictionless_errors, parse

    data = scdl.build_scdl([demo_call()])
    assert frictionless_errors(data) == []
    assert scdl.check_scdl(data) == []
    rows = parse(data)
    assert len(rows) == scdl.count([demo_call()]) >= 10
    assert {r["conditionsVersement"] for r in rows} <= {"unique", "échelonné"}
