"""Who may open the instruction pages: roles × routes, objects that do not exist."""

from __future__ import annotations

import pytest

from tests.web.conftest import csrf_token

ROUTES = [
    ("get", "/instruction/"),
    ("get", "/instruction/appels/{call}"),
    ("post", "/instruction/appels/{call}/actions"),
    ("get", "/instruction/appels/nouveau"),
    ("post", "/instruction/appels/nouveau"),
    ("get", "/instruction/appels/{call}/modifier"),
    ("post", "/instruction/appels/{call}/modifier"),
    ("get", "/instruction/appels/{call}/cloner"),
    ("post", "/instruction/appels/{call}/cloner"),
    ("get", "/instruction/appels/{call}/composition-du-jury"),
    ("post", "/instruction/appels/{call}/composition-du-jury"),
    ("get", "/instruction/dispositifs/nouveau"),
    ("post", "/instruction/dispositifs/nouveau"),
]


def any_token(client) -> str:
    """The session's CSRF token (the logout form of any page, or the login form)."""
    page = client.get("/")
    return csrf_token(page.text if 'name="csrf_token"' in page.text
                      else client.get("/connexion").text)


def _send(client, method, url):
    token = any_token(client)
    if method == "post":
        return client.post(url, data={"csrf_token": token})
    return client.get(url)


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("role", ["applicant", "juror", "finance", "admin"])
def test_other_roles_get_403(client, world, log_in, role, method, path):
    log_in(world.actor_for(role))
    response = _send(client, method, path.format(call=world.call.id))
    assert response.status_code == 403


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_anonymous_is_sent_to_the_login(client, world, method, path):
    response = _send(client, method, path.format(call=world.call.id))
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]


@pytest.mark.parametrize(("method", "path"), [r for r in ROUTES if "{call}" in r[1]])
def test_unknown_call_is_404(client, world, log_in, method, path):
    log_in(world.users["instructor"])
    assert _send(client, method, path.format(call=999999)).status_code == 404


@pytest.mark.parametrize(("method", "path"), [r for r in ROUTES if r[0] == "get"])
def test_instructor_opens_every_page(client, world, log_in, method, path):
    log_in(world.users["instructor"])
    response = client.get(path.format(call=world.call.id))
    assert response.status_code == 200
    assert "Content-Security-Policy" in response.headers
    assert "<script>" not in response.text and ' style="' not in response.text


@pytest.mark.parametrize("role", ["applicant", "foreign_applicant", "juror", "outside_juror",
                                  "instructor", "finance"])
def test_dossier_action_permissions_per_role(client, world, log_in, role):
    """404 when the file is not visible, 403 when the role may not act, else it works."""
    app = world.bring_to(world.application(), "in_review")
    log_in(world.users[role])
    page = client.get(f"/dossiers/{app.id}")
    expected_page = {"foreign_applicant": 404, "outside_juror": 404}.get(role, 200)
    assert page.status_code == expected_page
    token = any_token(client)
    response = client.post(f"/dossiers/{app.id}/actions/close_review",
                           data={"csrf_token": token, "close_review-csrf_token": token,
                                 "close_review-force": "y",
                                 "close_review-comment": "Jury réuni."})
    expected = {"foreign_applicant": 404, "outside_juror": 404, "instructor": 302}.get(role, 403)
    assert response.status_code == expected
    if expected == 403:
        assert "Votre rôle ne permet pas cette action" in response.text


def test_drafts_are_invisible_to_staff(client, world, log_in):
    draft = world.application(title="Brouillon privé")
    log_in(world.users["instructor"])
    assert client.get(f"/dossiers/{draft.id}").status_code == 404
    token = csrf_token(client.get("/instruction/").text)
    response = client.post(f"/dossiers/{draft.id}/actions/declare_eligible",
                           data={"declare_eligible-csrf_token": token})
    assert response.status_code == 404
    assert "Brouillon privé" not in client.get(f"/instruction/appels/{world.call.id}").text


def test_unknown_action_is_404(client, world, log_in):
    app = world.bring_to(world.application(), "submitted")
    log_in(world.users["instructor"])
    token = csrf_token(client.get("/instruction/").text)
    for trigger in ("nimporte", "submit_report"):
        response = client.post(f"/dossiers/{app.id}/actions/{trigger}",
                               data={f"{trigger}-csrf_token": token})
        assert response.status_code == 404


def test_post_without_csrf_is_refused(client, world, log_in):
    app = world.bring_to(world.application(), "submitted")
    log_in(world.users["instructor"])
    response = client.post(f"/dossiers/{app.id}/actions/declare_eligible", data={})
    assert response.status_code == 400
    assert client.get(f"/dossiers/{app.id}").status_code == 200
