"""Model → API dict. Kept apart from the views so the UI and exports can share them."""

from __future__ import annotations

from aap.models import Application, Call, Fund, Organisation, Repayment, Review, User
from aap.services import audit, calls, money, policies, scoring
from aap.services.budget import BudgetSummary
from workflows import get_workflow
from workflows.application import PHASES

DECIDED_STATES = PHASES["decided"]


def fund_out(fund: Fund) -> dict:
    return {"id": fund.id, "authority_id": fund.authority_id, "name": fund.name,
            "owner_name": fund.owner_name,
            "owner_siret": fund.owner_siret, "imputation": fund.imputation,
            "owner_product_line": fund.owner_product_line,
            "notification_ue": fund.notification_ue}


def call_out(call: Call, budget: BudgetSummary, at,
             viewer: User | None = None) -> dict:
    """The call; its jury's composition only for staff (jurors stay anonymous to
    applicants)."""
    staff = viewer is not None and policies.can_read_call(viewer, call, *policies.STAFF_ROLES)
    return {
        **calls.current_values(call),
        "id": call.id, "fund": fund_out(call.fund), "is_open": call.is_open(at),
        "juror_ids": [m.user_id for m in call.jury] if staff else [],
        "budget": budget.as_dict(),
    }


def organisation_out(org: Organisation) -> dict:
    return {k: getattr(org, k) for k in (
        "id", "name", "siret", "rna", "address", "postcode", "city", "legal_representative",
        "email", "phone", "iban", "bic")}


def user_out(user: User) -> dict:
    return {"id": user.id, "email": user.email, "name": user.name, "roles": user.roles}


def application_summary(app: Application) -> dict:
    envelope = next((e.key for e in app.call.envelopes if e.id == app.envelope_id), None)
    return {
        "id": app.id, "reference": app.reference, "state": app.state,
        "state_label": get_workflow(app.call.workflow).label(app.state),
        "call_id": app.call_id, "organisation_id": app.organisation_id,
        "organisation_name": app.organisation.name, "title": app.title, "envelope": envelope,
        "requested_cents": app.requested_cents, "proposed_cents": app.proposed_cents,
        "committed_cents": app.committed_cents, "submitted_at": app.submitted_at,
        "updated_at": app.updated_at,
    }


def _shows_score(app: Application, actor: User) -> bool:
    if policies.reads_as_staff(actor, app):
        return True
    return app.state in DECIDED_STATES


def application_out(app: Application, actor: User) -> dict:
    out = application_summary(app)
    out.update({
        "summary": app.summary, "objectives": app.objectives,
        "target_public": app.target_public, "domains": app.domains, "grounds": app.grounds,
        "territories": app.territories, "beneficiaries": app.beneficiaries,
        "starts_on": app.starts_on, "ends_on": app.ends_on, "budget": app.budget(),
        "granted_cents": app.granted_cents, "paid_cents": app.paid_cents,
        "repaid_cents": app.repaid_cents, "left_to_pay_cents": money.left_to_pay(app),
        "repayments": [repayment_out(r) for r in sorted(app.repayments, key=lambda r: r.id)],
        "completion": ({"message": app.completion_message,
                        "deadline": app.completion_deadline.isoformat()}
                       if app.completion_message else None),
    })
    if _shows_score(app, actor):
        result = scoring.application_aggregate(app)
        out["score"], out["review_count"] = result.score, result.n
        out["disagreement"] = result.flagged
    history, activity = [], []
    for event in audit.trail_for(app.id, actor):
        who = event.actor.display_name if event.actor else None
        if event.trigger:
            history.append({"trigger": event.trigger, "from_": event.from_state,
                            "to": event.to_state, "actor": who, "at": event.at,
                            "comment": event.comment})
        else:
            activity.append({"action": event.action, "actor": who, "at": event.at,
                             "comment": event.comment, "data": event.data})
    out["history"], out["activity"] = history, activity
    workflow = get_workflow(app.call.workflow)
    out["available_triggers"] = [s.trigger for s in workflow.allowed_for(actor, app)]
    return out


def repayment_out(repayment: Repayment) -> dict:
    return {"id": repayment.id, "application_id": repayment.application_id,
            "amount_cents": repayment.amount_cents, "reason": repayment.reason,
            "reference": repayment.reference, "claimed_on": repayment.claimed_on,
            "received_on": repayment.received_on}


def review_out(review: Review) -> dict:
    return {
        "id": review.id, "juror_id": review.juror_id, "juror": review.juror.display_name,
        "conflict": review.conflict,
        "scores": {s.criterion_key: str(s.score) for s in review.scores},
        "comments": {s.criterion_key: s.comment for s in review.scores if s.comment},
        "comment": review.comment, "total": review.total, "submitted": review.submitted,
        "submitted_at": review.submitted_at,
    }
