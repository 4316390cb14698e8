"""The sub-envelope invariant (SPEC 5) under real concurrent connections: instructors
granting at the same second never overdraw an envelope, even when the call has room.

Same pattern as ``test_concurrency``: threads, each with its own application context and
session (its own connection); on PostgreSQL the call row is locked ``FOR UPDATE``, on
SQLite the write transaction starts with ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from sqlalchemy import func, select

from aap.extensions import db
from aap.models import Application
from aap.services import workflow
from aap.services.calls import set_jury
from tests.factories import make_application, make_call, make_user, trigger_data
from tests.helpers import race

EUR = 100


def _grant_job(app_id: int, actor_id: int) -> Callable[[], object]:
    def job():
        from aap.models import User

        application = db.session.get(Application, app_id)
        return workflow.fire(application, "grant", db.session.get(User, actor_id),
                             trigger_data("grant", application))

    return job


def test_concurrent_grants_never_overdraw_an_envelope(app, world):
    # The call has 1 000 000 €; envelope "nord" 50 000 €, envelope "sud" 30 000 €.
    # Six proposals of 20 000 € in "nord" and three of 20 000 € in "sud", granted by four
    # instructors at once: two fit in "nord" (40 000 ≤ 50 000 < 60 000), one in "sud".
    call = make_call(world.fund, budget_cents=1_000_000 * EUR,
                     envelopes=[("nord", "Quartiers nord", 50_000 * EUR),
                                ("sud", "Quartiers sud", 30_000 * EUR)])
    set_jury(call, [world.users["juror"].id])
    nord, sud = (e.id for e in sorted(call.envelopes, key=lambda e: e.key))
    instructors = [world.users["instructor"]] + [make_user(["instructor"]) for _ in range(3)]
    ids = {envelope: [world.bring_to(make_application(call, world.org,
                                                      requested_cents=20_000 * EUR,
                                                      envelope_id=envelope), "proposed").id
                      for _ in range(count)]
           for envelope, count in ((nord, 6), (sud, 3))}
    jobs = [_grant_job(app_id, instructors[i % 4].id)
            for i, app_id in enumerate(ids[nord] + ids[sud])]
    outcomes = race(app, jobs)
    assert Counter(outcomes[:6]) == {"ok": 2, "budget_exceeded": 4}
    assert Counter(outcomes[6:]) == {"ok": 1, "budget_exceeded": 2}
    db.session.rollback()  # a fresh snapshot, to see the threads' commits

    def committed(envelope: int) -> int:
        return db.session.scalar(select(func.sum(Application.committed_cents)).where(
            Application.envelope_id == envelope))

    assert committed(nord) == 40_000 * EUR
    assert committed(sud) == 20_000 * EUR
    states = Counter(db.session.scalars(select(Application.state).where(
        Application.call_id == call.id)))
    assert states == {"granted": 3, "proposed": 6}
