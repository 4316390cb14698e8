"""``aap privacy``: the retention rules of docs/rgpd.md, run by the operator (daily cron)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

privacy = click.Group("privacy", help="Data protection: retention and anonymisation.")

LABELS = {
    "applications": "refused, ineligible or withdrawn application(s)",
    "drafts": "draft(s) (call closed, or last member gone)",
    "accounts": "dormant account(s)",
    "organisations": "organisation(s) left with no member and nothing kept",
    "attachments": "attachment file(s) deleted",
    "audit_events_redacted": "audit event(s) whose free text was blanked",
}


@privacy.command("anonymise")
@click.option("--dry-run", is_flag=True, help="Count what would be anonymised; change nothing.")
@with_appcontext
def anonymise(dry_run: bool) -> None:
    """Anonymise the personal data past the retention periods (PRIVACY_APPLICATION_YEARS,
    PRIVACY_DORMANT_ACCOUNT_YEARS); prints counts only, never a name."""
    from aap.services import privacy as service

    counts = service.run(dry_run=dry_run).as_dict()
    config = current_app.config
    click.echo(("Dry run: would anonymise" if dry_run else "Anonymised") +
               f" (applications after {config['PRIVACY_APPLICATION_YEARS']} years, accounts"
               f" after {config['PRIVACY_DORMANT_ACCOUNT_YEARS']} years without login):")
    for key, label in LABELS.items():
        click.echo(f"  {counts[key]:>6} {label}")
