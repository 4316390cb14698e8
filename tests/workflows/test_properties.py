"""Properties of the workflow against oracles that the tests keep themselves.

1. Random sequences of triggers by random actors never leave the definition and never
   break the audit trail.
2. The budget (SPEC section 4, "Budget", and the invariant of section 5): a rule-based
   machine drives several applications of one call, whose requests add up to more than the
   call's budget and than their envelopes', through proposals, waitlisting, promotions,
   grants, conventions, first and later payments, reports, closings with repayments,
   cancellations and withdrawals. Beside the database it keeps its own model of each
   application (state, granted, paid, repaid) and computes from SPEC alone:

   - what an application commits: its grant from ``granted`` on; once cancelled or
     closed, only what was paid less what was repaid; nothing before the grant (a
     withdrawal or a proposal frees or holds nothing);
   - ``available`` = budget − committed, for the call and for each envelope;
   - whether each action must be accepted or refused, and why.

   After every step it checks the database against the model: each state, each committed
   amount, the call's and every envelope's available amount, that neither is ever
   overdrawn, and that nothing is paid beyond its grant.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, given, settings, target
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from aap.extensions import db
from aap.models import Application, AuditEvent, Call, Decision, Payment, Repayment
from aap.services import audit, budget, workflow
from aap.services.calls import set_jury
from tests.factories import make_application, make_call, path_to, trigger_data
from workflows import WorkflowError, get_workflow
from workflows.application import TERMINAL_STATES

WORKFLOW = get_workflow()
# How far each state is from a draft; hypothesis is steered towards deep walks.
DEPTH = {state: len(path_to(state)) for state in WORKFLOW.state_names}
ON_POSTGRES = os.environ.get("TEST_DATABASE_URL", "sqlite").startswith("postgres")
# The properties are about the machine and the sums, the same on both databases: explore
# more on SQLite, where an example is cheaper (PostgreSQL's locks have their own tests).
EXAMPLES = 12 if ON_POSTGRES else 40
BUDGET_EXAMPLES = 4 if ON_POSTGRES else 8
BUDGET_STEPS = 20
ACTORS = ["applicant", "foreign_applicant", "instructor", "finance", "juror", "admin"]


def _draw_step(data, state: str) -> tuple[str, str, bool]:
    """Mostly a trigger the state allows (to walk deep), sometimes any trigger."""
    available = [s.trigger for s in WORKFLOW.available(state)]
    forward = [s.trigger for s in WORKFLOW.available(state) if s.dest not in TERMINAL_STATES]
    if forward and data.draw(st.integers(0, 9), label="forward") < 8:
        available = forward
    if available and data.draw(st.integers(0, 9), label="walk") < 8:
        trigger = data.draw(st.sampled_from(available), label="trigger")
        actor = data.draw(st.sampled_from(sorted(WORKFLOW.roles_for(trigger))), label="actor")
    else:
        trigger = data.draw(st.sampled_from(WORKFLOW.triggers), label="trigger")
        actor = data.draw(st.sampled_from(ACTORS), label="actor")
    return trigger, actor, data.draw(st.integers(0, 9), label="with_data") < 8


def _transition_count(app_id: int) -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.application_id == app_id, AuditEvent.trigger.is_not(None)))


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), length=st.integers(1, 60))
def test_random_sequences_keep_the_machine_and_the_trail_consistent(world, data, length):
    call = make_call(world.fund)  # a fresh call: each example is independent
    set_jury(call, [world.users["juror"].id, world.users["juror2"].id])
    app = make_application(call, world.org, requested_cents=20_000_00)
    deepest = 0
    for _ in range(length):
        trigger, actor_name, with_data = _draw_step(data, app.state)
        before_state, before_count = app.state, _transition_count(app.id)
        payload = trigger_data(trigger, app) if with_data else {}
        try:
            app = workflow.fire(app, trigger, world.users[actor_name], payload)
        except WorkflowError:
            db.session.rollback()
            app = db.session.get(Application, app.id, populate_existing=True)
            assert app.state == before_state
            assert _transition_count(app.id) == before_count
        else:
            assert _transition_count(app.id) == before_count + 1
        assert app.state in WORKFLOW.state_names
        deepest = max(deepest, DEPTH[app.state])
    target(float(deepest), label="transitions from draft to the deepest state reached")
    assert audit.replay(audit.trail(app.id)) == app.state


# --- the budget machine -----------------------------------------------------------------

EUR = 100
CONVENTION_ABOVE = 23_000 * EUR  # décret 2001-495: a convention is required above 23 000 €
GRANTED_ON = {"granted", "contracted", "in_progress", "report_submitted", "report_approved"}
SETTLED = {"cancelled", "closed"}
FIRST_PAYMENT_STATES = {"granted", "contracted"}
LATER_PAYMENT_STATES = {"in_progress", "report_submitted", "report_approved"}
# What the machine may do to an application in each state, weighted towards progress.
ACTIONS = {
    "reviewed": ["propose"] * 3 + ["waitlist", "withdraw"],
    "waitlisted": ["promote"] * 3 + ["withdraw"],
    "proposed": ["grant"] * 4 + ["withdraw"],
    "granted": ["pay", "pay", "sign_convention", "sign_convention", "cancel"],
    "contracted": ["pay"] * 3 + ["cancel"],
    "in_progress": ["pay"] + ["submit_report"] * 3 + ["cancel"],
    "report_submitted": ["pay"] + ["approve_report"] * 3,
    "report_approved": ["pay"] + ["close"] * 3,
}


class Model:
    """One application as SPEC sees it, written by the test only."""

    def __init__(self, app_id: int, requested: int, envelope: int | None) -> None:
        self.id, self.requested, self.envelope = app_id, requested, envelope
        self.state = "reviewed"
        self.proposed = self.granted = self.paid = self.repaid = 0

    @property
    def committed(self) -> int:
        if self.state in GRANTED_ON:
            return self.granted
        if self.state in SETTLED:
            return self.paid - self.repaid
        return 0


class BudgetMachine(RuleBasedStateMachine):
    """Set ``world`` on the class before running it (see the test below)."""

    world = None

    @initialize(data=st.data())
    def create_call(self, data):
        world = self.world
        n_envelopes = data.draw(st.integers(0, 2), label="envelopes")
        requests = data.draw(st.lists(st.integers(4, 30), min_size=3, max_size=5),
                             label="requests (k€)")
        total = sum(requests) * 1_000 * EUR
        # The budget and each envelope are smaller than what is asked of them.
        share = data.draw(st.integers(25, 75), label="budget % of the requests")
        self.budget = total * share // 100 // EUR * EUR
        envelope_budgets = [data.draw(st.integers(8, 40), label="envelope (k€)") * 1_000 * EUR
                            for _ in range(n_envelopes)]
        call = make_call(world.fund, budget_cents=self.budget,
                         envelopes=[(f"e{i}", f"Enveloppe {i}", cents)
                                    for i, cents in enumerate(envelope_budgets)])
        set_jury(call, [world.users["juror"].id])
        self.call_id = call.id
        self.envelopes = {e.id: e.budget_cents for e in call.envelopes}
        self.apps: list[Model] = []
        for k_eur in requests:
            envelope = (data.draw(st.sampled_from(sorted(self.envelopes)), label="envelope")
                        if self.envelopes else None)
            app = make_application(call, world.org, requested_cents=k_eur * 1_000 * EUR,
                                   envelope_id=envelope)
            for trigger in path_to("reviewed"):
                app = world.fire(app, trigger)
            self.apps.append(Model(app.id, app.requested_cents, envelope))
        self.granted_count = self.refused_for_budget = self.repayments = 0

    # -- the oracle ----------------------------------------------------------------------
    def committed(self, envelope: int | None = None) -> int:
        return sum(a.committed for a in self.apps if envelope is None or a.envelope == envelope)

    def available(self, envelope: int | None = None) -> int:
        if envelope is None:
            return self.budget - self.committed()
        return self.envelopes[envelope] - self.committed(envelope)

    def fits(self, model: Model, amount: int) -> bool:
        return amount <= self.available() and (
            model.envelope is None or amount <= self.available(model.envelope))

    # -- driving the application ---------------------------------------------------------
    @rule(data=st.data())
    def step(self, data):
        """One action on one live application, mostly forward along the workflow (so
        that grants, payments and closings happen within a few dozen steps)."""
        live = [a for a in self.apps if a.state in ACTIONS]
        if not live or (len(self.apps) < 8 and data.draw(st.integers(0, 9)) == 0):
            self.add_application(data)
            return
        model = data.draw(st.sampled_from(live), label="application")
        action = data.draw(st.sampled_from(ACTIONS[model.state]), label="action")
        getattr(self, action)(data, model)

    def act(self, model: Model, trigger: str, role: str, payload: dict,
            refusals: set[str] = frozenset()) -> bool:
        """Fire and compare with the oracle: ``refusals`` are the reasons that must refuse
        it (empty: it must be accepted)."""
        application = db.session.get(Application, model.id, populate_existing=True)
        actor = self.world.users[role]
        try:
            if trigger == "payment":
                workflow.record_payment(application, actor, payload)
            else:
                workflow.fire(application, trigger, actor, payload)
        except WorkflowError as exc:
            db.session.rollback()
            assert refusals, f"{trigger} on {model.state} refused: {exc.code} {exc.message}"
            assert exc.code in refusals, (trigger, exc.code, refusals)
            if exc.code == "budget_exceeded":
                self.refused_for_budget += 1
            return False
        assert not refusals, f"{trigger} on {model.state} accepted, expected {refusals}"
        return True

    def add_application(self, data) -> None:
        """Another application competes for the same budget (and keeps the machine going
        once the others are settled)."""
        call = db.session.get(Call, self.call_id)
        envelope = (data.draw(st.sampled_from(sorted(self.envelopes)), label="envelope")
                    if self.envelopes else None)
        k_eur = data.draw(st.integers(4, 30), label="request (k€)")
        app = make_application(call, self.world.org, requested_cents=k_eur * 1_000 * EUR,
                               envelope_id=envelope)
        for trigger in path_to("reviewed"):
            app = self.world.fire(app, trigger)
        self.apps.append(Model(app.id, app.requested_cents, envelope))

    def propose(self, data, model: Model) -> None:
        amount = data.draw(st.sampled_from([model.requested, model.requested // 2]),
                           label="proposed")
        # A proposal holds no money: it is accepted even beyond the budget.
        self.act(model, "propose", "instructor", {"amount_cents": amount})
        model.state, model.proposed = "proposed", amount

    def waitlist(self, data, model: Model) -> None:
        self.act(model, "waitlist", "instructor", {})
        model.state = "waitlisted"

    def promote(self, data, model: Model) -> None:
        refusals = set() if self.fits(model, model.requested) else {"budget_exceeded"}
        if self.act(model, "promote", "instructor", {"amount_cents": model.requested},
                    refusals):
            model.state, model.proposed = "proposed", model.requested

    def grant(self, data, model: Model) -> None:
        amount = data.draw(st.sampled_from(sorted({model.proposed, model.requested})),
                           label="granted")
        payload = trigger_data("grant", db.session.get(Application, model.id))
        payload["amount_cents"] = amount
        refusals = set() if self.fits(model, amount) else {"budget_exceeded"}
        if self.act(model, "grant", "instructor", payload, refusals):
            model.state, model.granted = "granted", amount
            self.granted_count += 1

    def sign_convention(self, data, model: Model) -> None:
        self.act(model, "sign_convention", "instructor",
                 trigger_data("sign_convention", db.session.get(Application, model.id)))
        model.state = "contracted"

    def pay(self, data, model: Model) -> None:
        left = model.granted - model.paid
        amount = data.draw(st.sampled_from(sorted({1, left // 2, left, left + 1} - {0})),
                           label="paid")
        refusals = set()
        if amount > left:
            refusals.add("overpayment")  # never more paid than granted
        if (model.state == "granted" and model.granted > CONVENTION_ABOVE):
            refusals.add("convention_required")
        payload = {"kind": "instalment", "amount_cents": amount, "paid_on": "2026-11-02"}
        if self.act(model, "payment", "finance", payload, refusals):
            model.paid += amount
            if model.state in FIRST_PAYMENT_STATES:
                model.state = "in_progress"  # the first payment fires pay

    def submit_report(self, data, model: Model) -> None:
        self.act(model, "submit_report", "applicant",
                 trigger_data("submit_report", db.session.get(Application, model.id)))
        model.state = "report_submitted"

    def approve_report(self, data, model: Model) -> None:
        self.act(model, "approve_report", "instructor", {})
        model.state = "report_approved"

    def close(self, data, model: Model) -> None:
        how = data.draw(st.sampled_from(["repayment", "release", "plain"]), label="close")
        repaid = 0
        if how == "repayment" and model.paid:
            repaid = data.draw(st.integers(1, model.paid), label="repaid")
            payload = {"repayment": {"amount_cents": repaid, "reference": "TR-2027-001",
                                     "reason": "Dépenses non justifiées."}}
            refusals = set()
        elif how == "release":
            payload = {"release_unpaid": True, "comment": "Projet réalisé à moindre coût."}
            refusals = set()
        else:
            payload = {}
            # SPEC: close needs the balance paid or a repayment claimed.
            refusals = set() if model.paid >= model.granted else {"balance_unsettled"}
        if self.act(model, "close", "finance", payload, refusals):
            model.state, model.repaid = "closed", model.repaid + repaid
            self.repayments += bool(repaid)

    def cancel(self, data, model: Model) -> None:
        self.act(model, "cancel", "instructor", {"comment": "Le projet n'a pas démarré."})
        model.state = "cancelled"  # frees the unpaid part of the grant

    def withdraw(self, data, model: Model) -> None:
        self.act(model, "withdraw", "applicant", {})
        model.state = "withdrawn"  # nothing was committed, nothing is freed

    # -- checked after every step ------------------------------------------------------
    @invariant()
    def database_matches_the_model(self):
        db.session.rollback()  # a fresh snapshot: what the commits left
        ids = [a.id for a in self.apps]
        rows = {i: (state, committed) for i, state, committed in db.session.execute(
            select(Application.id, Application.state, Application.committed_cents)
            .where(Application.id.in_(ids)))}
        granted, paid, repaid = (
            dict(db.session.execute(select(table.application_id, func.sum(table.amount_cents))
                                    .where(table.application_id.in_(ids))
                                    .group_by(table.application_id)).all())
            for table in (Decision, Payment, Repayment))
        for model in self.apps:
            assert rows[model.id] == (model.state, model.committed), model.__dict__
            assert granted.get(model.id, 0) == model.granted
            assert paid.get(model.id, 0) == model.paid <= model.granted
            assert repaid.get(model.id, 0) == model.repaid
        call = db.session.get(Call, self.call_id)
        assert budget.available_cents(call) == self.available() >= 0
        for envelope_id, envelope_budget in self.envelopes.items():
            assert budget.available_cents(call, envelope_id) == self.available(envelope_id)
            assert 0 <= self.committed(envelope_id) <= envelope_budget
        summary = budget.summary(call)
        assert summary.committed_cents == self.committed() <= self.budget
        assert summary.granted_cents == sum(a.granted for a in self.apps)
        assert summary.paid_cents == sum(a.paid for a in self.apps)
        assert summary.repaid_cents == sum(a.repaid for a in self.apps)

    def teardown(self):
        if hasattr(self, "apps"):
            target(float(self.refused_for_budget), label="grants refused for lack of budget")
            target(float(self.granted_count), label="grants")
            target(float(self.repayments), label="closings with a repayment")


def test_the_budget_and_every_envelope_are_never_overdrawn(world):
    phases = list(Phase)
    if os.environ.get("MUTANT_UNDER_TEST"):
        phases.remove(Phase.shrink)  # under mutation testing, a failure is all we need
    BudgetMachine.world = world
    try:
        run_state_machine_as_test(BudgetMachine, settings=settings(
            max_examples=BUDGET_EXAMPLES, stateful_step_count=BUDGET_STEPS, deadline=None,
            phases=phases, suppress_health_check=[HealthCheck.too_slow]))
    finally:
        BudgetMachine.world = None
