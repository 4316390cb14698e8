"""Control characters in web forms and query strings (NUL first, which PostgreSQL refuses
in text): removed as the request is parsed, so a page never fails and keeps what was typed."""

from __future__ import annotations

from aap.services import accounts
from tests.web.conftest import csrf_token, login


def test_a_nul_in_the_login_form_is_a_refused_login_not_a_crash(client, world):
    page = client.get("/connexion")
    response = client.post("/connexion", data={
        "email": "awa\x00@example.org", "password": "x\x00y",
        "csrf_token": csrf_token(page.text)})
    assert response.status_code == 401
    assert "Adresse électronique ou mot de passe incorrect" in response.text


def test_registration_keeps_the_text_around_a_control_character(client, db):
    page = client.get("/inscription")
    response = client.post("/inscription", data={
        "email": "nadia@example.org", "name": "Nadia\x00 Ben\x07ali",
        "password": "Solide-2026-mdp", "confirm": "Solide-2026-mdp",
        "csrf_token": csrf_token(page.text)})
    assert response.status_code == 302, response.text
    user = accounts.find_by_email("nadia@example.org")
    assert user.name == "Nadia Benali"


def test_a_nul_in_a_search_is_ignored(client, world):
    world.bring_to(world.application(title="Ateliers mémoire"), "submitted")
    login(client, world.users["instructor"])
    response = client.get(f"/instruction/appels/{world.call.id}",
                          query_string="q=Ateliers%00&sort=%00")
    assert response.status_code == 200
    assert "Ateliers mémoire" in response.text


def test_tabs_and_newlines_are_kept_other_controls_removed():
    from aap.input import CleanMultiDict

    form = CleanMultiDict([("objectives", "1.\tSensibiliser\r\n2.\x00 Former\x1b"),
                           ("q\x00", "x")])
    assert form["objectives"] == "1.\tSensibiliser\r\n2. Former"
    assert form["q"] == "x"
