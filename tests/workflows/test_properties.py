"""Property: random sequences of triggers by random actors never leave the definition,
never break the audit trail, and never commit more than the budget."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st
from sqlalchemy import func, select

from aap.extensions import db
from aap.models import Application, AuditEvent
from aap.services import audit, workflow
from aap.services.calls import set_jury
from tests.factories import make_application, make_call, path_to, trigger_data
from workflows import WorkflowError, get_workflow
from workflows.application import TERMINAL_STATES

WORKFLOW = get_workflow()
# How far each state is from a draft; hypothesis is steered towards deep walks.
DEPTH = {state: len(path_to(state)) for state in WORKFLOW.state_names}
# The property is about the machine, which is the same on both databases: explore more
# on SQLite, where an example is cheaper (PostgreSQL's locks have their own tests).
EXAMPLES = 12 if os.environ.get("TEST_DATABASE_URL", "sqlite").startswith("postgres") else 40
ACTORS = ["applicant", "foreign_applicant", "instructor", "finance", "juror", "admin"]


def _draw_step(data, state: str) -> tuple[str, str, bool]:
    """Mostly a trigger the state allows (to walk deep), sometimes any trigger."""
    available = [s.trigger for s in WORKFLOW.available(state)]
    forward = [s.trigger for s in WORKFLOW.available(state) if s.dest not in TERMINAL_STATES]
    if forward and data.draw(st.integers(0, 9), label="forward") < 8:
        available = forward
    if available and data.draw(st.integers(0, 9), label="walk") < 8:
        trigger = data.draw(st.sampled_from(available), label="trigger")
        actor = data.draw(st.sampled_from(sorted(WORKFLOW.roles_for(trigger))), label="actor")
    else:
        trigger = data.draw(st.sampled_from(WORKFLOW.triggers), label="trigger")
        actor = data.draw(st.sampled_from(ACTORS), label="actor")
    return trigger, actor, data.draw(st.integers(0, 9), label="with_data") < 8


def _transition_count(app_id: int) -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.application_id == app_id, AuditEvent.trigger.is_not(None)))


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), length=st.integers(1, 60))
def test_random_sequences_keep_the_machine_and_the_trail_consistent(world, data, length):
    call = make_call(world.fund)  # a fresh budget: each example is independent
    set_jury(call, [world.users["juror"].id, world.users["juror2"].id])
    app = make_application(call, world.org, requested_cents=20_000_00)
    deepest = 0
    for _ in range(length):
        trigger, actor_name, with_data = _draw_step(data, app.state)
        before_state, before_count = app.state, _transition_count(app.id)
        payload = trigger_data(trigger, app) if with_data else {}
        try:
            app = workflow.fire(app, trigger, world.users[actor_name], payload)
        except WorkflowError:
            db.session.rollback()
            app = db.session.get(Application, app.id, populate_existing=True)
            assert app.state == before_state
            assert _transition_count(app.id) == before_count
        else:
            assert _transition_count(app.id) == before_count + 1
        assert app.state in WORKFLOW.state_names
        deepest = max(deepest, DEPTH[app.state])
    target(float(deepest), label="transitions from draft to the deepest state reached")
    assert audit.replay(audit.trail(app.id)) == app.state
    committed = db.session.scalar(select(func.sum(Application.committed_cents)).where(
        Application.call_id == call.id)) or 0
    assert committed <= call.budget_cents
