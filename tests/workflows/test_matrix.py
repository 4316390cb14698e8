"""Generated from the workflow definition: every (state, trigger, role) combination.

Allowed combinations succeed and write exactly one audit event; every other one is
refused with the error SPEC section 4 assigns to the first failing check, and writes
nothing (no state change, no audit event, no notification).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from aap.extensions import db
from aap.models import AuditEvent, Notification
from aap.services import workflow
from tests.factories import path_to, trigger_data
from workflows import (
    NotVisible,
    RoleNotAllowed,
    StateNotAllowed,
    UnknownTrigger,
    get_workflow,
)

WORKFLOW = get_workflow()
ROLES = ["applicant", "instructor", "finance", "juror", "admin"]
TRIGGERS = [*WORKFLOW.triggers, "launch_rocket"]


def _visible(role: str, state: str) -> bool:
    """Members always; staff once submitted; jurors once assigned (at open_review)."""
    if role == "applicant":
        return True
    if role == "juror":
        return "open_review" in path_to(state)
    return state != "draft"


def expected_outcome(state: str, trigger: str, role: str):
    """What SPEC section 4 says should happen, computed from the definition's data."""
    if not _visible(role, state):
        return NotVisible
    if trigger not in WORKFLOW.triggers:
        return UnknownTrigger
    if role not in WORKFLOW.roles_for(trigger):
        return RoleNotAllowed
    spec = WORKFLOW.spec_for(trigger, state)
    if spec is None:
        return StateNotAllowed
    return spec.dest


def _counts(app_id: int) -> tuple[int, int]:
    events = db.session.scalar(
        select(func.count(AuditEvent.id)).where(AuditEvent.application_id == app_id))
    mails = db.session.scalar(select(func.count(Notification.id)))
    return events, mails


@pytest.mark.parametrize("state", WORKFLOW.state_names)
def test_every_trigger_and_role_from_state(world, state):
    app = world.bring_to(world.application(), state)
    successes = []
    for trigger in TRIGGERS:
        for role in ROLES:
            outcome = expected_outcome(state, trigger, role)
            if isinstance(outcome, str):
                successes.append((trigger, role, outcome))
                continue
            before = _counts(app.id)
            with pytest.raises(outcome):
                workflow.fire(app, trigger, world.actor_for(role), trigger_data(trigger, app))
            db.session.rollback()
            db.session.refresh(app)
            assert app.state == state, (trigger, role)
            assert _counts(app.id) == before, (trigger, role)

    for trigger, role, dest in successes:
        fresh = world.bring_to(world.application(), state)
        before_events, _ = _counts(fresh.id)
        fired = workflow.fire(fresh, trigger, world.actor_for(role),
                              trigger_data(trigger, fresh))
        assert fired.state == dest
        new_events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.application_id == fresh.id)
            .order_by(AuditEvent.id).offset(before_events)).all()
        assert [(e.trigger, e.from_state, e.to_state) for e in new_events] == [
            (trigger, state, dest)]


@pytest.mark.parametrize("state", ["draft", "submitted", "granted", "in_progress"])
@pytest.mark.parametrize("outsider", ["foreign_applicant", "outside_juror"])
def test_outsiders_never_see_the_application(world, state, outsider):
    app = world.bring_to(world.application(), state)
    for trigger in WORKFLOW.triggers:
        with pytest.raises(NotVisible):
            workflow.fire(app, trigger, world.users[outsider], trigger_data(trigger, app))


def test_every_state_is_reachable_and_every_notification_has_a_template(app):
    templates = set(app.jinja_env.list_templates(filter_func=lambda n: n.startswith("mail/")))
    for state in WORKFLOW.state_names:
        path_to(state)
    for spec in WORKFLOW.specs:
        for audience in spec.notify:
            assert {f"mail/{spec.trigger}.{audience}.txt", f"mail/{spec.trigger}.txt"} & templates


def test_machine_has_no_automatic_transitions():
    assert not any(t.startswith("to_") for t in WORKFLOW.machine.events)
    assert set(WORKFLOW.machine.events) == set(WORKFLOW.triggers)
