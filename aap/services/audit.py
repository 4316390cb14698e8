"""The audit trail: append-only events, per application, in order."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from aap.extensions import db
from aap.models import Application, AuditEvent
from aap.timeutil import now


def json_safe(data: Any) -> Any:
    """Dates, decimals and the like as strings, so the data fits a JSON column."""
    return json.loads(json.dumps(data, default=str))


def record_action(application: Application, actor, action: str, *, comment: str | None = None,
                  data: dict | None = None) -> AuditEvent:
    """An audited action that does not change the state (edit, payment, review, upload)."""
    event = AuditEvent(
        at=now(), actor_id=getattr(actor, "id", None), object_type="application",
        object_id=application.id, application_id=application.id, action=action,
        comment=comment or None, data=json_safe(data or {}),
    )
    db.session.add(event)
    return event


def record_call_action(call, actor, action: str, *, data: dict | None = None
                       ) -> AuditEvent:
    """An audited action on a whole call (an allocation committed, a deliberation)."""
    event = AuditEvent(at=now(), actor_id=getattr(actor, "id", None), object_type="call",
                       object_id=call.id, action=action, data=json_safe(data or {}))
    db.session.add(event)
    return event


def record_transition(application: Application, actor, trigger: str, from_state: str,
                      to_state: str, *, comment: str | None, data: dict) -> AuditEvent:
    event = AuditEvent(
        at=now(), actor_id=getattr(actor, "id", None), object_type="application",
        object_id=application.id, application_id=application.id, action="transition",
        trigger=trigger, from_state=from_state, to_state=to_state, comment=comment or None,
        data=json_safe(data),
    )
    db.session.add(event)
    return event


def trail(application_id: int) -> list[AuditEvent]:
    return list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.application_id == application_id)
        .order_by(AuditEvent.at, AuditEvent.id)
    ))


# The jury's work is confidential: who reviewed, their totals, conflicts and assignments
# are shown to staff only (SPEC 5: jurors do not see each other's scores; applicants
# never learn who reviewed them).
JURY_ACTIONS = frozenset({"review_submitted", "conflict_declared", "conflict_recorded",
                          "jury_assigned"})


def trail_for(application_id: int, viewer) -> list[AuditEvent]:
    """The trail as ``viewer`` may read it: all of it for staff, without the jury's work
    for applicants and jurors."""
    from aap.services import policies

    events = trail(application_id)
    if viewer is not None and viewer.has_role(*policies.STAFF_ROLES):
        application = db.session.get(Application, application_id)
        if application is not None and policies.reads_as_staff(viewer, application):
            return events
    return [e for e in events if e.trigger or e.action not in JURY_ACTIONS]


def replay(events: list[AuditEvent], initial: str = "draft") -> str:
    """The state the transitions of a trail lead to; raises if the trail is broken."""
    state = initial
    for event in events:
        if event.trigger is None:
            continue
        if event.from_state != state:
            raise ValueError(f"event {event.id}: from {event.from_state}, expected {state}")
        state = event.to_state
    return state
