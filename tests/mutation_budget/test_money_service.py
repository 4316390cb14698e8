"""The money service's sums per envelope, one application's figures and a year's total,
against hand computations (the example call of ``tests/services/test_money_figures.py``:
Nord 60 000 € holds A and B, Sud 40 000 € holds C, D and E).

Here B (Nord, cancelled with 10 000 € paid) is also asked 4 000 € back, not received yet,
and D's 1 000 € (Sud) is received: each envelope has its own repayment, so a sum that
mixed the applications' repayments would show in both.
"""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from aap.extensions import db
from aap.models import Application, Call
from aap.services import money, repayments
from tests.factories import make_application, make_call
from tests.services.test_money_figures import E, example, figures  # noqa: F401 (fixture)


@pytest.fixture
def repaid(example, world):  # noqa: F811 (the fixture above)
    call, apps = example
    b = db.session.get(Application, apps["b"].id)
    repayments.claim(b, world.users["finance"], {
        "amount_cents": 4_000 * E, "reason": "Action non réalisée.",
        "reference": "TR-2026-002", "claimed_on": "2026-12-01"})
    d = db.session.get(Application, apps["d"].id)
    repayments.mark_received(d.repayments[0], world.users["finance"], "2026-12-15")
    db.session.rollback()
    return db.session.get(Call, call.id), apps


def test_each_envelope_sums_its_own_repayments(repaid):
    call, _apps = repaid
    by_envelope = money.for_envelopes([call])
    nord, sud = by_envelope[call.envelope("nord").id], by_envelope[call.envelope("sud").id]
    # Nord: B's 4 000 claimed, not received; committed 30 000 + (10 000 − 4 000)
    assert (nord.repaid_cents, nord.outstanding_cents, nord.committed_cents) == (
        4_000 * E, 4_000 * E, 36_000 * E)
    # Sud: D's 1 000 claimed and received
    assert (sud.repaid_cents, sud.outstanding_cents) == (1_000 * E, 0)


def test_one_applications_figures(repaid):
    _call, apps = repaid
    b = money.application_figures(db.session.get(Application, apps["b"].id))
    assert figures(b) == {"budget": 20_000, "proposed": 0, "granted": 20_000,
                          "committed": 6_000, "paid": 10_000, "repaid": 4_000,
                          "outstanding": 4_000, "left_to_pay": 0, "available": 14_000}
    c = money.application_figures(db.session.get(Application, apps["c"].id))
    assert figures(c) == {"budget": 0, "proposed": 15_000, "granted": 0, "committed": 0,
                          "paid": 0, "repaid": 0, "outstanding": 0, "left_to_pay": 0,
                          "available": 0}
    d = money.application_figures(db.session.get(Application, apps["d"].id))
    assert (d.repaid_cents, d.outstanding_cents) == (1_000 * E, 0)  # received


def test_a_proposed_amount_counts_only_while_proposed():
    """After the decision the amount proposed is history, not a pending proposal."""
    base = dict(granted_cents=8_000 * E, proposed_cents=9_000 * E, committed_cents=0,
                paid_cents=0, repaid_cents=0, repayments=[])
    proposed = SimpleNamespace(state="proposed", **base)
    granted = SimpleNamespace(state="granted", **base)
    assert money.application_figures(proposed).proposed_cents == 9_000 * E
    assert money.application_figures(granted).proposed_cents == 0


def test_outstanding_is_what_was_claimed_and_not_received():
    app = SimpleNamespace(repayments=[
        SimpleNamespace(amount_cents=300 * E, received_on=None),
        SimpleNamespace(amount_cents=200 * E, received_on=date(2026, 12, 1)),
        SimpleNamespace(amount_cents=50 * E, received_on=None)])
    assert money.outstanding(app) == 350 * E


def test_a_years_total_adds_every_figure():
    one = money.Figures(1, 2, 3, 4, 5, 6, 7, 8)
    other = money.Figures(10, 20, 30, 40, 50, 60, 70, 80)
    assert money.total([one, other]) == money.Figures(11, 22, 33, 44, 55, 66, 77, 88)
    assert money.total([]) == money.Figures(0, 0, 0, 0, 0, 0, 0, 0)
    assert money.total([one]).available_cents == 1 - 4


def test_an_empty_call_and_envelope_have_their_whole_budget(world):
    """Whatever another call's envelopes hold."""
    other = make_call(world.fund, budget_cents=90_000 * E,
                      envelopes=[("nord", "Nord", 80_000 * E)])
    held = make_application(other, world.org, envelope_id=other.envelope("nord").id)
    held.committed_cents = 7_000 * E  # fixture: another call's grant
    db.session.commit()
    call = make_call(world.fund, budget_cents=50_000 * E,
                     envelopes=[("nord", "Nord", 20_000 * E)])
    assert money.committed_cents(call.id) == 0
    assert money.available_cents(call) == 50_000 * E
    assert money.available_cents(call, call.envelope("nord").id) == 20_000 * E
    assert money.available_in_envelopes(call) == 20_000 * E
