"""The team page of an authority (SPEC 2, manager): who may open it, granting and removing
staff roles (never a platform-wide one), inviting an address with no account, and the
acceptance page reached from the mail in the outbox."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from aap.extensions import db
from aap.models import Notification, StaffInvitation, User
from aap.timeutil import now
from tests import factories
from tests.web.conftest import csrf_token
from tests.web.test_applicant_portal import strict, text

NEWCOMER = "nouvelle.recrue@vitrolles.example.fr"
PASSWORD = "Egalite-2026!"


@pytest.fixture
def place(db):
    """A métropole over the commune of Vitrolles, Lille apart; a manager in each."""
    metropole = factories.make_authority("Métropole Aix-Marseille-Provence", "metropole")
    vitrolles = factories.make_authority("Vitrolles", "commune", parent=metropole)
    lille = factories.make_authority("Métropole Européenne de Lille", "metropole")
    managers = {key: factories.make_user(["manager"], authority=a, name=f"Gestion {a.name}")
                for key, a in (("metropole", metropole), ("vitrolles", vitrolles),
                               ("lille", lille))}
    return {"metropole": metropole, "vitrolles": vitrolles, "lille": lille,
            "managers": managers}


def visitor(name: str, place: dict):
    vitrolles = place["vitrolles"]
    return {
        "admin": lambda: factories.make_user(["admin"]),
        "manager of it": lambda: place["managers"]["vitrolles"],
        "manager of another": lambda: place["managers"]["lille"],
        "manager of the parent": lambda: place["managers"]["metropole"],
        "manager of it, platform-wide": lambda: factories.make_user(["manager"]),
        "instructor of it": lambda: factories.make_user(["instructor"], authority=vitrolles),
        "applicant": lambda: factories.make_user(["applicant"]),
    }[name]()


def team_url(authority) -> str:
    return f"/collectivites/{authority.id}/equipe"


@pytest.mark.parametrize(("who", "status"), [
    ("admin", 200),
    ("manager of it", 200),
    ("manager of another", 404),
    ("manager of the parent", 404),
    ("manager of it, platform-wide", 404),
    ("instructor of it", 403),
    ("applicant", 403),
    ("anonymous", 302),
])
def test_who_may_open_the_team_page(client, log_in, place, who, status):
    if who != "anonymous":
        log_in(visitor(who, place))
    response = client.get(team_url(place["vitrolles"]))
    assert response.status_code == status
    if status == 200:
        assert "<h1>Équipe de Vitrolles</h1>" in response.text
        strict(response.text)
    if status == 302:
        assert "/connexion" in response.headers["Location"]


def test_a_manager_of_a_child_does_not_open_its_parent(client, log_in, place):
    log_in(place["managers"]["vitrolles"])
    assert client.get(team_url(place["metropole"])).status_code == 404
    assert client.get("/collectivites/999999/equipe").status_code == 404


@pytest.mark.parametrize(("who", "lands_on"), [
    ("manager of it", "/collectivites/{vitrolles}/equipe"),
    ("admin", "/admin/collectivites"),
])
def test_the_nav_link_leads_a_manager_to_its_team(client, log_in, place, who, lands_on):
    log_in(visitor(who, place))
    home = client.get("/")
    assert ('href="/equipes"' in home.text) == (who == "manager of it")
    response = client.get("/equipes")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(
        lands_on.format(vitrolles=place["vitrolles"].id))


def test_a_manager_of_two_authorities_chooses(client, log_in, place):
    manager = place["managers"]["vitrolles"]
    manager.set_roles(["manager"], place["lille"].id)
    db.session.commit()
    log_in(manager)
    page = text(client.get("/equipes"))
    assert "Équipe de Vitrolles" in page and "Équipe de Métropole Européenne de Lille" in page
    assert "Équipe de Métropole Aix-Marseille-Provence" not in page


def add(client, authority, email: str, roles: list[str]):
    url = team_url(authority)
    token = csrf_token(client.get(url).text)
    return client.post(url, data={"csrf_token": token, "add-email": email,
                                  "add-roles": roles})


def roles_of(email: str) -> list[tuple[str, int | None]]:
    db.session.rollback()  # see what the requests committed
    user = db.session.scalar(select(User).where(User.email == email))
    return sorted((r.role, r.authority_id) for r in user.role_rows)


def test_the_page_offers_the_four_staff_roles_in_french_and_nothing_platform_wide(
        client, log_in, place):
    log_in(place["managers"]["vitrolles"])
    page = text(client.get(team_url(place["vitrolles"])))
    offered = re.findall(r'name="add-roles"[^>]*value="([^"]+)"', page)
    assert offered == ["instructor", "finance", "juror", "manager"]
    for label in ("instruction", "finances", "jury", "gestion de l'équipe"):
        assert f">{label}</label>" in page


def test_an_existing_account_found_by_email_gets_the_roles(client, log_in, place):
    someone = factories.make_user(["juror"], email="jure@example.org", name="Jules Juré",
                                  authority=place["lille"])
    log_in(place["managers"]["vitrolles"])
    response = add(client, place["vitrolles"], "JURE@example.org", ["instructor", "juror"])
    assert response.status_code == 302
    vitrolles, lille = place["vitrolles"].id, place["lille"].id
    assert roles_of(someone.email) == sorted([
        ("instructor", vitrolles), ("juror", vitrolles), ("juror", lille)])
    page = text(client.get(team_url(place["vitrolles"])))
    assert "Jules Juré fait partie de l'équipe, avec les rôles : instruction, jury." in page
    # no invitation for an account: a mail telling the person what it now holds
    [note] = db.session.scalars(select(Notification)).all()
    assert note.recipient_email == "jure@example.org"
    assert note.subject == "Vos rôles dans Vitrolles sur AAP"
    assert "Rôles attribués : instruction, jury." in note.body
    assert "invitation" not in note.body.lower()


@pytest.mark.parametrize(("roles", "message"), [
    ([], "Choisissez au moins un rôle."),
    (["admin"], "Rôle impossible dans une collectivité : admin."),
    (["juror", "applicant"], "Rôle impossible dans une collectivité : applicant."),
])
def test_no_role_or_a_platform_role_is_refused(client, log_in, place, roles, message):
    someone = factories.make_user(["applicant"], email="porteur@example.org")
    log_in(place["managers"]["vitrolles"])
    response = add(client, place["vitrolles"], someone.email, roles)
    assert response.status_code == 422
    page = text(response)
    strict(response.text)
    error = re.search(r'id="add-roles-error">(.*?)</p>', page, re.S)
    assert error and message in error.group(1)
    assert 'value="porteur@example.org"' in page  # the typed address kept
    assert roles_of(someone.email) == [("applicant", None)]


def test_a_bad_address_is_refused_in_french(client, log_in, place):
    log_in(place["managers"]["vitrolles"])
    response = add(client, place["vitrolles"], "pas-une-adresse", ["juror"])
    assert response.status_code == 422
    assert "Adresse électronique invalide." in text(response)
    assert db.session.scalar(select(StaffInvitation)) is None


def member_form(client, authority, user, roles: list[str] | None):
    """Post one member's row: ``None`` is the "Retirer" button (no roles sent)."""
    url = team_url(authority)
    token = csrf_token(client.get(url).text)
    data = {"csrf_token": token}
    if roles is not None:
        data[f"member-{user.id}-roles"] = roles
    return client.post(f"{url}/{user.id}", data=data)


@pytest.mark.parametrize(("roles", "left", "flash"), [
    (["finance", "manager"], ["finance", "manager"],
     "Rôles de Marie Membre enregistrés : finances, gestion de l'équipe."),
    ([], [], "Marie Membre ne fait plus partie de l'équipe."),
    (None, [], "Marie Membre ne fait plus partie de l'équipe."),
])
def test_a_members_roles_are_changed_or_removed_here_only(client, log_in, place, roles,
                                                         left, flash):
    member = factories.make_user(["instructor", "juror"], email="membre@example.org",
                                 name="Marie Membre", authority=place["vitrolles"])
    member.set_roles(["juror"], place["metropole"].id)
    db.session.commit()
    log_in(place["managers"]["vitrolles"])
    response = member_form(client, place["vitrolles"], member, roles)
    assert response.status_code == 302
    vitrolles = place["vitrolles"].id
    assert roles_of(member.email) == sorted(
        [*((r, vitrolles) for r in left), ("juror", place["metropole"].id)])
    assert flash in text(client.get(team_url(place["vitrolles"])))


def test_a_manager_cannot_change_the_roles_of_another_authority(client, log_in, place):
    member = factories.make_user(["juror"], email="lillois@example.org",
                                 authority=place["lille"])
    log_in(place["managers"]["vitrolles"])
    token = csrf_token(client.get(team_url(place["vitrolles"])).text)
    response = client.post(f"{team_url(place['lille'])}/{member.id}",
                           data={"csrf_token": token})
    assert response.status_code == 404
    # nor, through its own page, someone who is not in its team
    response = client.post(f"{team_url(place['vitrolles'])}/{member.id}",
                           data={"csrf_token": token, f"member-{member.id}-roles": "juror"})
    assert response.status_code == 404
    assert roles_of(member.email) == [("juror", place["lille"].id)]


def test_a_manager_who_removes_its_own_management_is_sent_away(client, log_in, place):
    manager = place["managers"]["vitrolles"]
    log_in(manager)
    response = member_form(client, place["vitrolles"], manager, ["juror"])
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/equipes")
    assert client.get(team_url(place["vitrolles"])).status_code == 403


def mail_to(email: str) -> Notification:
    db.session.rollback()
    rows = db.session.scalars(select(Notification).where(
        Notification.recipient_email == email).order_by(Notification.id)).all()
    assert rows, f"no mail to {email}"
    return rows[-1]


def link_in(body: str) -> str:
    match = re.search(r"http://localhost(/invitation-equipe/[A-Za-z0-9_-]+)", body)
    assert match, body
    return match.group(1)


def test_the_invitation_round_trip(client, log_in, place):
    """A manager invites an address with no account; the mail carries the link; the
    person chooses a name and password and holds exactly the invited roles there."""
    manager = place["managers"]["vitrolles"]
    log_in(manager)
    response = add(client, place["vitrolles"], NEWCOMER, ["juror", "finance"])
    assert response.status_code == 302
    page = text(client.get(team_url(place["vitrolles"])))
    assert f"Invitation envoyée à {NEWCOMER}" in page
    pending = re.search(r"Invitations en attente.*?</table>", page, re.S).group(0)
    assert NEWCOMER in pending and "finances" in pending and "jury" in pending
    mail = mail_to(NEWCOMER)
    assert mail.subject == "Invitation à rejoindre l'équipe de Vitrolles sur AAP"
    link = link_in(mail.body)
    client.post("/deconnexion", data={"csrf_token": csrf_token(page)})

    form = client.get(link)
    assert form.status_code == 200
    strict(form.text)
    assert "Rejoindre l'équipe de Vitrolles" in text(form)
    response = client.post(link, data={"csrf_token": csrf_token(form.text),
                                       "name": "Nadia Recrue", "password": PASSWORD,
                                       "confirm": PASSWORD})
    assert response.status_code == 302
    assert roles_of(NEWCOMER) == [("finance", place["vitrolles"].id),
                                  ("juror", place["vitrolles"].id)]
    assert "Nadia Recrue" in client.get("/").text  # signed in as the new account
    assert mail_to(manager.email).subject == "Nadia Recrue a rejoint l'équipe de Vitrolles"
    used = client.get(link)
    assert used.status_code == 404
    assert "Cette invitation a déjà été acceptée" in text(used)


def test_an_invited_manager_lands_on_its_team(client, place):
    link = _invite_as_admin(client, place, NEWCOMER, ["manager"])
    form = client.get(link)
    response = client.post(link, data={"csrf_token": csrf_token(form.text),
                                       "name": "Nadia Recrue", "password": PASSWORD,
                                       "confirm": PASSWORD})
    assert response.headers["Location"].endswith(team_url(place["vitrolles"]))


def _invite_as_admin(client, place, email: str, roles: list[str]) -> str:
    """The link of an invitation sent by the service (the web grants an existing
    account its roles at once, without one), the client left anonymous."""
    from aap.services import staff_invitations

    admin = factories.make_user(["admin"])
    staff_invitations.invite(admin, place["vitrolles"].id, email, roles,
                             lambda t: f"http://localhost/invitation-equipe/{t}")
    return link_in(mail_to(email).body)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("password", "court", "Au moins 12 caractères."),
    ("confirm", "Autre-chose-2026", "Les deux mots de passe diffèrent."),
    ("name", "", "Indiquez votre nom."),
])
def test_the_new_account_form_says_what_is_wrong(client, place, field, value, message):
    link = _invite_as_admin(client, place, NEWCOMER, ["juror"])
    form = client.get(link)
    data = {"csrf_token": csrf_token(form.text), "name": "Nadia Recrue",
            "password": PASSWORD, "confirm": PASSWORD}
    data[field] = value
    if field == "password":
        data["confirm"] = value
    response = client.post(link, data=data)
    assert response.status_code == 422
    assert message in text(response)
    db.session.rollback()
    assert db.session.scalar(select(User).where(User.email == NEWCOMER)) is None


def test_an_existing_account_logs_in_then_accepts(client, log_in, place):
    someone = factories.make_user(["applicant"], email="deja@example.org")
    link = _invite_as_admin(client, place, someone.email, ["instructor"])
    page = text(client.get(link))
    assert "connectez-vous avec lui" in page
    assert f'href="/connexion?next={link}"' in page.replace("%2F", "/")
    log_in(someone)
    form = client.get(link)
    assert "Accepter et rejoindre l'équipe" in text(form)
    response = client.post(link, data={"csrf_token": csrf_token(form.text)})
    assert response.status_code == 302
    assert roles_of(someone.email) == [("applicant", None),
                                       ("instructor", place["vitrolles"].id)]


def test_another_account_is_told_the_invitation_is_not_its(client, log_in, place):
    link = _invite_as_admin(client, place, NEWCOMER, ["juror"])
    stranger = factories.make_user(["applicant"], email="autre@example.org")
    log_in(stranger)
    response = client.get(link)
    assert response.status_code == 403
    assert f"l'invitation est adressée à {NEWCOMER}" in text(response)
    token = csrf_token(client.get("/").text)
    assert client.post(link, data={"csrf_token": token}).status_code == 403
    assert roles_of(stranger.email) == [("applicant", None)]


@pytest.mark.parametrize(("spoil", "message"), [
    ("expired", "Cette invitation a expiré."),
    ("cancelled", "Cette invitation a été annulée."),
    ("garbled", "Ce lien d'invitation n'est pas valable"),
])
def test_unusable_links_show_why(client, place, spoil, message):
    link = _invite_as_admin(client, place, NEWCOMER, ["juror"])
    invitation = db.session.scalar(select(StaffInvitation))
    if spoil == "expired":
        invitation.expires_at = now() - timedelta(minutes=1)
    elif spoil == "cancelled":
        invitation.cancelled_at = now()
    else:
        link = link[:-3]
    db.session.commit()
    response = client.get(link)
    assert response.status_code == 404
    assert message in text(response)
    assert "<form" not in response.text.split("<main", 1)[1]


def test_a_manager_cancels_a_pending_invitation(client, log_in, place):
    log_in(place["managers"]["vitrolles"])
    add(client, place["vitrolles"], NEWCOMER, ["juror"])
    link = link_in(mail_to(NEWCOMER).body)
    invitation = db.session.scalar(select(StaffInvitation))
    page = client.get(team_url(place["vitrolles"])).text
    url = f"{team_url(place['vitrolles'])[:-7]}/invitations/{invitation.id}/annuler"
    assert f'action="{url}"' in page
    other = client.post(f"/collectivites/{place['lille'].id}/invitations/{invitation.id}"
                        "/annuler", data={"csrf_token": csrf_token(page)})
    assert other.status_code == 404
    response = client.post(url, data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    page = text(client.get(team_url(place["vitrolles"])))
    assert f"L'invitation de {NEWCOMER} est annulée" in page
    assert "Aucune invitation en attente." in page
    assert client.get(link).status_code == 404


@pytest.mark.parametrize("action", ["add", "member", "cancel"])
def test_every_form_of_the_page_needs_its_csrf_token(client, log_in, place, action):
    member = factories.make_user(["juror"], email="membre@example.org",
                                 authority=place["vitrolles"])
    _invite_as_admin(client, place, "en.attente@example.org", ["finance"])
    invitation = db.session.scalar(select(StaffInvitation))
    log_in(place["managers"]["vitrolles"])
    page = client.get(team_url(place["vitrolles"])).text
    forms = re.findall(r"<form .*?</form>", page, re.S)
    # logout; two members, each with its roles and its removal; adding; one cancel
    assert len(forms) == 7
    assert all(re.search(r'name="([a-z0-9-]+-)?csrf_token"', f) for f in forms)
    url = {"add": team_url(place["vitrolles"]),
           "member": f"{team_url(place['vitrolles'])}/{member.id}",
           "cancel": f"/collectivites/{place['vitrolles'].id}/invitations/{invitation.id}"
                     "/annuler"}[action]
    data = {"add-email": NEWCOMER, "add-roles": ["juror"]}
    assert client.post(url, data=data).status_code == 400
    assert roles_of(member.email) == [("juror", place["vitrolles"].id)]
    assert [i.email for i in db.session.scalars(select(StaffInvitation).where(
        StaffInvitation.cancelled_at.is_(None)))] == ["en.attente@example.org"]


def test_a_manager_only_user_is_sent_to_its_team_from_its_space(client, db, log_in):
    commune = factories.make_authority("Ville de Vitrolles", "commune")
    manager = factories.make_user(["manager"], authority=commune)
    log_in(manager)
    response = client.get("/espace")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/equipes")
