"""The ``aap`` console script: a Flask CLI group (db, users, demo, outbox, run...)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from aap.errors import ValidationFailed
from aap.extensions import db
from aap.models.accounts import ROLES


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
@with_appcontext
def create_user(email: str, password: str, roles: tuple[str, ...], name: str) -> None:
    """Create a user with one or more roles."""
    from aap.services import accounts

    try:
        user = accounts.create_user(email, password, list(roles), name)
    except ValidationFailed as exc:
        db.session.rollback()
        for field, messages in exc.fields.items():
            click.echo(f"{field}: {' '.join(messages)}", err=True)
        raise SystemExit(1) from exc
    db.session.commit()
    click.echo(f"created {user.email} ({', '.join(user.roles)})")


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

    from aap.demo import load_demo

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
    click.echo("Demo loaded. Logins (password for all: see below):")
    for role, email, password in logins:
        click.echo(f"  {role:<11} {email:<40} {password}")


def register_commands(app: Flask) -> None:
    from aap.cli_export import export
    from aap.cli_jobs import jobs

    for command in (users, outbox, reports, workflow, demo, jobs, export):
        app.cli.add_command(command)
