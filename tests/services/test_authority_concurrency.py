"""Two authorities deciding at the same second (PostgreSQL: real row locks; SQLite holds
one database-wide write lock, so there is nothing to prove there).

Each authority's grants lock its own call row and its applications' rows only: a grant on
one authority's call never waits for a lock held on another's, two authorities granting at
once both succeed, and each call's figures are exactly its own grants.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from aap.extensions import db
from aap.models import Application, Call, User
from aap.services import budget, workflow
from aap.services.calls import set_jury
from tests.authority_world import bring_to
from tests.factories import (
    make_application,
    make_authority,
    make_call,
    make_fund,
    make_organisation,
    make_user,
    trigger_data,
)

#: How long a grant may take on a loaded two-core machine without having waited on a
#: lock held elsewhere (a grant that waited would take the holder's whole hold, 20 s).
BOUND_SECONDS = 8
HOLD_SECONDS = 20

# The requests of each authority's proposals, and what each call has granted after, by hand.
REQUESTS = {"north": (10_000_00, 20_000_00, 30_000_00), "south": (15_000_00, 25_000_00)}
GRANTED = {"north": 60_000_00, "south": 40_000_00}


@pytest.fixture(autouse=True)
def _postgres_only(is_postgres):
    if not is_postgres:
        pytest.skip("row locks are PostgreSQL's; SQLite serialises every write")




@pytest.fixture
def two(db):
    """Two unrelated authorities, each with its call, its staff and its proposals."""
    applicant = make_user(["applicant"])
    org = make_organisation([applicant])
    out = {}
    for name, requests in REQUESTS.items():
        authority = make_authority(f"Métropole {name}", kind="metropole")
        call = make_call(make_fund(authority_id=authority.id), budget_cents=100_000_00)
        staff = {role: make_user([role], authority=authority)
                 for role in ("instructor", "finance", "juror")}
        set_jury(call, [staff["juror"].id])
        actors = {**staff, "applicant": applicant}
        proposals = [bring_to(make_application(call, org, requested_cents=cents), "proposed",
                              actors).id for cents in requests]
        out[name] = {"call_id": call.id, "instructor_id": staff["instructor"].id,
                     "proposals": proposals}
    return out


def _grant_all(side: dict) -> Callable[[], None]:
    """A job granting each of an authority's proposals, by its own instructor."""

    def job() -> None:
        actor = db.session.get(User, side["instructor_id"])
        for application_id in side["proposals"]:
            application = db.session.get(Application, application_id)
            workflow.fire(application, "grant", actor, trigger_data("grant", application))

    return job


def _in_thread(app, job: Callable[[], None], start: threading.Barrier | None = None,
               outcome: dict | None = None) -> threading.Thread:
    """Run ``job`` in a thread of its own (its own app context, session and connection);
    ``outcome`` receives ``ok`` or the exception, and the seconds it took."""
    outcome = outcome if outcome is not None else {}

    def run() -> None:
        with app.app_context():
            if start is not None:
                start.wait()
            began = time.monotonic()
            try:
                job()
                outcome["result"] = "ok"
            except Exception as exc:  # reported to the test
                outcome["result"] = exc
            finally:
                outcome["seconds"] = time.monotonic() - began
                db.session.remove()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _granted(call_id: int) -> int:
    db.session.rollback()  # a fresh snapshot: the threads' commits
    return budget.summary(db.session.get(Call, call_id)).granted_cents


def test_two_authorities_grant_at_the_same_second(app, two):
    start = threading.Barrier(2)
    outcomes = {name: {} for name in two}
    threads = [_in_thread(app, _grant_all(two[name]), start, outcomes[name]) for name in two]
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a grant never finished"
    assert {name: o["result"] for name, o in outcomes.items()} == {"north": "ok",
                                                                    "south": "ok"}
    assert all(o["seconds"] < BOUND_SECONDS for o in outcomes.values()), outcomes
    assert {name: _granted(two[name]["call_id"]) for name in two} == GRANTED
    states = set(db.session.scalars(select(Application.state)))
    assert states == {"granted"}


def test_a_grant_never_waits_on_another_authoritys_locked_call(app, two):
    """While a connection holds the north call's row lock (as a grant in progress does),
    the south grants all go through within the bound, and the lock was really held."""
    held, release = threading.Event(), threading.Event()
    north_call = two["north"]["call_id"]

    def hold_the_north_call() -> None:
        with db.engine.connect() as connection, connection.begin():
            connection.execute(select(Call.id).where(Call.id == north_call)
                               .with_for_update())
            held.set()
            release.wait(HOLD_SECONDS)

    holder = _in_thread(app, hold_the_north_call)
    assert held.wait(10)
    try:
        with (db.engine.connect() as probe, probe.begin(),  # the control: it is held
              pytest.raises(OperationalError, match="could not obtain lock")):
            probe.execute(select(Call.id).where(Call.id == north_call)
                          .with_for_update(nowait=True))
        south: dict = {}
        _in_thread(app, _grant_all(two["south"]), outcome=south).join(BOUND_SECONDS)
        assert south.get("result") == "ok", south
        assert holder.is_alive(), "the lock was released before the south grants ended"
    finally:
        release.set()
        holder.join(HOLD_SECONDS + 10)
    assert _granted(two["south"]["call_id"]) == GRANTED["south"]
    assert _granted(north_call) == 0  # nothing granted there yet
