"""The organisation profile: create, edit (SIRET, RNA, IBAN, BIC checked), members."""

from __future__ import annotations

import pytest

from aap.extensions import db
from aap.models import Membership, Organisation
from tests import factories
from tests.web.conftest import csrf_token
from tests.web.test_applicant_portal import strict, text

VALID = {"name": "Association Égalité", "siret": "732 829 320 00074", "rna": "W133012345",
         "address": "2 place de la Mairie", "postcode": "13127", "city": "Vitrolles",
         "legal_representative": "Camille Martin", "email": "contact@egalite.example.org",
         "phone": "04 00 00 00 00", "iban": "FR76 3000 6000 0112 3456 7890 189",
         "bic": "AGRIFRPP"}


def create(client, **overrides):
    page = client.get("/porteur/organisations/nouvelle")
    return client.post("/porteur/organisations/nouvelle",
                       data={**VALID, **overrides, "csrf_token": csrf_token(page.text)})


def test_create_an_organisation_makes_me_a_member(client, world, log_in):
    user = factories.make_user(["applicant"])
    log_in(user)
    page = client.get("/porteur/organisations/nouvelle")
    assert page.status_code == 200
    strict(page.text)
    response = create(client)
    assert response.status_code == 302
    db.session.rollback()
    org = db.session.scalars(db.select(Organisation).where(
        Organisation.name == "Association Égalité")).one()
    assert org.siret == "73282932000074" and org.iban == "FR7630006000011234567890189"
    assert db.session.scalar(db.select(Membership).where(Membership.user_id == user.id))
    html = text(client.get(response.headers["Location"]))
    assert "Association Égalité" in html and user.email in html


def test_create_then_continue_to_the_call(client, world, log_in):
    log_in(factories.make_user(["applicant"]))
    page = client.get(f"/porteur/organisations/nouvelle?appel={world.call.id}")
    response = client.post(f"/porteur/organisations/nouvelle?appel={world.call.id}",
                           data={**VALID, "csrf_token": csrf_token(page.text)})
    assert response.headers["Location"] == f"/porteur/appels/{world.call.id}/nouveau-dossier"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("siret", "12345678901234", "Ce SIRET n'est pas valide (clé de contrôle incorrecte)."),
    ("siret", "123", "Le SIRET compte 14 chiffres."),
    ("rna", "X12", "Le numéro RNA s'écrit W suivi de 9 chiffres"),
    ("iban", "FR76 3000 6000 0112 3456 7890 188", "Cet IBAN n'est pas valide"),
    ("bic", "ZZ", "Ce BIC n'est pas valide"),
    ("postcode", "1300", "Le code postal compte 5 chiffres."),
])
def test_identifiers_are_checked_with_french_messages_next_to_the_field(
        client, world, log_in, field, value, message):
    log_in(world.users["applicant"])
    response = create(client, **{field: value}, name="<b>Nom gardé</b>")
    assert response.status_code == 422
    html = text(response)
    assert message in html
    assert f'id="{field}-error"' in html
    assert "&lt;b&gt;Nom gardé&lt;/b&gt;" in html  # kept, escaped
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Organisation.id))) == 2  # world's two


def test_rna_is_optional(client, world, log_in):
    log_in(world.users["applicant"])
    assert create(client, rna="").status_code == 302


def test_edit_the_organisation(client, world, log_in):
    log_in(world.users["applicant"])
    page = client.get(f"/porteur/organisations/{world.org.id}")
    assert page.status_code == 200
    strict(page.text)
    assert world.users["applicant"].email in page.text
    data = {**VALID, "name": "Nouveau nom", "csrf_token": csrf_token(page.text)}
    response = client.post(f"/porteur/organisations/{world.org.id}", data=data)
    assert response.status_code == 302
    db.session.rollback()
    assert db.session.get(Organisation, world.org.id).name == "Nouveau nom"
    bad = client.post(f"/porteur/organisations/{world.org.id}",
                      data={**data, "name": "Encore", "iban": "FR00"})
    assert bad.status_code == 422 and "Cet IBAN n'est pas valide" in text(bad)
    assert 'value="Encore"' in bad.text
    db.session.rollback()
    assert db.session.get(Organisation, world.org.id).name == "Nouveau nom"


def test_a_non_member_gets_404(client, world, log_in):
    log_in(world.users["applicant"])
    assert client.get(f"/porteur/organisations/{world.other_org.id}").status_code == 404
    token = csrf_token(client.get("/porteur/").text)
    assert client.post(f"/porteur/organisations/{world.other_org.id}",
                       data={**VALID, "csrf_token": token}).status_code == 404
    assert client.post(f"/porteur/organisations/{world.other_org.id}/invitations",
                       data={"invite-email": "x@example.org",
                             "invite-csrf_token": token}).status_code == 404


@pytest.mark.parametrize("role", ["instructor", "finance"])
def test_other_roles_get_403(client, world, log_in, role):
    log_in(world.actor_for(role))
    assert client.get(f"/porteur/organisations/{world.org.id}").status_code == 403
