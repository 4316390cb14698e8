"""``aap users create`` refuses a common password (ASVS 2.1.7): exit status 1, the French
message on the password line, no account."""

from __future__ import annotations

from sqlalchemy import select

from aap.models import User

GUESSABLE = ("Ce mot de passe est trop courant ou trop facile à deviner : choisissez une "
             "phrase de plusieurs mots.")


def test_users_create_refuses_a_common_password(app, db):
    result = app.test_cli_runner().invoke(args=[
        "users", "create", "chargee@example.org", "--password", "Password1234",
        "--role", "instructor"])
    assert result.exit_code == 1
    assert f"password: {GUESSABLE}" in result.output
    assert db.session.scalar(select(User).where(User.email == "chargee@example.org")) is None
