"""``aap demo --applications N`` (``aap.demo_big``): a big call written in bulk, checked
against oracles that do not come from the generator: the transition table of
``workflows/application.py``, the money rules of SPEC 4 (replayed from the audit trail),
CERFA balances, python-stdnum for the identifiers, and the services that read the data.

Two calls are generated once for the module, at a fixed day (so the checks do not depend
on the day they run): a small one on an empty database (the generator brings its own fund
and staff), then, after the demo, one of 300 applications on the demo's fund and jury."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from stdnum import iban
from stdnum.fr import siret

from aap.demo import FUND, STAFF, empty_database, load_demo
from aap.demo_big import OWN_FUND, OWN_STAFF, generate
from aap.extensions import db as _db
from aap.models import (
    AllocationRun,
    Application,
    AuditEvent,
    Call,
    Convention,
    Decision,
    Fund,
    Membership,
    Organisation,
    Payment,
    ReferenceCounter,
    Repayment,
    Report,
    Review,
    User,
)
from aap.services import allocation, deliberations, money, scoring
from aap.services.validation import submission_problems
from aap.timeutil import PARIS
from workflows.application import TRANSITIONS

N = 300
TODAY = datetime(2026, 11, 27, 16, 30, tzinfo=PARIS)
OWN_TODAY = datetime(2025, 11, 14, 11, 0, tzinfo=PARIS)

# SPEC 3 and 4, by hand.
STATES = {"draft", "submitted", "incomplete", "ineligible", "eligible", "in_review",
          "reviewed", "waitlisted", "proposed", "rejected", "granted", "contracted",
          "in_progress", "report_submitted", "report_approved", "closed", "withdrawn",
          "cancelled"}
HOLDS_THE_GRANT = {"granted", "contracted", "in_progress", "report_submitted",
                   "report_approved"}
SETTLED = {"closed", "cancelled"}  # commit what was paid less what was claimed back
MOTIVATED = {"request_completion", "declare_ineligible", "request_report_changes", "cancel"}
DECIDED = {"rejected", *HOLDS_THE_GRANT, *SETTLED}
CONVENTION_ABOVE = 23_000_00
PRODUCT_LINE = "74_epci"


@pytest.fixture(scope="module")
def calls(app):
    with app.app_context():
        try:
            own = generate(60, seed=7, fiscal_year=2025, today=OWN_TODAY)
            load_demo(reset=False)
            big = generate(N, today=TODAY)
            yield {"own": own, "demo": big}
        finally:
            empty_database()  # authorities below others included
            _db.session.remove()


@pytest.fixture
def db(calls):
    """This module's ``db`` is the generated data (the global one would empty it)."""
    return _db


@pytest.fixture(params=["own", "demo"])
def call(request, calls, db) -> Call:
    return db.session.get(Call, calls[request.param])


def _applications(db, call: Call) -> list[Application]:
    return list(db.session.scalars(select(Application).where(Application.call_id == call.id)
                                   .order_by(Application.id)))


def _events(db, call: Call) -> list[AuditEvent]:
    return list(db.session.scalars(
        select(AuditEvent).join(Application, AuditEvent.application_id == Application.id)
        .where(Application.call_id == call.id).order_by(AuditEvent.at, AuditEvent.id)))


def _by_application(events: list[AuditEvent]) -> dict[int, list[AuditEvent]]:
    out: dict[int, list[AuditEvent]] = defaultdict(list)
    for event in events:
        out[event.application_id].append(event)
    return out


def _roles(db) -> dict[int, set[str]]:
    out: dict[int, set[str]] = defaultdict(set)
    for user in db.session.scalars(select(User)):
        out[user.id] |= set(user.roles)
    return out


# -- the workflow ------------------------------------------------------------------------

def test_the_big_call_spreads_over_every_state_most_of_it_decided(db, calls):
    call = db.session.get(Call, calls["demo"])
    apps = _applications(db, call)
    states = Counter(a.state for a in apps)
    assert len(apps) == N
    assert set(states) == STATES, states
    assert sum(states[s] for s in DECIDED) > N / 2, states
    assert states["draft"] < N / 10 and states["withdrawn"] < N / 20
    assert states["cancelled"] < states["closed"] < sum(states[s] for s in HOLDS_THE_GRANT)
    organisations = {a.organisation for a in apps}
    assert any(o.rna is None for o in organisations)  # not every body is an association


def test_every_history_is_a_legal_path_from_draft(db, call):
    """Each transition of the trail: allowed from the state the previous one led to by
    the table of workflows/application.py, fired by a user of the transition's role (the
    applicant: a member of the organisation), motivated where SPEC requires it, in time
    order; the last one leads to the application's state."""
    table = {(source, t["trigger"]): (t["dest"], set(t["roles"]))
             for t in TRANSITIONS for source in t["source"]}
    roles = _roles(db)
    members = {tuple(row) for row in db.session.execute(
        select(Membership.user_id, Membership.organisation_id))}
    trails = _by_application(_events(db, call))
    for app in _applications(db, call):
        state, last = "draft", None
        for event in trails.get(app.id, []):
            assert last is None or event.at > last, (app.reference, event.action)
            last = event.at
            if event.trigger is None:
                continue
            dest, allowed = table[(state, event.trigger)]
            assert (event.from_state, event.to_state) == (state, dest), app.reference
            assert roles[event.actor_id] & allowed, (app.reference, event.trigger)
            if "applicant" in allowed:
                assert (event.actor_id, app.organisation_id) in members
            if event.trigger in MOTIVATED or event.data.get("force"):
                assert event.comment, (app.reference, event.trigger)
            state = dest
        assert state == app.state, app.reference


# -- money -------------------------------------------------------------------------------

def _sums(db, model, call: Call) -> dict[int, int]:
    return dict(db.session.execute(
        select(model.application_id, func.sum(model.amount_cents))
        .join(Application, Application.id == model.application_id)
        .where(Application.call_id == call.id).group_by(model.application_id)).all())


def test_each_application_holds_what_spec_4_says(db, call):
    """committed: the grant while it stands, what was paid less what was claimed back
    once closed or cancelled, nothing before the grant; never more paid than granted;
    left to pay = committed − paid, never negative (money.application_figures agrees)."""
    granted = {d.application_id: d.amount_cents for d in db.session.scalars(
        select(Decision).join(Application).where(Application.call_id == call.id))}
    paid, repaid = _sums(db, Payment, call), _sums(db, Repayment, call)
    for app in _applications(db, call):
        grant, out, back = granted.get(app.id, 0), int(paid.get(app.id, 0)), \
            int(repaid.get(app.id, 0))
        expected = max(out - back, 0) if app.state in SETTLED else \
            grant if app.state in HOLDS_THE_GRANT else 0
        assert app.committed_cents == expected, app.reference
        assert out <= grant and back <= out, app.reference
        assert (grant > 0) == (app.state in HOLDS_THE_GRANT | SETTLED), app.reference
        figures = money.application_figures(app)
        assert (figures.granted_cents, figures.paid_cents, figures.repaid_cents) == \
            (grant, out, back)
        assert figures.left_to_pay_cents == max(expected - out, 0)
        if app.state == "proposed":
            assert 0 < app.proposed_cents <= app.requested_cents
        elif grant:
            assert app.proposed_cents == grant <= app.requested_cents


def test_the_money_replayed_from_the_trail_never_overruns_the_budget(db, call):
    """Replaying grants, payments, claims, cancellations and closings in time order by
    the rules of SPEC 4, the call and each envelope commit at most their budget at every
    grant, and the replay ends on each application's committed amount."""
    envelope_of = {a.id: a.envelope_id for a in _applications(db, call)}
    budgets = {e.id: e.budget_cents for e in call.envelopes}
    committed: dict[int, int] = {}
    paid, repaid, state = Counter(), Counter(), {}
    grants = 0
    for event in _events(db, call):
        app_id = event.application_id
        if event.trigger == "grant":
            amount = event.data["amount_cents"]
            envelope = envelope_of[app_id]
            in_envelope = sum(v for k, v in committed.items() if envelope_of[k] == envelope)
            assert sum(committed.values()) + amount <= call.budget_cents
            assert in_envelope + amount <= budgets[envelope]
            committed[app_id], grants = amount, grants + 1
        elif event.trigger == "pay" or event.action == "payment":
            paid[app_id] += event.data["amount_cents"]
        elif event.action == "repayment_claimed":
            repaid[app_id] += event.data["amount_cents"]
            if state[app_id] in SETTLED:
                committed[app_id] = max(paid[app_id] - repaid[app_id], 0)
        if event.trigger in {"cancel", "close"}:
            committed[app_id] = max(paid[app_id] - repaid[app_id], 0)
        if event.trigger:
            state[app_id] = event.to_state
    assert grants > 0
    for app in _applications(db, call):
        assert committed.get(app.id, 0) == app.committed_cents, app.reference
    assert paid == Counter({k: int(v) for k, v in _sums(db, Payment, call).items()})


def test_the_call_figures_add_up_and_the_budget_is_a_third_of_the_demand(db, call):
    apps = _applications(db, call)
    granted = sum(a.granted_cents for a in apps)
    paid = sum(a.paid_cents for a in apps)
    committed = sum(a.committed_cents for a in apps)
    figures = money.for_calls([call])[call.id]
    assert figures.granted_cents == granted and figures.paid_cents == paid
    assert figures.committed_cents == committed <= call.budget_cents
    assert figures.proposed_cents == sum(a.proposed_cents for a in apps
                                         if a.state == "proposed")
    assert figures.left_to_pay_cents == sum(max(a.committed_cents - a.paid_cents, 0)
                                            for a in apps)
    assert figures.available_cents == call.budget_cents - committed >= 0
    for envelope_id, envelope in money.for_envelopes([call]).items():
        assert envelope.committed_cents <= envelope.budget_cents, envelope_id
    assert sum(e.budget_cents for e in call.envelopes) == call.budget_cents
    asked = sum(a.requested_cents for a in apps if a.reference)
    assert 0.28 < call.budget_cents / asked < 0.36


def test_payments_follow_decisions_and_conventions(db, call):
    """A decision with its deliberation's reference and date; a convention signed
    before any payment above 23 000 €; payments dated after the decision, with a mandate;
    a report only where one was filed (SPEC 3)."""
    for app in _applications(db, call):
        decision, convention = app.decision, app.convention
        payments = sorted(app.payments, key=lambda p: p.id)
        if decision is None:
            assert not payments and convention is None, app.reference
            continue
        assert decision.reference.startswith("CSOC ") and decision.body
        assert app.submitted_at.astimezone(PARIS).date() < decision.decided_on
        if convention is not None:
            assert decision.decided_on <= convention.signed_on
            assert not payments or convention.signed_on <= payments[0].paid_on
        if payments and decision.amount_cents > CONVENTION_ABOVE:
            assert convention is not None, app.reference
        for payment in payments:
            assert payment.paid_on >= decision.decided_on and payment.mandate
        if app.state in {"report_submitted", "report_approved", "closed"}:
            assert app.report is not None, app.reference
        if app.report is not None:
            assert app.state in {"in_progress", "report_submitted", "report_approved",
                                 "closed"}
            assert payments and app.report.submitted_at > \
                datetime.combine(payments[0].paid_on, datetime.min.time(), PARIS)
    conventions = db.session.scalars(select(Convention.reference)).all()
    assert len(conventions) == len(set(conventions))


# -- the files ---------------------------------------------------------------------------

def test_files_balance_and_pass_the_submission_checks(db, call):
    for app in _applications(db, call):
        budget = app.budget()
        assert sum(budget["charges"].values()) == sum(budget["products"].values())
        if app.state != "draft" and app.state != "incomplete":
            assert submission_problems(app) == {}, app.reference
            assert budget["products"][PRODUCT_LINE] == app.requested_cents
            assert app.requested_cents <= Decimal("0.8") * sum(budget["charges"].values())
            assert app.domains and app.grounds and app.territories
        report = app.report
        if report is not None:
            realised = report.realised()
            assert sum(realised["charges"].values()) == sum(realised["products"].values())
            planned, spent = app.total("charges"), sum(realised["charges"].values())
            if abs(spent - planned) > Decimal("0.15") * planned:
                assert report.gap_explanation, app.reference


def test_identifiers_are_valid_and_organisations_file_several(db, call):
    apps = _applications(db, call)
    organisations = {a.organisation for a in apps}
    assert all(siret.is_valid(o.siret) for o in organisations)
    assert all(iban.is_valid(o.iban) for o in organisations)
    assert all(o.rna is None or re.fullmatch(r"W\d{9}", o.rna) for o in organisations)
    per_organisation = Counter(a.organisation_id for a in apps)
    assert max(per_organisation.values()) >= 3 and min(per_organisation.values()) == 1
    all_sirets = db.session.scalars(select(Organisation.siret)).all()
    assert len(all_sirets) == len(set(all_sirets))
    references = [a.reference for a in apps if a.reference]
    assert len(references) == len(set(references)) == sum(
        1 for a in apps if a.state != "draft")
    year = call.fiscal_year
    numbers = sorted(int(r.rsplit("-", 1)[1]) for r in references)
    assert numbers == list(range(numbers[0], numbers[-1] + 1))
    last = db.session.get(ReferenceCounter, year).last_value
    assert last >= numbers[-1]
    by_submission = sorted((a for a in apps if a.reference), key=lambda a: a.submitted_at)
    assert [a.reference for a in by_submission] == sorted(references, key=lambda r: int(
        r.rsplit("-", 1)[1]))


def test_reviews_carry_their_totals(db, call):
    """Three jurors per application from the review on; a recused juror scores nothing;
    each total is the grid's weighted total of its scores (aap.services.scoring)."""
    reviews = list(db.session.scalars(select(Review).join(Application)
                                      .where(Application.call_id == call.id)))
    per_application = Counter(r.application_id for r in reviews)
    assert set(per_application.values()) == {3}
    assert any(r.conflict for r in reviews) or len(reviews) < 300
    for review in reviews:
        scores = {s.criterion_key: s.score for s in review.scores}
        if review.conflict:
            assert not scores and not review.submitted
            continue
        if review.submitted:
            assert set(scores) == {c.key for c in call.criteria}
        if scores:
            assert review.total == scoring.weighted_total(call, scores)


def test_dates_are_in_order_and_in_the_past(db, call):
    day = TODAY if call.fiscal_year == 2026 else OWN_TODAY
    trails = _by_application(_events(db, call))
    for app in _applications(db, call):
        events = trails.get(app.id, [])
        assert app.created_at <= (app.submitted_at or app.created_at) <= day
        assert all(app.created_at < e.at <= day for e in events), app.reference
        if app.submitted_at is not None:
            assert events[0].trigger == "submit" and events[0].at == app.submitted_at
        assert app.starts_on is None or app.starts_on <= app.ends_on
        assert app.organisation.created_at < app.created_at


# -- the services read it ----------------------------------------------------------------

def test_the_services_rank_replay_and_list_the_big_call(db, calls):
    call = db.session.get(Call, calls["demo"])
    ranked = [a.id for a in _applications(db, call)
              if a.state in {"reviewed", "waitlisted", "proposed", "rejected"}]
    ranks = allocation.ranking(call, ranked)
    assert set(ranks) == set(ranked)
    assert sorted(r for r in ranks.values() if r is not None)[:3] == [1, 2, 3]

    runs = list(db.session.scalars(select(AllocationRun).where(
        AllocationRun.call_id == call.id).order_by(AllocationRun.id)))
    assert len(runs) >= 5 and allocation.run_in_force(call) == runs[-1]
    assert all(r.superseded_at is not None for r in runs[:-1])
    for run in runs:
        replayed = allocation.replay(run)
        assert replayed.matches, run.id
    in_force = allocation.rows_of(runs[-1])
    scores = scoring.call_aggregates(call, [r.application_id for r in in_force])
    assert all(scores[r.application_id].score == r.score for r in in_force)

    proposals = deliberations.proposals(call)
    assert {p.application.id for p in proposals} == {
        a.id for a in _applications(db, call) if a.state == "proposed"}
    assert deliberations.recorded(call)


def test_without_the_demo_it_brings_its_own_fund_and_staff(db, calls):
    own = db.session.get(Call, calls["own"])
    big = db.session.get(Call, calls["demo"])
    assert own.fund.name == OWN_FUND["name"] and own.fiscal_year == 2025
    assert big.fund.name == FUND["name"] and big.fiscal_year == 2026
    emails = set(db.session.scalars(select(User.email)))
    assert {e for _, e, _ in OWN_STAFF} | {e for _, e, _ in STAFF} <= emails
    funds = Counter(db.session.scalars(select(Fund.name)))  # the demo's and its own, once
    assert funds[OWN_FUND["name"]] == funds[FUND["name"]] == 1
    own_jury = {m.user_id for m in own.jury}
    assert len(own_jury) == 5 and own_jury <= {u.id for u in db.session.scalars(
        select(User).where(User.email.in_([e for _, e, _ in OWN_STAFF])))}
    assert db.session.scalar(select(func.count(Report.id))) > 0


def test_the_cli_adds_a_big_call_and_says_how_long_it_took(app, db, calls):
    """Last: it adds a third call (``--no-reset`` keeps the demo and the two others)."""
    before = db.session.scalar(select(func.count(Call.id)))
    result = app.test_cli_runner().invoke(args=["demo", "--no-reset", "--applications", "25"])
    assert result.exit_code == 0, result.output
    assert re.search(r"Big call \d+: 25 applications, [\d.]+ s", result.output)
    assert db.session.scalar(select(func.count(Call.id))) == before + 1
