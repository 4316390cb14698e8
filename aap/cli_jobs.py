"""``aap jobs``: the export worker and the retention of export files."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

jobs = click.Group("jobs", help="Background exports: the worker and the purge.")


@jobs.command("worker")
@click.option("--burst", is_flag=True, help="Stop once the queue is empty.")
@with_appcontext
def worker(burst: bool) -> None:
    """Run an RQ worker on REDIS_URL's export queue (as many as needed, on any machine
    that shares the database and EXPORT_DIR)."""
    from redis import Redis
    from rq import Queue, Worker

    url = current_app.config.get("REDIS_URL")
    if not url:
        raise click.ClickException(
            "REDIS_URL is not set: without it, exports run in the app process and no "
            "worker is needed.")
    connection = Redis.from_url(url)
    queue = Queue(current_app.config["EXPORT_QUEUE"], connection=connection)
    click.echo(f"worker on queue {queue.name}")
    Worker([queue], connection=connection).work(burst=burst)


@jobs.command("purge")
@with_appcontext
def purge() -> None:
    """Delete the exports older than EXPORT_RETENTION_HOURS and their files; mark the
    jobs stuck past EXPORT_JOB_TIMEOUT as interrupted (run it daily, e.g. by cron)."""
    from aap.services import jobs as service

    click.echo(f"{service.purge()} export(s) deleted")
