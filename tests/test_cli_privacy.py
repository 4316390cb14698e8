"""``aap privacy anonymise``: counts only (never a name), a dry run changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from aap.models import User
from tests import factories


def test_the_command_prints_counts_and_a_dry_run_changes_nothing(app, db):
    user = factories.make_user(["applicant"], email="ancienne@example.org", name="Ancienne")
    user.created_at = datetime(2020, 1, 1, tzinfo=UTC)  # never logged in since: dormant
    db.session.commit()
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["privacy", "anonymise", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Dry run: would anonymise" in dry.output
    assert "     1 dormant account(s)" in dry.output
    assert "ancienne" not in dry.output.lower()
    db.session.rollback()
    assert db.session.get(User, user.id).anonymised_at is None
    done = runner.invoke(args=["privacy", "anonymise"])
    assert done.exit_code == 0 and "     1 dormant account(s)" in done.output
    db.session.rollback()
    assert db.session.get(User, user.id).email.endswith("@anonyme.invalid")
