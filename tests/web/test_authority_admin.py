"""The admin's authorities pages: the tree with its counts, creation and edition with French
messages beside the fields and the typed values kept, never a 500; admins only."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from aap.extensions import db
from aap.models import Authority
from tests import factories
from tests.web.conftest import csrf_token
from tests.web.test_applicant_portal import strict, text

AMP_SIRET = "20005478100022"  # Métropole Aix-Marseille-Provence's real SIRET
LILLE_SIRET = "20004150700019"


@pytest.fixture
def tree(db):
    """AMP over two councils (one with a commune); Lille apart. Two funds and three staff
    members in the Pays d'Aix council, one of them holding two roles."""
    amp = factories.make_authority("Métropole Aix-Marseille-Provence", "metropole",
                                   siret=AMP_SIRET)
    aix = factories.make_authority("Conseil de territoire du Pays d'Aix", "council",
                                   parent=amp)
    marseille = factories.make_authority("Conseil de territoire Marseille Provence",
                                         "council", parent=amp)
    vitrolles = factories.make_authority("Vitrolles", "commune", parent=aix)
    lille = factories.make_authority("Métropole Européenne de Lille", "metropole",
                                     siret=LILLE_SIRET)
    for name in ("Fonds d'initiative", "Fonds jeunesse"):
        factories.make_fund(name=name, authority_id=aix.id)
    factories.make_user(["instructor", "juror"], authority=aix)
    factories.make_user(["finance"], authority=aix)
    factories.make_user(["manager"], authority=aix)
    return {"amp": amp, "aix": aix, "marseille": marseille, "vitrolles": vitrolles,
            "lille": lille}


def who(name: str, tree: dict):
    return {
        "admin": lambda: factories.make_user(["admin"]),
        "manager": lambda: factories.make_user(["manager"], authority=tree["aix"]),
        "instructor": lambda: factories.make_user(["instructor"], authority=tree["aix"]),
        "platform instructor": lambda: factories.make_user(["instructor"]),
        "applicant": lambda: factories.make_user(["applicant"]),
    }[name]()


PAGES = ["/admin/collectivites", "/admin/collectivites/nouvelle",
         "/admin/collectivites/{aix}/modifier"]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize(("visitor", "status"), [
    ("admin", 200), ("manager", 403), ("instructor", 403), ("platform instructor", 403),
    ("applicant", 403), ("anonymous", 302)])
def test_who_may_open_the_authorities_pages(client, log_in, tree, page, visitor, status):
    if visitor != "anonymous":
        log_in(who(visitor, tree))
    response = client.get(page.format(aix=tree["aix"].id))
    assert response.status_code == status
    if status == 302:
        assert "/connexion" in response.headers["Location"]


def test_an_unknown_authority_is_404(client, log_in, tree):
    log_in(who("admin", tree))
    assert client.get("/admin/collectivites/999999/modifier").status_code == 404


def test_the_list_is_a_tree_with_kinds_in_french_and_counts(client, log_in, tree):
    log_in(who("admin", tree))
    response = client.get("/admin/collectivites")
    page = text(response)
    strict(response.text)
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</tr>", page, re.S)
    names = [re.sub(r"<[^>]+>|└", "", r.split("</th>")[0]).strip() for r in rows]
    assert names == [  # each parent followed by its children, by name
        "Métropole Aix-Marseille-Provence",
        "Conseil de territoire du Pays d'Aix", "Vitrolles",
        "Conseil de territoire Marseille Provence",
        "Métropole Européenne de Lille"]
    cells = {name: re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
             for name, row in zip(names, rows, strict=True)}
    aix = [re.sub(r"<[^>]+>", "", c).strip() for c in cells[names[1]][:5]]
    assert aix == ["conseil de territoire", tree["aix"].siret,
                   "Métropole Aix-Marseille-Provence", "2", "3"]
    amp = [re.sub(r"<[^>]+>", "", c).strip() for c in cells[names[0]][:5]]
    assert amp == ["métropole", AMP_SIRET, "—", "0", "0"]
    assert "commune" in cells["Vitrolles"][0]
    assert f'/collectivites/{tree["aix"].id}/equipe' in page


def _form(client, url: str) -> dict:
    return {"csrf_token": csrf_token(client.get(url).text)}


def test_creating_an_authority_under_a_parent(client, log_in, tree):
    log_in(who("admin", tree))
    data = _form(client, "/admin/collectivites/nouvelle") | {
        "name": "  Commune de Gardanne ", "kind": "commune", "siret": "213 000 417 00013",
        "parent_id": str(tree["aix"].id)}
    response = client.post("/admin/collectivites/nouvelle", data=data)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/collectivites")
    db.session.rollback()  # end the test's own read transaction: see the request's rows
    created = db.session.scalar(select(Authority).where(Authority.name == "Commune de Gardanne"))
    assert (created.kind, created.siret, created.parent_id) == (
        "commune", "21300041700013", tree["aix"].id)
    assert "La collectivité « Commune de Gardanne » est créée." in text(
        client.get("/admin/collectivites"))


def _count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count(Authority.id)))


@pytest.mark.parametrize(("field", "typed", "message"), [
    ("name", "", "Indiquez le nom de la collectivité."),
    ("name", "x" * 201, "200 caractères au maximum."),
    ("kind", "", "Choisissez le type de collectivité."),
    ("kind", "canton", "Type inconnu."),
    ("siret", "", "Indiquez le SIRET de la collectivité."),
    ("siret", "21300041700014", "clé de contrôle incorrecte"),
    ("siret", "2130004170001", "Le SIRET compte 14 chiffres."),
    ("siret", AMP_SIRET, "Une collectivité avec ce SIRET existe déjà."),
    ("parent_id", "999999", "Collectivité parente inconnue."),
])
def test_creation_refused_with_a_french_message_and_the_typed_values_kept(
        client, log_in, tree, field, typed, message):
    log_in(who("admin", tree))
    data = _form(client, "/admin/collectivites/nouvelle") | {
        "name": "Commune de Gardanne", "kind": "commune", "siret": "21300041700013",
        "parent_id": ""}
    data[field] = typed
    before = _count()
    response = client.post("/admin/collectivites/nouvelle", data=data)
    assert response.status_code == 422
    page = text(response)
    strict(response.text)
    error = re.search(rf'id="{field}-error">(.*?)</p>', page, re.S)
    assert error and message in error.group(1), page
    assert 'aria-invalid="true"' in page
    for name in ("name", "siret"):
        if data[name]:
            assert f'value="{data[name]}"' in page
    assert _count() == before


def test_every_problem_of_the_form_is_said_at_once(client, log_in, tree):
    log_in(who("admin", tree))
    data = _form(client, "/admin/collectivites/nouvelle") | {
        "name": "", "kind": "", "siret": "2130004170001", "parent_id": ""}
    response = client.post("/admin/collectivites/nouvelle", data=data)
    assert response.status_code == 422
    summary = re.search(r'id="error-summary".*?</ul>', text(response), re.S).group(0)
    assert re.findall(r'<a href="#(\w+)">', summary) == ["name", "kind", "siret"]


@pytest.mark.parametrize("below", ["aix", "vitrolles"])
def test_an_authority_cannot_be_put_under_itself_or_a_descendant(client, log_in, tree,
                                                                 below):
    log_in(who("admin", tree))
    url = f'/admin/collectivites/{tree["aix"].id}/modifier'
    page = client.get(url).text
    for excluded in ("aix", "vitrolles"):  # not offered
        assert f'<option value="{tree[excluded].id}"' not in page
    data = _form(client, url) | {"name": "Pays d'Aix", "kind": "council",
                                 "siret": tree["aix"].siret,
                                 "parent_id": str(tree[below].id)}
    response = client.post(url, data=data)
    assert response.status_code == 422
    assert "ne peut pas dépendre" in text(response)
    db.session.rollback()
    assert db.session.get(Authority, tree["aix"].id).parent_id == tree["amp"].id


def test_editing_moves_and_renames(client, log_in, tree):
    log_in(who("admin", tree))
    url = f'/admin/collectivites/{tree["vitrolles"].id}/modifier'
    page = text(client.get(url))
    assert 'value="Vitrolles"' in page
    assert f'<option selected value="{tree["aix"].id}">' in page
    data = _form(client, url) | {"name": "Ville de Vitrolles", "kind": "commune",
                                 "siret": tree["vitrolles"].siret, "parent_id": ""}
    response = client.post(url, data=data)
    assert response.status_code == 302
    db.session.rollback()
    moved = db.session.get(Authority, tree["vitrolles"].id)
    assert (moved.name, moved.parent_id) == ("Ville de Vitrolles", None)


@pytest.mark.parametrize("url", ["/admin/collectivites/nouvelle",
                                 "/admin/collectivites/{aix}/modifier"])
def test_the_forms_carry_a_csrf_token_and_refuse_a_post_without_it(client, log_in, tree,
                                                                   url):
    log_in(who("admin", tree))
    url = url.format(aix=tree["aix"].id)
    assert csrf_token(client.get(url).text)
    before = _count()
    response = client.post(url, data={"name": "Sans jeton", "kind": "commune",
                                      "siret": "21300041700013", "parent_id": ""})
    assert response.status_code == 400
    assert _count() == before


def test_the_admin_home_links_to_the_authorities(client, log_in, tree):
    log_in(who("admin", tree))
    assert 'href="/admin/collectivites"' in client.get("/admin/").text
