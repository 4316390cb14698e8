"""The budget guard of a call with envelopes, pooled or not (SPEC 5), on the database.

The fixture call, worked out by hand: a budget of 10 000 €, envelopes « Pays d'Aix »
(3 000 €) and « Istres » (5 000 €). Already held: 2 000 € in Istres and 1 000 € by an
application outside any envelope. So the call has 10 000 − 2 000 − 1 000 = 7 000 € left,
the envelopes together 3 000 + 5 000 − 2 000 = 6 000 €, Pays d'Aix alone 3 000 €.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aap.extensions import db
from tests import factories
from workflows.engine import Context, GuardFailed
from workflows.guards import GUARDS

E = 100  # cents per euro
NNBSP, NBSP = "\u202f", "\xa0"  # how French amounts are written: « 6 000,01 € »


def _holding(call, org, cents: int, envelope=None):
    app = factories.make_application(call, org, envelope_id=envelope.id if envelope else None)
    app.committed_cents = cents  # fixture: money another decision already holds
    db.session.commit()
    return app


def _call(world, pooled: bool):
    call = factories.make_call(world.fund, budget_cents=10_000 * E, pool_leftovers=pooled,
                               envelopes=[("aix", "Pays d'Aix", 3_000 * E),
                                          ("istres", "Istres", 5_000 * E)])
    org = factories.make_organisation()
    _holding(call, org, 2_000 * E, call.envelope("istres"))
    _holding(call, org, 1_000 * E)
    return call, org


def _check(app, cents: int, guard: str = "budget_available") -> None:
    ctx = Context(subject=app, actor=None, trigger="grant", data={},
                  now=datetime(2026, 10, 12, tzinfo=UTC), spec=None, values={"amount": cents})
    GUARDS[guard](ctx)


def _refusal(app, cents: int, guard: str = "budget_available") -> GuardFailed:
    with pytest.raises(GuardFailed) as refused:
        _check(app, cents, guard)
    return refused.value


@pytest.mark.parametrize("guard", ["budget_available", "budget_available_for_proposal"])
def test_pooled_envelopes_bind_together_not_one_by_one(world, guard):
    call, org = _call(world, pooled=True)
    in_aix = factories.make_application(call, org, envelope_id=call.envelope("aix").id)
    _check(in_aix, 6_000 * E, guard)  # twice what Pays d'Aix holds alone, all the pool
    refused = _refusal(in_aix, 6_000 * E + 1, guard)
    assert (refused.code, refused.fields) == (
        "budget_exceeded", {"amount_cents": ["Enveloppes insuffisantes."]})
    assert refused.message == (
        f"Enveloppes insuffisantes : 6{NNBSP}000,01{NBSP}€ demandés, 6{NNBSP}000,00{NBSP}€ "
        "disponibles dans l'ensemble des enveloppes (reliquats mis en commun).")


def test_pooled_call_still_binds_first(world):
    call, org = _call(world, pooled=True)
    outside = factories.make_application(call, org)  # no envelope: only the call binds
    _check(outside, 7_000 * E)  # more than the envelopes' 6 000 €
    refused = _refusal(outside, 7_000 * E + 1)
    assert (refused.code, refused.fields) == (
        "budget_exceeded", {"amount_cents": ["Budget insuffisant."]})
    assert refused.message == (
        f"Budget insuffisant : 7{NNBSP}000,01{NBSP}€ demandés, 7{NNBSP}000,00{NBSP}€ "
        "disponibles sur l'appel.")


def test_envelopes_not_pooled_bind_one_by_one(world):
    call, org = _call(world, pooled=False)
    in_aix = factories.make_application(call, org, envelope_id=call.envelope("aix").id)
    _check(in_aix, 3_000 * E)
    refused = _refusal(in_aix, 3_000 * E + 1)
    assert (refused.code, refused.fields) == (
        "budget_exceeded", {"amount_cents": ["Enveloppe insuffisante."]})
    assert refused.message == (
        f"Enveloppe « Pays d'Aix » insuffisante : 3{NNBSP}000,01{NBSP}€ demandés, "
        f"3{NNBSP}000,00{NBSP}€ disponibles.")
    outside = factories.make_application(call, org)
    _check(outside, 7_000 * E)  # outside the envelopes, the call's 7 000 € are open
