"""``aap allocate --replay RUN_ID`` recomputes a stored run and says whether it matches."""

from __future__ import annotations

from aap.extensions import db
from aap.models import AllocationRow
from aap.services import allocation
from tests.services.test_allocation import three  # noqa: F401 (fixture)


def test_replay_of_a_committed_run_matches(app, world, three):  # noqa: F811
    run = allocation.commit(world.call, world.users["instructor"], seed="2026-10-12")
    result = app.test_cli_runner().invoke(args=["allocate", "--replay", str(run.id)])
    assert result.exit_code == 0, result.output
    assert f"digest {run.digest}: matches" in result.output
    assert "rows: identical, byte for byte" in result.output
    assert "replay matches" in result.output


def test_replay_of_an_altered_run_fails(app, world, three):  # noqa: F811
    run = allocation.simulate(world.call, world.users["instructor"], seed="s")
    row = allocation.rows_of(run)[1]
    db.session.execute(db.update(AllocationRow).where(AllocationRow.id == row.id)
                       .values(reason=row.reason + " (modifié)"))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["allocate", "--replay", str(run.id)])
    assert result.exit_code == 1
    assert "rows: DIFFER" in result.output


def test_replay_says_when_todays_data_changed(app, world, three):  # noqa: F811
    run = allocation.simulate(world.call, world.users["instructor"], seed="s")
    world.fire(three[0], "withdraw", {})
    result = app.test_cli_runner().invoke(args=["allocate", "--replay", str(run.id)])
    assert result.exit_code == 0, result.output  # the stored run itself still replays
    assert "changed since the run" in result.output


def test_an_unknown_run_is_an_error(app, db):
    result = app.test_cli_runner().invoke(args=["allocate", "--replay", "424242"])
    assert result.exit_code == 1 and "no allocation run 424242" in result.output
