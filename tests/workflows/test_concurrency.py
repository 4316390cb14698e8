"""Money-critical changes under real concurrent connections (threads, one session each).

On PostgreSQL the call and application rows are locked (``FOR UPDATE``); on SQLite the
write transaction starts with ``BEGIN IMMEDIATE``. Either way the budget is never
exceeded, a payment never exceeds the grant, and a double submission submits once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from sqlalchemy import func, select

from aap.extensions import db
from aap.models import Application, Payment
from aap.services import audit, workflow
from tests.factories import make_user, trigger_data
from tests.helpers import race


def _grant_job(app_id: int, actor_id: int) -> Callable[[], object]:
    def job():
        from aap.models import User

        application = db.session.get(Application, app_id)
        actor = db.session.get(User, actor_id)
        return workflow.fire(application, "grant", actor, trigger_data("grant", application))

    return job


def test_concurrent_grants_never_exceed_the_budget(app, world):
    # 8 proposals of 30 000 € on a 100 000 € budget, granted by 4 instructors at once.
    instructors = [world.users["instructor"]] + [make_user(["instructor"]) for _ in range(3)]
    world.call.max_request_cents = 30_000_00
    db.session.commit()
    ids = [world.bring_to(world.application(requested_cents=30_000_00), "proposed").id
           for _ in range(8)]
    outcomes = race(app, [_grant_job(app_id, instructors[i % 4].id)
                           for i, app_id in enumerate(ids)])
    assert Counter(outcomes) == {"ok": 3, "budget_exceeded": 5}
    db.session.rollback()  # end this session's snapshot to see the threads' commits
    committed = db.session.scalar(select(func.sum(Application.committed_cents)))
    assert committed == 90_000_00 <= world.call.budget_cents


def test_concurrent_payments_never_exceed_the_grant(app, world):
    """Four officers pay 4 000 € at once on a 10 000 € grant: two payments fit."""
    granted = world.bring_to(world.application(requested_cents=10_000_00), "granted")
    officers = [world.users["finance"]] + [make_user(["finance"]) for _ in range(3)]
    data = {"kind": "instalment", "amount_cents": 4_000_00, "paid_on": "2026-12-01"}

    def pay(actor_id: int) -> Callable[[], object]:
        def job():
            from aap.models import User

            return workflow.record_payment(db.session.get(Application, granted.id),
                                           db.session.get(User, actor_id), dict(data))

        return job

    outcomes = race(app, [pay(o.id) for o in officers])
    assert Counter(outcomes) == {"ok": 2, "overpayment": 2}
    db.session.rollback()
    paid = db.session.scalar(select(func.sum(Payment.amount_cents)).where(
        Payment.application_id == granted.id))
    assert paid == 8_000_00
    assert db.session.get(Application, granted.id).state == "in_progress"
    actions = [e.trigger or e.action for e in audit.trail(granted.id)][-2:]
    assert actions == ["pay", "payment"]


def test_a_double_submission_submits_once(app, world):
    draft = world.application()
    applicant_id = world.users["applicant"].id

    def submit():
        from aap.models import User

        return workflow.fire(db.session.get(Application, draft.id), "submit",
                             db.session.get(User, applicant_id), {})

    outcomes = race(app, [submit, submit, submit])
    assert Counter(outcomes) == {"ok": 1, "invalid_state": 2}
    db.session.rollback()
    assert db.session.get(Application, draft.id).reference.endswith("-0001")
