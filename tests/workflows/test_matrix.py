"""The workflow against SPEC section 4, written out here as an independent oracle.

``SPEC_TABLE`` is SPEC section 4's table, copied by hand (not read from
``workflows/application.py``): one row per (from, trigger, to, roles). The engine's
definition is compared with it both ways, then every (state, trigger, role) is fired
through the real engine and must succeed or be refused with the error of the first
failing check in SPEC's order (404 not visible, 404 unknown trigger, 403 role, 409
state). A refusal writes nothing (no state change, no audit event, no notification).
"""

from __future__ import annotations

from collections import deque

import pytest
from sqlalchemy import func, select

from aap.extensions import db
from aap.models import AuditEvent, Notification
from aap.services import workflow
from tests.factories import trigger_data
from workflows import (
    NotVisible,
    RoleNotAllowed,
    StateNotAllowed,
    UnknownTrigger,
    get_workflow,
)

APPLICANT, INSTRUCTOR, FINANCE = "applicant", "instructor", "finance"

# SPEC section 4, row by row and in its order. "a / b" cells are split into one row each;
# the two ranges ("draft … proposed", "granted … in_progress") are expanded below.
SPEC_TABLE: list[tuple[str, str, str, set[str]]] = [
    ("draft", "submit", "submitted", {APPLICANT}),
    ("submitted", "request_completion", "incomplete", {INSTRUCTOR}),
    ("incomplete", "resubmit", "submitted", {APPLICANT}),
    ("submitted", "declare_ineligible", "ineligible", {INSTRUCTOR}),
    ("submitted", "declare_eligible", "eligible", {INSTRUCTOR}),
    ("eligible", "open_review", "in_review", {INSTRUCTOR}),
    ("in_review", "close_review", "reviewed", {INSTRUCTOR}),
    ("reviewed", "propose", "proposed", {INSTRUCTOR}),
    ("reviewed", "waitlist", "waitlisted", {INSTRUCTOR}),
    ("reviewed", "reject", "rejected", {INSTRUCTOR}),
    ("waitlisted", "promote", "proposed", {INSTRUCTOR}),
    ("proposed", "grant", "granted", {INSTRUCTOR}),
    ("proposed", "reject", "rejected", {INSTRUCTOR}),
    ("granted", "sign_convention", "contracted", {INSTRUCTOR}),
    ("granted", "pay", "in_progress", {FINANCE}),
    ("contracted", "pay", "in_progress", {FINANCE}),
    ("in_progress", "submit_report", "report_submitted", {APPLICANT}),
    ("report_submitted", "request_report_changes", "in_progress", {INSTRUCTOR}),
    ("report_submitted", "approve_report", "report_approved", {INSTRUCTOR}),
    ("report_approved", "close", "closed", {FINANCE}),
]

# The "from" column of the table, in SPEC's order: draft, submitted, incomplete, eligible,
# in_review, reviewed, waitlisted, proposed, granted, contracted, in_progress, ...
SPEC_ORDER = list(dict.fromkeys(row[0] for row in SPEC_TABLE))


def _span(first: str, last: str) -> list[str]:
    return SPEC_ORDER[SPEC_ORDER.index(first):SPEC_ORDER.index(last) + 1]


WITHDRAWABLE = _span("draft", "proposed")
CANCELLABLE = _span("granted", "in_progress")
# Hand check of the expansion (the ranges hold live states only: ineligible and rejected
# are decisions, never "before the decision").
assert WITHDRAWABLE == ["draft", "submitted", "incomplete", "eligible", "in_review",
                        "reviewed", "waitlisted", "proposed"]
assert CANCELLABLE == ["granted", "contracted", "in_progress"]

ORACLE: list[tuple[str, str, str, frozenset[str]]] = [
    *((src, trig, dest, frozenset(roles)) for src, trig, dest, roles in SPEC_TABLE),
    *((src, "withdraw", "withdrawn", frozenset({APPLICANT})) for src in WITHDRAWABLE),
    *((src, "cancel", "cancelled", frozenset({INSTRUCTOR})) for src in CANCELLABLE),
]

# Variants the product adds to SPEC's minimum ("variants may add stages"), each documented
# in docs/architecture.md's diagram:
# - a waitlisted application can be refused without first being promoted: when the year's
#   budget is spent, or a new committed allocation run rejects a row it had waitlisted,
#   the applicant must get a decision, and a waitlist is not one.
ENGINE_EXTRAS: list[tuple[str, str, str, frozenset[str]]] = [
    ("waitlisted", "reject", "rejected", frozenset({INSTRUCTOR})),
]

EXPECTED = ORACLE + ENGINE_EXTRAS
STATES = sorted({s for row in EXPECTED for s in (row[0], row[2])})
TRIGGERS = sorted({row[1] for row in EXPECTED})
ROLES_OF = {t: frozenset().union(*(r[3] for r in EXPECTED if r[1] == t)) for t in TRIGGERS}
DEST = {(src, trig): dest for src, trig, dest, _ in EXPECTED}
ROLES = ["applicant", "instructor", "finance", "juror", "admin"]
UNKNOWN = "launch_rocket"

WORKFLOW = get_workflow()


def _engine_rows() -> list[tuple[str, str, str, frozenset[str]]]:
    return [(src, spec.trigger, spec.dest, frozenset(spec.roles))
            for spec in WORKFLOW.specs for src in spec.source]


def test_the_definition_has_the_states_of_spec():
    assert set(WORKFLOW.state_names) == set(STATES)
    assert WORKFLOW.initial == "draft"
    assert set(WORKFLOW.triggers) == set(TRIGGERS)


@pytest.mark.parametrize("row", ORACLE, ids=lambda r: f"{r[0]}-{r[1]}")
def test_every_spec_row_is_in_the_engine(row):
    src, trigger, dest, roles = row
    found = [r for r in _engine_rows() if r[0] == src and r[1] == trigger]
    assert found == [(src, trigger, dest, roles)]


def test_every_engine_transition_is_in_spec_or_a_listed_variant():
    unexpected = sorted(set(_engine_rows()) - set(EXPECTED), key=str)
    assert unexpected == []
    # and the listed variants are really in the engine (no stale excuse)
    assert set(ENGINE_EXTRAS) <= set(_engine_rows())


# -- driving the real engine ----------------------------------------------------------

def _oracle_path(target: str) -> list[tuple[str, str]]:
    """The shortest (trigger, role) path from draft to ``target`` in the oracle."""
    queue: deque[tuple[str, list[tuple[str, str]]]] = deque([("draft", [])])
    seen = {"draft"}
    while queue:
        state, path = queue.popleft()
        if state == target:
            return path
        for src, trigger, dest, roles in EXPECTED:
            if src == state and dest not in seen:
                seen.add(dest)
                queue.append((dest, [*path, (trigger, sorted(roles)[0])]))
    raise AssertionError(f"{target} unreachable in SPEC's table")


def _bring_to(world, state: str):
    app = world.application()
    for trigger, role in _oracle_path(state):
        app = workflow.fire(app, trigger, world.actor_for(role), trigger_data(trigger, app))
    assert app.state == state
    return app


def _visible(role: str, state: str) -> bool:
    """Members see their applications; staff once submitted (a draft is the applicant's
    own work); the call's jurors once assigned, which ``open_review`` does."""
    if role == "applicant":
        return True
    if role == "juror":
        return "open_review" in [t for t, _ in _oracle_path(state)]
    return state != "draft"


def expected_outcome(state: str, trigger: str, role: str):
    """SPEC section 4's order of checks, on the oracle."""
    if not _visible(role, state):
        return NotVisible
    if trigger not in TRIGGERS:
        return UnknownTrigger
    if role not in ROLES_OF[trigger]:
        return RoleNotAllowed
    if (state, trigger) not in DEST:
        return StateNotAllowed
    return DEST[(state, trigger)]


def test_hand_checked_outcomes_of_the_oracle():
    """A few cells worked out by hand from SPEC, so the oracle's logic is itself checked."""
    assert expected_outcome("report_submitted", "cancel", "instructor") is StateNotAllowed
    assert expected_outcome("report_approved", "close", "instructor") is RoleNotAllowed
    assert expected_outcome("waitlisted", "promote", "finance") is RoleNotAllowed
    assert expected_outcome("draft", "submit", "instructor") is NotVisible
    assert expected_outcome("submitted", "submit", "juror") is NotVisible
    assert expected_outcome("in_review", UNKNOWN, "juror") is UnknownTrigger
    assert expected_outcome("in_review", "close_review", "juror") is RoleNotAllowed
    assert expected_outcome("closed", "withdraw", "applicant") is StateNotAllowed
    assert expected_outcome("proposed", "withdraw", "applicant") == "withdrawn"
    assert expected_outcome("contracted", "pay", "finance") == "in_progress"


def _counts(app_id: int) -> tuple[int, int]:
    events = db.session.scalar(
        select(func.count(AuditEvent.id)).where(AuditEvent.application_id == app_id))
    mails = db.session.scalar(select(func.count(Notification.id)))
    return events, mails


@pytest.mark.parametrize("state", STATES)
def test_every_trigger_and_role_from_state(world, state):
    app = _bring_to(world, state)
    successes = []
    for trigger in [*TRIGGERS, UNKNOWN]:
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

    assert len(successes) == sum(1 for src, *_ in EXPECTED if src == state)
    for trigger, role, dest in successes:
        fresh = _bring_to(world, state)
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
    app = _bring_to(world, state)
    for trigger in TRIGGERS:
        with pytest.raises(NotVisible):
            workflow.fire(app, trigger, world.users[outsider], trigger_data(trigger, app))


def test_every_notification_has_a_template(app):
    templates = set(app.jinja_env.list_templates(filter_func=lambda n: n.startswith("mail/")))
    for spec in WORKFLOW.specs:
        for audience in spec.notify:
            assert {f"mail/{spec.trigger}.{audience}.txt", f"mail/{spec.trigger}.txt"} & templates


def test_machine_has_no_automatic_transitions():
    assert not any(t.startswith("to_") for t in WORKFLOW.machine.events)
    assert set(WORKFLOW.machine.events) == set(TRIGGERS)
