"""Who sees which page: role homes, anonymous redirects, object-level visibility."""

from __future__ import annotations

import pytest

from aap.services import workflow
from tests import factories

HOMES = {
    "applicant": "/porteur/",
    "instructor": "/instruction/",
    "juror": "/jury/",
    "finance": "/finances/",
    "admin": "/admin/",
}
ROLE_MATRIX = [(path_role, user_role) for path_role in HOMES for user_role in HOMES]


@pytest.mark.parametrize(("path_role", "user_role"), ROLE_MATRIX,
                         ids=[f"{p}-page-as-{u}" for p, u in ROLE_MATRIX])
def test_role_homes_are_reserved_to_their_role(client, world, log_in, path_role, user_role):
    log_in(world.actor_for(user_role))
    response = client.get(HOMES[path_role])
    if path_role == user_role:
        assert response.status_code == 200
        assert response.text.count("<h1") == 1
        assert 'aria-current="page"' in response.text
    else:
        assert response.status_code == 403
        assert "Accès refusé" in response.text
        assert "Cette page est réservée à un autre rôle." in response.text


@pytest.mark.parametrize("path", [*HOMES.values(), "/espace", "/dossiers/1"])
def test_anonymous_users_are_sent_to_login(client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/connexion?next=")
    login_page = client.get(location)
    assert "Connectez-vous pour accéder à cette page." in login_page.text


@pytest.mark.parametrize("path", ["/", "/connexion", "/accessibilite"])
def test_public_pages_are_open(client, db, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.text.count("<h1") == 1


def test_applicant_lists_only_its_organisations_applications(client, world, log_in):
    mine = world.application(title="Projet de mon association")
    factories.make_application(world.call, world.other_org, title="Projet d'une autre association")
    log_in(world.users["applicant"])
    page = client.get("/porteur/").text
    assert "Projet de mon association" in page
    assert f'href="/porteur/dossiers/{mine.id}"' in page
    assert "Projet d&#39;une autre association" not in page
    assert "Projet d'une autre association" not in page
    assert world.other_org.name not in page
    assert "Mes dossiers <span class=\"count\">(1)</span>" in page


def test_applicant_gets_404_on_another_organisations_application(client, world, log_in):
    mine = world.application()
    theirs = factories.make_application(world.call, world.other_org)
    log_in(world.users["applicant"])
    assert client.get(f"/dossiers/{mine.id}").status_code == 200
    response = client.get(f"/dossiers/{theirs.id}")
    assert response.status_code == 404
    assert "Page introuvable" in response.text
    assert theirs.title not in response.text


def test_juror_sees_assigned_applications_only(client, world, log_in):
    app = world.bring_to(world.application(title="Dossier évalué par le jury"), "in_review")
    log_in(world.users["juror"])
    assert "Dossier évalué par le jury" in client.get("/jury/").text
    assert client.get(f"/dossiers/{app.id}").status_code == 200


def test_juror_gets_404_on_an_unassigned_application(client, world, log_in):
    app = world.bring_to(world.application(title="Dossier d'un autre jury"), "in_review")
    log_in(world.users["outside_juror"])
    assert client.get(f"/dossiers/{app.id}").status_code == 404
    assert "Dossier d" not in client.get("/jury/").text


def test_juror_never_sees_a_draft(client, world, log_in):
    draft = world.application()
    log_in(world.users["juror"])
    assert client.get(f"/dossiers/{draft.id}").status_code == 404


@pytest.mark.parametrize("role", ["instructor", "finance", "admin"])
def test_staff_see_any_submitted_application_but_no_draft(client, world, log_in, role):
    theirs = factories.make_application(world.call, world.other_org)
    log_in(world.actor_for(role))
    assert client.get(f"/dossiers/{theirs.id}").status_code == 404
    workflow.fire(theirs, "submit", world.users["foreign_applicant"], {})
    assert client.get(f"/dossiers/{theirs.id}").status_code == 200


def test_unknown_application_is_404(client, world, log_in):
    log_in(world.users["instructor"])
    assert client.get("/dossiers/999999").status_code == 404


@pytest.mark.parametrize("path", ["/porteur/", "/dossiers/{id}", "/instruction/"])
def test_html_escapes_an_application_title(client, world, log_in, path):
    app = world.application(title='<script>alert("xss")</script> & co')
    if path == "/instruction/":
        world.fire(app, "submit", {})
    user = world.users["instructor" if path == "/instruction/" else "applicant"]
    log_in(user)
    page = client.get(path.format(id=app.id)).text
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt; &amp; co" in page


def test_the_jury_work_stays_out_of_the_applicants_timeline(client, world, log_in):
    from aap.services import reviews

    app = world.bring_to(world.application(), "in_review")
    reviews.save_review(world.users["juror"], app, {"conflict": True,
                                                    "comment": "Je suis trésorière"})
    log_in(world.users["applicant"])
    page = client.get(f"/dossiers/{app.id}").text
    assert "Julie Jurée" not in page and "trésorière" not in page
