"""One set of money figures (SPEC 4 and 6), against a hand computation.

The call of the example has 100 000 € in two envelopes, Nord 60 000 € and Sud 40 000 €:

====  ========  ==========================================  =========  =====  =======
app   envelope  what happens                                committed  paid   owed
====  ========  ==========================================  =========  =====  =======
A     Nord      granted 30 000, convention, 24 000 paid     30 000     24 000  6 000
B     Nord      granted 20 000, 10 000 paid, cancelled      10 000     10 000      0
C     Sud       proposed 15 000 (awaits the decision)            0          0      0
D     Sud       granted 10 000, paid in full, closed with   9 000      10 000      0
                1 000 claimed back                          (10 000 − 1 000)
E     Sud       withdrawn after submission                       0          0      0
====  ========  ==========================================  =========  =====  =======

Call: proposed 15 000; granted 30 000 + 20 000 + 10 000 = 60 000; committed 30 000 +
10 000 + 9 000 = 49 000; paid 24 000 + 10 000 + 10 000 = 44 000; repaid 1 000; left to
pay 6 000 (D's committed − paid is −1 000: it owes nothing, and does not lower A's 6 000);
available 100 000 − 49 000 = 51 000.
Nord: granted 50 000, committed 40 000, paid 34 000, left 6 000, available 20 000.
Sud: proposed 15 000, granted 10 000, committed 9 000, paid 10 000, repaid 1 000, left 0,
available 31 000.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from aap.extensions import db
from aap.models import Application, Call
from aap.services import budget, money, repayments, workflow
from aap.services.calls import set_jury
from tests import factories
from tests.factories import make_application, make_call, trigger_data
from tests.helpers import count_queries

E = 100  # cents per euro


def _pay(world, app: Application, euros: int, kind: str = "advance") -> Application:
    return workflow.record_payment(app, world.users["finance"], {
        "kind": kind, "amount_cents": euros * E, "paid_on": "2026-11-02"})


def _granted(world, call: Call, euros: int, envelope: str) -> Application:
    app = make_application(call, world.org, requested_cents=euros * E,
                           envelope_id=call.envelope(envelope).id)
    return world.bring_to(app, "granted")


@pytest.fixture
def example(world):
    call = make_call(world.fund, budget_cents=100_000 * E,
                     envelopes=[("nord", "Nord", 60_000 * E), ("sud", "Sud", 40_000 * E)])
    set_jury(call, [world.users["juror"].id])
    a = _granted(world, call, 30_000, "nord")
    a = world.fire(a, "sign_convention")  # above 23 000 €: a convention first
    a = _pay(world, a, 24_000)
    b = _pay(world, _granted(world, call, 20_000, "nord"), 10_000)
    b = world.fire(b, "cancel")
    c = world.bring_to(make_application(call, world.org, requested_cents=15_000 * E,
                                        envelope_id=call.envelope("sud").id), "proposed")
    d = _pay(world, _granted(world, call, 10_000, "sud"), 10_000)
    d = world.fire(d, "submit_report")
    d = world.fire(d, "approve_report")
    d = world.fire(d, "close", {"repayment": {"amount_cents": 1_000 * E,
                                              "reference": "TR-2026-001",
                                              "reason": "Atelier non tenu."}})
    e = world.bring_to(make_application(call, world.org, requested_cents=5_000 * E,
                                        envelope_id=call.envelope("sud").id), "submitted")
    e = world.fire(e, "withdraw", {})
    db.session.rollback()
    return call, {"a": a, "b": b, "c": c, "d": d, "e": e}


def figures(f: money.Figures) -> dict[str, int]:
    """In euros, every figure with its name."""
    return {"budget": f.budget_cents // E, "proposed": f.proposed_cents // E,
            "granted": f.granted_cents // E, "committed": f.committed_cents // E,
            "paid": f.paid_cents // E, "repaid": f.repaid_cents // E,
            "outstanding": f.outstanding_cents // E,
            "left_to_pay": f.left_to_pay_cents // E, "available": f.available_cents // E}


def test_the_call_figures_of_the_example(example):
    call, _apps = example
    assert figures(money.for_call(call)) == {
        "budget": 100_000, "proposed": 15_000, "granted": 60_000, "committed": 49_000,
        "paid": 44_000, "repaid": 1_000, "outstanding": 1_000, "left_to_pay": 6_000,
        "available": 51_000}


def test_the_envelope_figures_of_the_example(example):
    call, _apps = example
    by_envelope = money.for_envelopes([call])
    assert figures(by_envelope[call.envelope("nord").id]) == {
        "budget": 60_000, "proposed": 0, "granted": 50_000, "committed": 40_000,
        "paid": 34_000, "repaid": 0, "outstanding": 0, "left_to_pay": 6_000,
        "available": 20_000}
    assert figures(by_envelope[call.envelope("sud").id]) == {
        "budget": 40_000, "proposed": 15_000, "granted": 10_000, "committed": 9_000,
        "paid": 10_000, "repaid": 1_000, "outstanding": 1_000, "left_to_pay": 0,
        "available": 31_000}


def test_each_application_owes_committed_less_paid_never_negative(example):
    _call, apps = example
    owed = {name: money.left_to_pay(db.session.get(Application, app.id))
            for name, app in apps.items()}
    assert owed == {"a": 6_000 * E, "b": 0, "c": 0, "d": 0, "e": 0}
    a = money.application_figures(db.session.get(Application, apps["a"].id))
    assert (a.granted_cents, a.committed_cents, a.paid_cents, a.left_to_pay_cents) == (
        30_000 * E, 30_000 * E, 24_000 * E, 6_000 * E)


def test_a_claim_on_the_cancelled_grant_frees_what_it_claims(example, world):
    """B (cancelled, 10 000 paid) is asked 4 000 back: it commits 6 000; then D's 1 000
    is received."""
    call, apps = example
    b = db.session.get(Application, apps["b"].id)
    repayments.claim(b, world.users["finance"], {
        "amount_cents": 4_000 * E, "reason": "Action non réalisée.",
        "reference": "TR-2026-002", "claimed_on": "2026-12-01"})
    d = db.session.get(Application, apps["d"].id)
    repayments.mark_received(d.repayments[0], world.users["finance"], "2026-12-15")
    db.session.rollback()
    assert db.session.get(Application, b.id).committed_cents == 6_000 * E
    assert figures(money.for_call(db.session.get(Call, call.id))) == {
        "budget": 100_000, "proposed": 15_000, "granted": 60_000,
        "committed": 45_000,  # 30 000 + 6 000 + 9 000
        "paid": 44_000, "repaid": 5_000, "outstanding": 4_000,  # D's 1 000 received
        "left_to_pay": 6_000, "available": 55_000}


def test_the_api_budget_and_the_guards_read_the_same_figures(example):
    call, _apps = example
    assert budget.summary(call).as_dict() == {
        "budget_cents": 100_000 * E, "proposed_cents": 15_000 * E,
        "granted_cents": 60_000 * E, "committed_cents": 49_000 * E,
        "paid_cents": 44_000 * E, "repaid_cents": 1_000 * E,
        "left_to_pay_cents": 6_000 * E, "available_cents": 51_000 * E}
    assert budget.available_cents(call) == 51_000 * E
    assert budget.available_cents(call, call.envelope("sud").id) == 31_000 * E


def test_a_call_without_applications_has_its_budget_available(world):
    call = make_call(world.fund, budget_cents=7_000 * E)
    assert figures(money.for_call(call)) == {
        "budget": 7_000, "proposed": 0, "granted": 0, "committed": 0, "paid": 0,
        "repaid": 0, "outstanding": 0, "left_to_pay": 0, "available": 7_000}
    assert money.for_calls([]) == {}


def _calls_with_grants(world, n: int) -> list[Call]:
    out = []
    for i in range(n):
        call = make_call(factories.make_fund(name=f"Fonds {i}"), title=f"Appel {i}",
                         envelopes=[("nord", "Nord", 50_000 * E)])
        set_jury(call, [world.users["juror"].id])
        app = make_application(call, world.org, requested_cents=(i + 1) * 1_000 * E,
                               envelope_id=call.envelope("nord").id)
        app = world.bring_to(app, "proposed")
        workflow.fire(app, "grant", world.users["instructor"], trigger_data("grant", app))
        out.append(call)
    return out


def test_lists_cost_the_same_queries_whatever_the_number_of_calls(world):
    ids = [c.id for c in _calls_with_grants(world, 5)]
    db.session.rollback()
    many = db.session.scalars(select(Call).where(Call.id.in_(ids)).order_by(Call.id)).all()
    few = many[:1]
    with count_queries() as one:
        money.for_calls(few)
        money.for_envelopes(few)
    with count_queries() as five:
        figures_of = money.for_calls(many)
        money.for_envelopes(many)
    assert len(one) == len(five) == 3  # the sums per call; the envelopes and their sums
    # each call granted (i + 1) × 1 000 €: 1 000, 2 000, ... 5 000
    assert [figures_of[c.id].committed_cents // E for c in many] == [
        1_000, 2_000, 3_000, 4_000, 5_000]
