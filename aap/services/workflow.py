"""The one entry point for state changes: lock, fire through the engine, commit.

The engine (``workflows``) checks and writes; this service owns the transaction. It
locks the call row then the application row (PostgreSQL), or holds SQLite's write lock
from the start (``BEGIN IMMEDIATE``), so budget checks and payments are atomic even with
two officers acting at the same second.
"""

from __future__ import annotations

from sqlalchemy import select

from aap.database import is_sqlite, write_transaction
from aap.extensions import db
from aap.models import Application, Call, User
from aap.services import audit
from aap.timeutil import now
from workflows import get_workflow
from workflows.application import LATER_PAYMENT_STATES
from workflows.effects import EFFECTS
from workflows.engine import Context, NotVisible, RoleNotAllowed, StateNotAllowed
from workflows.guards import GUARDS


def _locked(application_id: int) -> Application:
    """Lock the call row, then the application row, and reload both (on PostgreSQL the
    request's transaction goes on: what the guards read must be what is locked)."""
    call_query = select(Call).join(Application, Application.call_id == Call.id).where(
        Application.id == application_id)
    app_query = select(Application).where(Application.id == application_id)
    if not is_sqlite():
        call_query = call_query.with_for_update(of=Call)
        app_query = app_query.with_for_update(of=Application)
    db.session.execute(call_query.execution_options(populate_existing=True)).scalar_one()
    return db.session.execute(
        app_query.execution_options(populate_existing=True)
    ).scalar_one()


def fire(application: Application, trigger: str, actor: User, data: dict | None = None
         ) -> Application:
    """Fire ``trigger`` on the application as ``actor``; raises a WorkflowError if refused."""
    workflow = get_workflow(application.call.workflow)
    workflow.check(application, trigger, actor)  # cheap refusal before taking any lock
    application_id = application.id
    with write_transaction():
        locked = _locked(application_id)
        workflow.fire(locked, trigger, actor, data, now())
    return locked


def record_payment(application: Application, actor: User, data: dict) -> Application:
    """The first payment fires ``pay``; later ones are audited actions (no state change).

    Which of the two happens is decided under the lock, so two officers paying at the
    same second both land on the right path.
    """
    workflow = get_workflow(application.call.workflow)
    if not workflow.hooks.visible(actor, application):
        raise NotVisible("Dossier introuvable.")
    if not workflow.hooks.acts_as(actor, application, "finance"):
        raise RoleNotAllowed("Seul un agent des finances enregistre un versement.")
    application_id = application.id
    with write_transaction():
        locked = _locked(application_id)
        if workflow.spec_for("pay", locked.state):
            workflow.fire(locked, "pay", actor, data, now())
            return locked
        if locked.state not in LATER_PAYMENT_STATES:
            raise StateNotAllowed(
                f"Aucun versement possible dans l'état « {workflow.label(locked.state)} »."
            )
        ctx = Context(subject=locked, actor=actor, trigger="payment", data=dict(data),
                      now=now(), spec=workflow.spec_for("pay", "granted"))
        GUARDS["payment_valid"](ctx)
        EFFECTS["record_payment"](ctx)
        audit.record_action(locked, actor, "payment",
                            data={**data, "payment_id": ctx.values["payment_id"]})
    return locked
