"""The money figures of calls, envelopes and applications, defined once (SPEC 4 and 6).

Every page, export and API answer that shows one of these figures takes it from here.
All amounts are integer cents.

- **budget**: the call's annual envelope (``Call.budget_cents``), or a sub-envelope's own
  amount (``Envelope.budget_cents``).
- **proposed**: what the applications awaiting the decision (state ``proposed``) are
  proposed for, by the jury or an allocation run. A proposal holds no money: it is not
  committed and does not reduce what is available.
- **granted**: the sum of the decisions' amounts, what the deliberations granted, including
  grants later cancelled or closed for less (the deliberation still granted them).
- **committed**: what the grants hold of the budget. A grant commits its amount from
  ``grant`` on; a cancelled grant commits only what was paid (its unpaid part is freed);
  a closed grant commits what was paid less what was claimed back. Nothing is committed
  before the grant (a proposal or a withdrawal holds nothing). A repayment claimed on a
  cancelled or closed grant frees what it claims at once; one claimed while the grant is
  still open (after an approved report) is freed when ``close`` settles it. The workflow
  effects and the repayment service keep ``Application.committed_cents`` to this rule;
  the sums here read it.
- **paid**: the sum of the payments (*versements*).
- **repaid**: the sum of the repayments claimed (*titres de recette*), received or not:
  money claimed back because it was not used or not justified. **outstanding**: the part
  of it not received yet.
- **left to pay**: what the grants still owe: for each application, committed − paid,
  never negative; summed over the applications (a closed or cancelled grant, which
  commits at most what was paid, owes nothing, and its repayment never lowers what the
  other grants are owed).
- **available**: budget − committed. It is never negative for a call (the grant checks it
  atomically). An envelope's may be, when a call pools its envelopes' leftovers and an
  envelope spent what the others left.

A worked example (see ``tests/services/test_money_figures.py``), a call of 100 000 €:
A granted 30 000 €, 24 000 € paid; B granted 20 000 €, 10 000 € paid then cancelled;
C proposed 15 000 €; D granted 10 000 €, paid in full, 1 000 € claimed back at close.
Then granted = 60 000, committed = 30 000 + 10 000 + 9 000 = 49 000, paid = 44 000,
repaid = 1 000, left to pay = 6 000 (A's only), available = 51 000, proposed = 15 000.

For lists, :func:`for_calls` and :func:`for_envelopes` cost one query whatever the number
of calls and applications.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from sqlalchemy import case, func, select

from aap.extensions import db
from aap.models import Application, Call, Decision, Envelope, Payment, Repayment

#: Applications awaiting the decision: their proposed amount is the "proposed" figure.
PROPOSED_STATE = "proposed"


@dataclass(frozen=True)
class Figures:
    """The money figures of a call or an envelope (see the module's definitions)."""

    budget_cents: int
    proposed_cents: int = 0
    granted_cents: int = 0
    committed_cents: int = 0
    paid_cents: int = 0
    repaid_cents: int = 0
    outstanding_cents: int = 0
    left_to_pay_cents: int = 0

    @property
    def available_cents(self) -> int:
        return self.budget_cents - self.committed_cents

    def as_dict(self) -> dict[str, int]:
        """The figures of a call in the API (``budget`` of ``GET /calls/{id}``)."""
        return {
            "budget_cents": self.budget_cents,
            "proposed_cents": self.proposed_cents,
            "granted_cents": self.granted_cents,
            "committed_cents": self.committed_cents,
            "paid_cents": self.paid_cents,
            "repaid_cents": self.repaid_cents,
            "left_to_pay_cents": self.left_to_pay_cents,
            "available_cents": self.available_cents,
        }

    def plus(self, other: Figures) -> Figures:
        """The sum of two sets of figures (a year's total over its calls)."""
        return Figures(**{name: getattr(self, name) + getattr(other, name)
                          for name in self.__dataclass_fields__})


# -- one application ---------------------------------------------------------------------

def left_to_pay(app: Application) -> int:
    """What the application's grant still owes: committed − paid, never negative."""
    return max(app.committed_cents - app.paid_cents, 0)


def outstanding(app: Application) -> int:
    """Repayments claimed from the application and not received yet."""
    return sum(r.amount_cents for r in app.repayments if r.received_on is None)


def application_figures(app: Application) -> Figures:
    """The figures of one application, read from its loaded decision, payments and
    repayments (load them with ``selectinload`` for a list); its budget is its grant."""
    return Figures(
        budget_cents=app.granted_cents,
        proposed_cents=app.proposed_cents if app.state == PROPOSED_STATE else 0,
        granted_cents=app.granted_cents, committed_cents=app.committed_cents,
        paid_cents=app.paid_cents, repaid_cents=app.repaid_cents,
        outstanding_cents=outstanding(app), left_to_pay_cents=left_to_pay(app))


# -- sums ----------------------------------------------------------------------------------

def _sums(call_ids: list[int], by_envelope: bool) -> dict[tuple, Figures]:
    """The sums per call (or per call and envelope), in one query: each application's
    paid and repaid amounts come from grouped subqueries, so that "left to pay" is clamped
    per application before it is summed."""
    paid = (select(Payment.application_id, func.sum(Payment.amount_cents).label("cents"))
            .group_by(Payment.application_id).subquery())
    repaid = (select(Repayment.application_id,
                     func.sum(Repayment.amount_cents).label("cents"),
                     func.sum(case((Repayment.received_on.is_(None), Repayment.amount_cents),
                                   else_=0)).label("outstanding"))
              .group_by(Repayment.application_id).subquery())
    paid_cents = func.coalesce(paid.c.cents, 0)
    keys = [Application.call_id] + ([Application.envelope_id] if by_envelope else [])
    query = (
        select(
            *keys,
            func.sum(case((Application.state == PROPOSED_STATE, Application.proposed_cents),
                          else_=0)),
            func.sum(func.coalesce(Decision.amount_cents, 0)),
            func.sum(Application.committed_cents),
            func.sum(paid_cents),
            func.sum(func.coalesce(repaid.c.cents, 0)),
            func.sum(func.coalesce(repaid.c.outstanding, 0)),
            func.sum(case((Application.committed_cents > paid_cents,
                           Application.committed_cents - paid_cents), else_=0)),
        )
        .outerjoin(Decision, Decision.application_id == Application.id)
        .outerjoin(paid, paid.c.application_id == Application.id)
        .outerjoin(repaid, repaid.c.application_id == Application.id)
        .where(Application.call_id.in_(call_ids))
        .group_by(*keys)
    )
    out: dict[tuple, Figures] = {}
    for row in db.session.execute(query):
        key, values = tuple(row[:len(keys)]), [int(v or 0) for v in row[len(keys):]]
        out[key] = Figures(0, *values)  # the budget is set by the caller
    return out


def for_calls(calls: Iterable[Call]) -> dict[int, Figures]:
    """The figures of each call, by call id, in one query whatever the number of calls."""
    calls = list(calls)
    if not calls:
        return {}
    sums = _sums([c.id for c in calls], by_envelope=False)
    return {c.id: _with_budget(sums.get((c.id,)), c.budget_cents) for c in calls}


def for_call(call: Call) -> Figures:
    return for_calls([call])[call.id]


def for_envelopes(calls: Iterable[Call]) -> dict[int, Figures]:
    """The figures of each envelope of the calls, by envelope id, in two queries (the
    envelopes, the sums). Applications outside any envelope are in their call's figures
    only."""
    calls = list(calls)
    if not calls:
        return {}
    ids = [c.id for c in calls]
    envelopes = db.session.execute(
        select(Envelope.id, Envelope.call_id, Envelope.budget_cents)
        .where(Envelope.call_id.in_(ids))).all()
    sums = _sums(ids, by_envelope=True)
    return {e.id: _with_budget(sums.get((e.call_id, e.id)), e.budget_cents)
            for e in envelopes}


def total(figures: Iterable[Figures]) -> Figures:
    """The sum of several calls' figures (a fiscal year's)."""
    out = Figures(0)
    for item in figures:
        out = out.plus(item)
    return out


def _with_budget(sums: Figures | None, budget_cents: int) -> Figures:
    return Figures(budget_cents) if sums is None else replace(sums, budget_cents=budget_cents)


# -- what the grant checks ---------------------------------------------------------------

def committed_cents(call_id: int, envelope_id: int | None = None) -> int:
    """What the call's grants (or one envelope's) hold of its budget, read in the caller's
    transaction (the grant's atomic check runs under the call lock)."""
    query = select(func.coalesce(func.sum(Application.committed_cents), 0)).where(
        Application.call_id == call_id)
    if envelope_id is not None:
        query = query.where(Application.envelope_id == envelope_id)
    return int(db.session.scalar(query) or 0)


def available_cents(call: Call, envelope_id: int | None = None) -> int:
    """available = budget − committed, for the call or for one of its envelopes."""
    if envelope_id is None:
        return call.budget_cents - committed_cents(call.id)
    envelope = next(e for e in call.envelopes if e.id == envelope_id)
    return envelope.budget_cents - committed_cents(call.id, envelope_id)


def available_in_envelopes(call: Call) -> int:
    """With pooled leftovers, an envelope may spend what the others leave: what binds is
    the sum of the envelopes' budgets against what their applications hold."""
    held = db.session.scalar(
        select(func.coalesce(func.sum(Application.committed_cents), 0)).where(
            Application.call_id == call.id, Application.envelope_id.is_not(None))) or 0
    return sum(e.budget_cents for e in call.envelopes) - int(held)
