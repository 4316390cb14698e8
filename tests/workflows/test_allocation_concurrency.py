"""Committing allocation runs under real concurrent connections (SPEC 5): one commit wins,
the other gets a clean 409, and no application is half-moved; a commit racing a
withdrawal leaves a coherent call. On PostgreSQL the call row is locked; on SQLite the
write transaction holds the database lock from its start."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from aap.extensions import db
from aap.models import AllocationRun, Application, AuditEvent, User
from aap.services import allocation, workflow
from tests.factories import make_user
from tests.helpers import race
from tests.services.test_allocation import E, reviewed


@pytest.fixture
def five(world):
    world.call.budget_cents = 12_000 * E
    db.session.commit()
    return [reviewed(world, 4000, p, f).id for p, f in ((5, 5), (5, 4), (4, 4), (4, 3),
                                                         (3, 3))]


def _commit_job(call_id: int, actor_id: int, seed: str, run_id: int | None = None):
    def job():
        from aap.models import Call

        call = db.session.get(Call, call_id)
        actor = db.session.get(User, actor_id)
        return allocation.commit(call, actor, seed=seed, run_id=run_id)

    return job


def _states(ids: list[int]) -> list[str]:
    db.session.rollback()
    return [db.session.get(Application, i, populate_existing=True).state for i in ids]


def test_two_commits_at_the_same_moment_one_wins(app, world, five):
    other = make_user(["instructor"])
    outcomes = race(app, [
        _commit_job(world.call.id, world.users["instructor"].id, "premier"),
        _commit_job(world.call.id, other.id, "second")])
    assert Counter(outcomes) == {"ok": 1, "nothing_to_allocate": 1}
    db.session.rollback()
    runs = db.session.scalars(select(AllocationRun)).all()
    assert len(runs) == 1 and runs[0].in_force
    # 3 x 4000 funded in full on 12 000: every row moved by the same run, none twice
    assert _states(five) == ["proposed"] * 3 + ["waitlisted"] * 2
    moved = db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.trigger.in_(["propose", "waitlist", "reject"])))
    assert moved == 5


def test_two_stored_simulations_committed_at_once(app, world, five):
    """Both were simulated on the same data; the second to get the lock finds its inputs
    changed (stale) and moves nothing."""
    instructor = world.users["instructor"]
    first = allocation.simulate(world.call, instructor, seed="a")
    second = allocation.simulate(world.call, instructor, {"overflow": "skip"}, seed="b")
    outcomes = race(app, [_commit_job(world.call.id, instructor.id, "a", first.id),
                           _commit_job(world.call.id, instructor.id, "b", second.id)])
    assert sorted(outcomes) == ["ok", "stale_run"]
    db.session.rollback()
    committed = db.session.scalars(select(AllocationRun).where(
        AllocationRun.committed.is_(True))).all()
    assert len(committed) == 1
    assert _states(five) == ["proposed"] * 3 + ["waitlisted"] * 2


def test_a_commit_racing_a_withdrawal(app, world, five):
    """Either the withdrawal lands first (the commit allocates the four others) or the
    commit does (the withdrawal then withdraws a proposed application): never both on
    the same row, and the call's proposals stay within its budget."""
    applicant_id = world.users["applicant"].id
    target = five[0]

    def withdraw():
        application = db.session.get(Application, target)
        actor = db.session.get(User, applicant_id)
        return workflow.fire(application, "withdraw", actor, {})

    outcomes = race(app, [_commit_job(world.call.id, world.users["instructor"].id, "s"),
                           withdraw])
    assert outcomes == ["ok", "ok"]
    states = _states(five)
    assert states[0] == "withdrawn"
    db.session.rollback()
    proposed = db.session.scalar(select(func.sum(Application.proposed_cents)).where(
        Application.state == "proposed")) or 0
    assert proposed <= 12_000 * E
    run = db.session.scalars(select(AllocationRun)).one()
    rows = {r.application_id for r in allocation.rows_of(run)}
    # whoever won, the run moved exactly the applications that were reviewed then
    assert rows in ({*five}, {*five[1:]})
    trail = [e.trigger for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.application_id == target)
        .order_by(AuditEvent.id)) if e.trigger]
    assert trail[-1] == "withdraw"
