"""The call's budget: what is committed, paid and still available (SPEC section 4).

A proposal holds no money. A grant commits its amount; a cancelled or closed grant
commits only what was paid (less what was repaid). ``Application.committed_cents`` is
written by the workflow effects; the sums here read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from aap.extensions import db
from aap.models import Application, Call, Decision, Payment, Repayment


@dataclass(frozen=True)
class BudgetSummary:
    budget_cents: int
    granted_cents: int
    committed_cents: int
    paid_cents: int
    repaid_cents: int

    @property
    def available_cents(self) -> int:
        return self.budget_cents - self.committed_cents

    def as_dict(self) -> dict[str, int]:
        return {
            "budget_cents": self.budget_cents,
            "granted_cents": self.granted_cents,
            "committed_cents": self.committed_cents,
            "paid_cents": self.paid_cents,
            "repaid_cents": self.repaid_cents,
            "available_cents": self.available_cents,
        }


def committed_cents(call_id: int, envelope_id: int | None = None) -> int:
    query = select(func.coalesce(func.sum(Application.committed_cents), 0)).where(
        Application.call_id == call_id
    )
    if envelope_id is not None:
        query = query.where(Application.envelope_id == envelope_id)
    return int(db.session.scalar(query) or 0)


def available_cents(call: Call, envelope_id: int | None = None) -> int:
    """What is left of the call's budget, or of an envelope's when one is given."""
    if envelope_id is None:
        return call.budget_cents - committed_cents(call.id)
    envelope = next(e for e in call.envelopes if e.id == envelope_id)
    return envelope.budget_cents - committed_cents(call.id, envelope_id)


def available_in_envelopes(call: Call) -> int:
    """With pooled leftovers, an envelope may spend what the others leave: what binds is
    the sum of the envelopes against what their applications hold."""
    held = db.session.scalar(
        select(func.coalesce(func.sum(Application.committed_cents), 0)).where(
            Application.call_id == call.id, Application.envelope_id.is_not(None))) or 0
    return sum(e.budget_cents for e in call.envelopes) - int(held)


def _sum_for_calls(column, join_on, call_ids: list[int]) -> dict[int, int]:
    rows = db.session.execute(
        select(Application.call_id, func.coalesce(func.sum(column), 0))
        .join(join_on, join_on.application_id == Application.id)
        .where(Application.call_id.in_(call_ids))
        .group_by(Application.call_id)
    )
    return {call_id: int(total) for call_id, total in rows}


def summaries(calls: list[Call]) -> dict[int, BudgetSummary]:
    """Budget figures for several calls in four queries (no N+1 on call lists)."""
    ids = [c.id for c in calls]
    if not ids:
        return {}
    committed = dict(db.session.execute(
        select(Application.call_id, func.coalesce(func.sum(Application.committed_cents), 0))
        .where(Application.call_id.in_(ids)).group_by(Application.call_id)
    ).all())
    granted = _sum_for_calls(Decision.amount_cents, Decision, ids)
    paid = _sum_for_calls(Payment.amount_cents, Payment, ids)
    repaid = _sum_for_calls(Repayment.amount_cents, Repayment, ids)
    return {
        c.id: BudgetSummary(
            budget_cents=c.budget_cents,
            granted_cents=granted.get(c.id, 0),
            committed_cents=int(committed.get(c.id, 0)),
            paid_cents=paid.get(c.id, 0),
            repaid_cents=repaid.get(c.id, 0),
        )
        for c in calls
    }


def summary(call: Call) -> BudgetSummary:
    return summaries([call])[call.id]
