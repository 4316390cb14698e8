"""Allocation runs on the database: simulate, commit in one transaction, supersede,
replay and compare (SPEC 5). Scores are set by jurors' reviews, amounts by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aap.errors import Conflict
from aap.extensions import db
from aap.models import AllocationRow, AllocationRun, AuditEvent
from aap.services import allocation, reviews
from tests import factories

E = 100


def reviewed(world, requested_euros: int, pertinence: int, faisabilite: int, **fields):
    """An application brought to ``reviewed`` with both jurors giving the same marks:
    total = (2 p + f) / 15 * 20 on the default grid."""
    app = world.bring_to(world.application(requested_cents=requested_euros * E, **fields),
                         "in_review")
    for juror in (world.users["juror"], world.users["juror2"]):
        reviews.save_review(juror, app, {"scores": {"pertinence": pertinence,
                                                    "faisabilite": faisabilite},
                                         "submit": True})
    return world.fire(app, "close_review", {})


@pytest.fixture
def three(world):
    """Budget 10 000 €: 18.667 (4000 €), 16.0 (5000 €), 13.333 (3000 €)."""
    world.call.budget_cents = 10_000 * E
    db.session.commit()
    first = reviewed(world, 4000, 5, 4)   # (10+4)/15*20 = 18.667
    second = reviewed(world, 5000, 4, 4)  # 12/15*20 = 16
    third = reviewed(world, 3000, 3, 4)   # 10/15*20 = 13.333
    return first, second, third


def test_a_simulation_moves_nobody_and_is_stored(world, three):
    first, _second, _third = three
    run = allocation.simulate(world.call, world.users["instructor"], seed="s")
    rows = {r.application_id: r for r in allocation.rows_of(run)}
    # 4000 + 5000 leave 1000 < 50 % of 3000: waitlisted
    assert [(rows[a.id].rank, rows[a.id].outcome, rows[a.id].proposed_cents // E)
            for a in three] == [(1, "funded", 4000), (2, "funded", 5000), (3, "waitlisted", 0)]
    assert rows[first.id].score == Decimal("18.667")
    assert run.total_proposed_cents == 9000 * E and not run.committed
    for app in three:
        db.session.refresh(app)
        assert app.state == "reviewed"


def test_a_what_if_changes_the_budget_or_rule(world, three):
    run = allocation.simulate(world.call, world.users["instructor"],
                              {"budget_cents": 7_000 * E, "overflow": "skip"}, seed="s")
    outcomes = [r.outcome for r in allocation.rows_of(run)]
    # 4000; 5000 does not fit in 3000 (skip); 3000 fits
    assert outcomes == ["funded", "waitlisted", "funded"]
    assert run.budget_cents == 7_000 * E


def test_commit_moves_every_row_through_the_workflow_in_one_go(world, three):
    first, second, third = three
    run = allocation.commit(world.call, world.users["instructor"], seed="s")
    for app, state, proposed in ((first, "proposed", 4000), (second, "proposed", 5000),
                                 (third, "waitlisted", 0)):
        db.session.refresh(app)
        assert (app.state, app.proposed_cents // E) == (state, proposed)
        event = db.session.scalars(db.select(AuditEvent).where(
            AuditEvent.application_id == app.id).order_by(AuditEvent.id.desc())).first()
        assert event.to_state == state and event.comment.startswith("rang ")
    assert run.committed and run.in_force
    assert allocation.run_in_force(world.call).id == run.id


def test_a_failing_row_leaves_every_application_as_it_was(world, three, monkeypatch):
    """All or nothing: the third trigger fails, the first two are rolled back."""
    from workflows import guards

    real = guards.GUARDS["proposed_amount"]
    calls = []

    def failing_second(ctx):
        calls.append(ctx.subject.id)
        if len(calls) == 2:
            raise guards.GuardFailed("panne simulée", code="boom")
        return real(ctx)

    monkeypatch.setitem(guards.GUARDS, "proposed_amount", failing_second)
    with pytest.raises(guards.GuardFailed):
        allocation.commit(world.call, world.users["instructor"], seed="s")
    for app in three:
        db.session.refresh(app)
        assert app.state == "reviewed" and app.proposed_cents == 0
    assert db.session.scalar(db.select(db.func.count(AllocationRun.id))) == 0


def test_a_second_commit_finds_nothing_left_to_allocate(world, three):
    allocation.commit(world.call, world.users["instructor"], seed="s")
    with pytest.raises(Conflict) as refused:
        allocation.commit(world.call, world.users["instructor"], seed="s")
    assert refused.value.code == "nothing_to_allocate"


def test_a_later_batch_supersedes_the_run_in_force_and_leaves_held_money(world, three):
    first = allocation.commit(world.call, world.users["instructor"], seed="s")
    late = reviewed(world, 2000, 5, 5)
    second = allocation.simulate(world.call, world.users["instructor"], seed="s")
    # 9000 € are proposed: 1000 € are left for the late application (2000 €, 50 %)
    assert second.budget_cents == 1_000 * E
    rows = allocation.rows_of(second)
    assert [(r.application_id, r.outcome, r.proposed_cents // E) for r in rows] == [
        (late.id, "partial", 1000)]
    committed = allocation.commit(world.call, world.users["instructor"], run_id=second.id)
    db.session.refresh(first)
    assert committed.id == second.id and committed.in_force and not first.in_force


def test_a_stale_simulation_cannot_be_committed(world, three):
    run = allocation.simulate(world.call, world.users["instructor"], seed="s")
    world.fire(three[2], "withdraw", {})
    with pytest.raises(Conflict) as refused:
        allocation.commit(world.call, world.users["instructor"], run_id=run.id)
    assert refused.value.code == "stale_run"
    for app in three[:2]:
        db.session.refresh(app)
        assert app.state == "reviewed"


def test_replay_recomputes_a_stored_run_byte_for_byte(world, three):
    run = allocation.commit(world.call, world.users["instructor"], seed="tirage")
    result = allocation.replay(run)
    assert result.matches and result.inputs_unchanged


def test_replay_says_when_a_stored_row_was_altered(world, three):
    run = allocation.simulate(world.call, world.users["instructor"], seed="s")
    row = allocation.rows_of(run)[0]
    db.session.execute(db.update(AllocationRow).where(AllocationRow.id == row.id)
                       .values(proposed_cents=row.proposed_cents - 1))
    db.session.commit()
    result = allocation.replay(run)
    assert not result.rows_match and result.digest_match and not result.matches


def test_compare_lists_who_changes_and_by_how_much(world, three):
    _first, second, _third = three
    generous = allocation.simulate(world.call, world.users["instructor"], seed="s")
    tight = allocation.simulate(world.call, world.users["instructor"],
                                {"budget_cents": 6_000 * E, "overflow": "skip"}, seed="s")
    changes = allocation.compare(generous, tight)
    # second: 5000 funded -> waitlisted (-5000); third: waitlisted -> 2000? no: skip,
    # 6000 - 4000 = 2000 < 3000: still waitlisted, so only the second changes
    assert [(c.application_id, c.before.outcome, c.after.outcome, c.delta_cents // E)
            for c in changes] == [(second.id, "funded", "waitlisted", -5000)]


def test_the_ranking_is_the_engines(world, three):
    first, second, third = three
    ranks = allocation.ranking(world.call, [a.id for a in three])
    assert ranks == {first.id: 1, second.id: 2, third.id: 3}


def test_envelope_leftovers_pooled_can_be_granted(world):
    """A pooled proposal is grantable: the grant checks the envelopes together."""
    call = factories.make_call(world.fund, budget_cents=10_000 * E, pool_leftovers=True,
                               overflow="skip",
                               envelopes=[("aix", "Pays d'Aix", 3_000 * E),
                                          ("istres", "Istres", 5_000 * E)])
    from aap.services.calls import set_jury

    set_jury(call, [world.users["juror"].id, world.users["juror2"].id])
    world.call = call
    aix = call.envelope("aix")
    big = reviewed(world, 4000, 5, 5, envelope_id=aix.id)
    run = allocation.commit(call, world.users["instructor"], seed="s")
    row = allocation.rows_of(run)[0]
    # the Aix envelope has 3000 < 4000 (skip); Istres' 5000 unspent form the pool
    assert (row.outcome, row.proposed_cents, row.pooled_cents) == ("funded", 4000 * E,
                                                                   4000 * E)
    granted = world.fire(big, "grant")
    assert granted.state == "granted" and granted.committed_cents == 4000 * E
