"""Binds the application workflow to the database: policies, guards, effects, audit and
the outbox. This is the only code that assigns ``Application.state``."""

from __future__ import annotations

from collections.abc import Iterable

from aap.services import audit, notifications, policies
from workflows.effects import EFFECTS
from workflows.engine import Context, Hooks
from workflows.guards import GUARDS


class ApplicationHooks(Hooks):
    guards = GUARDS
    effects = EFFECTS

    def visible(self, actor, subject) -> bool:
        return policies.can_see_application(actor, subject)

    def acts_as(self, actor, subject, role: str) -> bool:
        return policies.acts_as(actor, subject, role)

    def write_state(self, subject, state: str) -> None:
        subject.state = state

    def record(self, ctx: Context, from_state: str) -> None:
        data = {k: v for k, v in ctx.data.items() if k != "comment"}
        if "payment_id" in ctx.values:
            data["payment_id"] = ctx.values["payment_id"]
        if "missing_reviews" in ctx.values:
            data["missing_reviews"] = ctx.values["missing_reviews"]
        audit.record_transition(ctx.subject, ctx.actor, ctx.trigger, from_state,
                                ctx.subject.state, comment=ctx.comment, data=data)

    def notify(self, ctx: Context, audiences: Iterable[str]) -> None:
        notifications.notify_transition(ctx.subject, ctx.trigger, audiences, ctx=ctx,
                                        actor=ctx.actor, comment=ctx.comment,
                                        values=ctx.values)
