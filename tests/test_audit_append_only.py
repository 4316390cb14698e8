"""The audit trail is append-only (SPEC 4: no state change without its audit event): the
ORM refuses to update or delete an AuditEvent, and the event is left as it was."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from aap.extensions import db
from aap.models import AuditEvent


def _event(world) -> AuditEvent:
    app = world.fire(world.application(), "submit")
    return db.session.scalars(select(AuditEvent).where(
        AuditEvent.application_id == app.id, AuditEvent.trigger == "submit")).one()


def test_an_audit_event_cannot_be_updated(world):
    event = _event(world)
    event_id, comment = event.id, event.comment
    event.to_state = "granted"
    event.comment = "réécrit"
    with pytest.raises(ValueError, match=f"audit event {event_id} is append-only"):
        db.session.commit()
    db.session.rollback()
    kept = db.session.get(AuditEvent, event_id, populate_existing=True)
    assert (kept.trigger, kept.from_state, kept.to_state, kept.comment) == (
        "submit", "draft", "submitted", comment)


def test_an_audit_event_cannot_be_deleted(world):
    event = _event(world)
    event_id = event.id
    db.session.delete(event)
    with pytest.raises(ValueError, match=f"audit event {event_id} is append-only"):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(AuditEvent, event_id) is not None
    assert db.session.scalar(select(AuditEvent.to_state).where(
        AuditEvent.id == event_id)) == "submitted"


def test_new_events_are_still_appended(world):
    app = world.fire(world.application(), "submit")
    app = world.fire(app, "declare_eligible")
    triggers = db.session.scalars(select(AuditEvent.trigger).where(
        AuditEvent.application_id == app.id).order_by(AuditEvent.id)).all()
    assert triggers == ["submit", "declare_eligible"]
