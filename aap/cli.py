"""The ``aap`` console script: a Flask CLI group (db, users, demo, outbox, run...)."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from aap.errors import ValidationFailed
from aap.extensions import db
from aap.models.accounts import ROLES
from aap.models.authorities import AUTHORITY_KINDS


def _create_app() -> Flask:
    from aap import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app)
def cli() -> None:
    """AAP: appels à projets, from the call to the last payment."""


def main() -> None:
    """The console script: an unsafe configuration is one clear line, not a traceback."""
    from aap.config import ConfigurationError, config_for

    try:
        config_for(None)
        cli.main(standalone_mode=True)
    except ConfigurationError as exc:
        click.echo(f"aap: refusing to start: {exc}", err=True)
        raise SystemExit(2) from exc


users = click.Group("users", help="Manage user accounts.")


@users.command("create")
@click.argument("email")
@click.option("--password", required=True, help="At least 10 characters.")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES))
@click.option("--name", default="")
@click.option("--authority", "authority_id", type=int, metavar="ID",
              help="Hold the roles in this authority (staff roles only: instructor, "
                   "finance, juror, manager); without it they are platform-wide.")
@with_appcontext
def create_user(email: str, password: str, roles: tuple[str, ...], name: str,
                authority_id: int | None) -> None:
    """Create a user with one or more roles."""
    from aap.services import accounts

    try:
        user = accounts.create_user(email, password, list(roles), name,
                                    authority_id=authority_id)
    except ValidationFailed as exc:
        _fail(exc)
    db.session.commit()
    where = f" in authority {authority_id}" if authority_id is not None else ""
    click.echo(f"created {user.email} ({', '.join(user.roles)}){where}")


def _fail(exc: ValidationFailed) -> NoReturn:
    """Roll back and print the messages, one line per field; exit status 1."""
    db.session.rollback()
    for field, messages in (exc.fields or {"": [exc.message]}).items():
        click.echo(f"{field}: {' '.join(messages)}" if field else exc.message, err=True)
    raise SystemExit(1) from exc


authorities = click.Group("authorities", help="Authorities (collectivités attribuantes).")


@authorities.command("create")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(AUTHORITY_KINDS))
@click.option("--siret", required=True, help="14 digits (spaces allowed).")
@click.option("--parent", "parent_id", type=int, metavar="ID",
              help="The parent authority (a métropole over its councils and communes).")
@with_appcontext
def create_authority(name: str, kind: str, siret: str, parent_id: int | None) -> None:
    """Create an authority; prints its id."""
    from aap.services import authorities as service

    try:
        authority = service.create_authority(
            None, {"name": name, "kind": kind, "siret": siret, "parent_id": parent_id})
    except ValidationFailed as exc:
        _fail(exc)
    click.echo(authority.id)


@authorities.command("list")
@with_appcontext
def list_authorities() -> None:
    """List the authorities as a tree: id, name, kind, SIRET."""
    from aap.services import authorities as service

    every = service.list_authorities()
    known = {a.id for a in every}
    below: dict[int | None, list] = {}
    for authority in every:  # by name: each branch stays sorted
        parent = authority.parent_id if authority.parent_id in known else None
        below.setdefault(parent, []).append(authority)
    stack = [(a, 0) for a in reversed(below.get(None, []))]
    while stack:
        authority, depth = stack.pop()
        click.echo(f"{'  ' * depth}{authority.id}\t{authority.name}\t{authority.kind}"
                   f"\t{authority.siret}")
        stack.extend((child, depth + 1) for child in reversed(below.get(authority.id, [])))


outbox = click.Group("outbox", help="The notification outbox.")


@outbox.command("send")
@click.option("--limit", default=100, show_default=True)
@with_appcontext
def send_outbox(limit: int) -> None:
    """Send pending notifications through SMTP_URL."""
    from flask import current_app

    from aap.services import notifications

    if not current_app.config.get("SMTP_URL"):
        raise click.ClickException("SMTP_URL is not set: nothing can be sent.")
    try:
        sent, failed = notifications.send_pending(limit)
    except notifications.SmtpUnavailable as exc:
        raise click.ClickException(f"{exc}. Nothing was sent; the outbox is kept.") from exc
    click.echo(f"sent {sent}, failed {failed}")


reports = click.Group("reports", help="Final reports (CERFA 15059).")


@reports.command("remind")
@with_appcontext
def remind_reports() -> None:
    """Queue reminders for the final reports that are due (run it daily, e.g. by cron)."""
    from aap.services.reports import remind_due

    click.echo(f"{remind_due()} reminder(s) queued")


workflow = click.Group("workflow", help="The workflow definitions.")


@workflow.command("diagram")
@click.option("--write", "write_to", type=click.Path(path_type=Path),
              help="Replace the generated diagram in this Markdown file.")
@with_appcontext
def diagram(write_to: Path | None) -> None:
    """Print the Mermaid state diagram generated from the workflow definition."""
    from workflows.diagram import render, write_into

    if write_to:
        write_into(write_to)
        click.echo(f"updated {write_to}")
    else:
        click.echo(render())


@click.command("demo")
@click.option("--reset/--no-reset", default=True,
              help="Empty the database first. With --no-reset and --applications, the big "
                   "call is added to the database as it is (the demo is loaded first if "
                   "absent), so several can be generated.")
@click.option("--applications", type=click.IntRange(min=1), metavar="N",
              help="After the demo, add a big call of N applications spread over the "
                   "whole workflow (reviews, runs, decisions, payments, reports), written "
                   "in bulk: for benchmarks and load tests.")
@with_appcontext
def demo(reset: bool, applications: int | None) -> None:
    """Load a realistic demo: the metropolitan fund, its call, applications, a jury."""
    import time

    from flask import current_app

    from aap.demo import load_demo, login_table

    if current_app.config.get("PRODUCTION"):
        raise click.ClickException(
            "aap demo creates accounts whose password is published: it is refused when "
            "AAP_ENV=production.")
    started = time.perf_counter()
    if applications is None:
        logins = load_demo(reset=reset)
    else:
        from aap.demo_big import load_with_big_call

        logins, call_id = load_with_big_call(applications, reset=reset)
        click.echo(f"Big call {call_id}: {applications} applications, "
                   f"{time.perf_counter() - started:.1f} s (demo included).")
    click.echo(login_table(logins))


def register_commands(app: Flask) -> None:
    from aap.cli_export import export
    from aap.cli_jobs import jobs
    from aap.cli_privacy import privacy

    for command in (users, authorities, outbox, reports, workflow, demo, jobs, export,
                    privacy):
        app.cli.add_command(command)
