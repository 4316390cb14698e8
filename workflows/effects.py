"""Named effects of the application workflow: what a transition writes besides the state.

They run inside the engine's transaction, after the guards; they never commit.
"""

from __future__ import annotations

from collections.abc import Callable

from aap.extensions import db
from aap.models import Convention, Decision, Payment, Report, ReportLine, Review
from aap.services import repayments
from aap.services.references import next_reference
from workflows.engine import Context

EFFECTS: dict[str, Callable[[Context], None]] = {}


def effect(func: Callable[[Context], None]) -> Callable[[Context], None]:
    EFFECTS[func.__name__] = func
    return func


def _actor_id(ctx: Context) -> int | None:
    return getattr(ctx.actor, "id", None)


@effect
def assign_reference(ctx: Context) -> None:
    app = ctx.subject
    if not app.reference:
        app.reference = next_reference(app.call.fiscal_year)


@effect
def stamp_submission(ctx: Context) -> None:
    ctx.subject.submitted_at = ctx.now


@effect
def open_completion(ctx: Context) -> None:
    ctx.subject.completion_message = ctx.comment
    ctx.subject.completion_deadline = ctx.values["deadline"]


@effect
def close_completion(ctx: Context) -> None:
    ctx.subject.completion_message = None
    ctx.subject.completion_deadline = None


@effect
def assign_jury(ctx: Context) -> None:
    """Assign the call's whole jury unless jurors were already assigned one by one. A
    known conflict recorded beforehand is no assignment: that juror stays recused and the
    rest of the jury is assigned."""
    app = ctx.subject
    if any(not r.conflict for r in app.reviews):
        return
    recused = {r.juror_id for r in app.reviews}
    for member in app.call.jury:
        if member.user_id not in recused:
            db.session.add(Review(application_id=app.id, juror_id=member.user_id))


@effect
def set_proposed(ctx: Context) -> None:
    ctx.subject.proposed_cents = ctx.values["amount"]


@effect
def clear_proposed(ctx: Context) -> None:
    ctx.subject.proposed_cents = 0


@effect
def record_decision(ctx: Context) -> None:
    app = ctx.subject
    amount = ctx.values["amount"]
    db.session.add(Decision(application=app, amount_cents=amount,
                            created_by_id=_actor_id(ctx), **ctx.values["decision"]))
    app.committed_cents = amount


@effect
def record_convention(ctx: Context) -> None:
    db.session.add(Convention(application=ctx.subject, **ctx.values["convention"]))


@effect
def record_payment(ctx: Context) -> None:
    payment = Payment(application=ctx.subject, created_by_id=_actor_id(ctx),
                      **ctx.values["payment"])
    db.session.add(payment)
    db.session.flush()
    ctx.values["payment_id"] = payment.id


@effect
def record_report(ctx: Context) -> None:
    app, values = ctx.subject, ctx.values["report"]
    report = app.report or Report(application=app)
    report.narrative = values["narrative"]
    report.gap_explanation = values["gap_explanation"]
    report.beneficiaries_reached = values["beneficiaries_reached"]
    report.submitted_at = ctx.now
    report.submitted_by_id = _actor_id(ctx)
    # Update lines in place: replacing them would INSERT the new ones before DELETING the
    # old (unit of work order) and break the unique (report, side, code) on a resubmission.
    wanted = {(side, code): cents for side, lines in values["realised"].items()
              for code, cents in lines.items()}
    existing = {(line.side, line.code): line for line in report.lines}
    for key, line in existing.items():
        if key not in wanted:
            report.lines.remove(line)
    for (side, code), cents in wanted.items():
        if (side, code) in existing:
            existing[side, code].amount_cents = cents
        else:
            report.lines.append(ReportLine(side=side, code=code, amount_cents=cents))
    db.session.add(report)


def _commit_only_spent(app) -> None:
    app.committed_cents = max(app.paid_cents - app.repaid_cents, 0)


@effect
def settle_balance(ctx: Context) -> None:
    """``close``: a repayment claimed with it is recorded as any claim (row, audit, mail);
    the grant then commits only what was paid less what was claimed back."""
    app = ctx.subject
    if "repayment" in ctx.values:
        repayments.record_claim(app, ctx.actor, ctx.values["repayment"])
    _commit_only_spent(app)


@effect
def free_unpaid(ctx: Context) -> None:
    _commit_only_spent(ctx.subject)
