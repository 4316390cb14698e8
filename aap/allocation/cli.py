"""``aap allocate``: replay a stored run, or simulate and commit one from the shell."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.command("allocate")
@click.option("--replay", "replay_id", type=int, metavar="RUN_ID",
              help="Recompute a stored run from its stored inputs and say whether it matches.")
@with_appcontext
def allocate(replay_id: int | None) -> None:
    """Allocation runs (SPEC 5). Exit status 1 when a replay does not match."""
    from aap.extensions import db
    from aap.models import AllocationRun
    from aap.services import allocation

    if replay_id is None:
        raise click.UsageError("give --replay RUN_ID (runs are made in the instruction "
                               "pages or through POST /api/v1/calls/{id}/allocations)")
    run = db.session.get(AllocationRun, replay_id)
    if run is None:
        raise click.ClickException(f"no allocation run {replay_id}")
    result = allocation.replay(run)
    state = "committed" if run.committed else "simulated"
    click.echo(f"run {run.id} of call {run.call_id} ({state}, seed {run.seed!r}, "
               f"{run.total_proposed_cents / 100:.2f} EUR proposed)")
    click.echo(f"  digest {run.digest}: {'matches' if result.digest_match else 'DIFFERS'}")
    click.echo(f"  rows: {'identical, byte for byte' if result.rows_match else 'DIFFER'}")
    click.echo("  today's data: " + ("same inputs" if result.inputs_unchanged else
                                     "changed since the run (applications, scores or budget)"))
    if not result.matches:
        raise SystemExit(1)
    click.echo("replay matches")
