"""Every page where a password is chosen refuses a common one (ASVS 2.1.7) with what to
do, keeps what was typed except the passwords, and creates or changes nothing:
registration, reset from the mailed link, joining a team from an invitation (the password
change: tests/web/test_change_password.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from aap.extensions import db
from aap.models import User
from aap.services import staff_invitations
from tests import factories
from tests.web.conftest import csrf_token, login
from tests.web.test_account_pages import LINK_RE, last_mail, register
from tests.web.test_applicant_portal import text

GUESSABLE = ("Ce mot de passe est trop courant ou trop facile à deviner : choisissez une "
             "phrase de plusieurs mots.")


def _account(email: str) -> User | None:
    db.session.rollback()
    return db.session.scalar(select(User).where(User.email == email))


@pytest.mark.parametrize("password", ["azertyuiop12", "Password1234", "iloveyou1234"])
def test_registration_refuses_a_common_password(client, db, password):
    response = register(client, password=password, confirm=password)
    assert response.status_code == 422
    html = text(response)
    assert GUESSABLE in html
    assert 'value="awa.nouvelle@example.org"' in html and 'value="Awa Nouvelle"' in html
    assert password not in response.text
    assert _account("awa.nouvelle@example.org") is None


def test_registration_refuses_the_person_s_own_name(client, db):
    response = register(client, name="Yannick Kerbrat", email="y.kerbrat@example.org",
                        password="yannickkerbrat", confirm="yannickkerbrat")
    assert response.status_code == 422
    assert GUESSABLE in text(response)
    assert _account("y.kerbrat@example.org") is None


def test_a_reset_refuses_a_common_password(client, world):
    user = world.users["applicant"]
    page = client.get("/mot-de-passe-oublie")
    client.post("/mot-de-passe-oublie", data={"email": user.email,
                                             "csrf_token": csrf_token(page.text)})
    path = LINK_RE.search(last_mail(user.email).body).group(0).removeprefix(
        "http://localhost")
    form = client.get(path)
    response = client.post(path, data={"password": "motdepasse123",
                                       "confirm": "motdepasse123",
                                       "csrf_token": csrf_token(form.text)})
    assert response.status_code == 422
    assert GUESSABLE in text(response)
    assert "motdepasse123" not in response.text
    assert login(client, user, factories.PASSWORD).status_code == 302  # unchanged
    assert client.get(path).status_code == 200  # the link still serves


def test_joining_a_team_refuses_a_common_password(client, db):
    authority = factories.make_authority("Vitrolles", "commune")
    admin = factories.make_user(["admin"])
    staff_invitations.invite(admin, authority.id, "nouvelle.recrue@example.fr", ["juror"],
                             lambda t: f"http://localhost/invitation-equipe/{t}")
    body = last_mail("nouvelle.recrue@example.fr").body
    link = body[body.index("http://localhost/invitation-equipe/"):].split()[0]
    form = client.get(link)
    response = client.post(link, data={"csrf_token": csrf_token(form.text),
                                       "name": "Nadia Recrue", "password": "soleilsoleil",
                                       "confirm": "soleilsoleil"})
    assert response.status_code == 422
    html = text(response)
    assert GUESSABLE in html and 'value="Nadia Recrue"' in html
    assert "soleilsoleil" not in response.text
    assert _account("nouvelle.recrue@example.fr") is None
