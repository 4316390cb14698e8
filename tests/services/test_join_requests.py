"""A SIRET belongs to one organisation; a second applicant asks to join it instead, and its
members accept or decline, each step announced through the outbox."""

from __future__ import annotations

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from aap.errors import Conflict, Forbidden, NotFound, ValidationFailed
from aap.extensions import db
from aap.models import Membership, Notification, Organisation, OrganisationJoinRequest
from aap.services import organisations
from aap.timeutil import now
from tests import factories
from tests.old_revision import MIGRATIONS, database_at

VALID = {"name": "Association Égalité", "siret": "732 829 320 00074", "rna": "",
         "address": "2 place de la Mairie", "postcode": "13127", "city": "Vitrolles",
         "legal_representative": "Camille Martin", "email": "contact@egalite.example.org",
         "phone": "", "iban": "FR76 3000 6000 0112 3456 7890 189", "bic": "AGRIFRPP"}
SIRET = "73282932000074"


def organisations_count() -> int:
    return db.session.scalar(select(func.count(Organisation.id)))


def mails() -> list[Notification]:
    return list(db.session.scalars(select(Notification).order_by(Notification.id)))


@pytest.fixture
def registered(world):
    """An organisation holding SIRET, with two members (one inactive) and an outsider."""
    first = world.users["applicant"]
    second = factories.make_user(["applicant"], name="Bruno Second")
    asleep = factories.make_user(["applicant"], name="Inès Inactive")
    asleep.active = False
    db.session.commit()
    org = factories.make_organisation([first, second, asleep], siret=SIRET,
                                      name="Égalité 13", city="Vitrolles")
    return org, [first, second], asleep


# -- a SIRET belongs to one organisation -----------------------------------------------

def test_a_taken_siret_creates_nothing_and_names_the_organisation(world, registered):
    org, _members, _ = registered
    newcomer = world.users["foreign_applicant"]
    before = organisations_count()
    with pytest.raises(organisations.SiretTaken) as caught:
        organisations.create_organisation(newcomer, VALID)  # typed with spaces
    assert caught.value.organisation.id == org.id
    assert caught.value.status == 409 and caught.value.code == "siret_taken"
    assert caught.value.message == ("Une organisation avec ce SIRET existe déjà sur AAP : "
                                    "Égalité 13 (Vitrolles).")
    assert caught.value.fields == {"siret": [caught.value.message]}
    db.session.rollback()
    assert organisations_count() == before
    assert not db.session.scalar(select(Membership).where(
        Membership.user_id == newcomer.id, Membership.organisation_id == org.id))


def test_the_database_refuses_a_second_organisation_with_a_siret(world, registered):
    with pytest.raises(IntegrityError):
        factories.make_organisation([], siret=SIRET)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).where(Organisation.siret == SIRET)) == 1


def test_a_concurrent_creation_caught_by_the_index_is_the_same_friendly_refusal(
        world, registered, monkeypatch):
    """The check passes (the other organisation was not committed yet), the unique index
    refuses the row: SiretTaken, not an IntegrityError."""
    org, _, _ = registered
    real = organisations.find_by_siret
    calls = []

    def not_yet(siret):
        calls.append(siret)
        return None if len(calls) == 1 else real(siret)

    monkeypatch.setattr(organisations, "find_by_siret", not_yet)
    before = organisations_count()
    with pytest.raises(organisations.SiretTaken) as caught:
        organisations.create_organisation(world.users["foreign_applicant"], VALID)
    assert caught.value.organisation.id == org.id
    assert len(calls) == 2
    assert organisations_count() == before


def test_an_edit_may_not_take_the_siret_of_another_organisation(world, registered,
                                                                 monkeypatch):
    other = world.other_org
    member = world.users["foreign_applicant"]
    with pytest.raises(ValidationFailed) as caught:
        organisations.update_organisation(member, other, {**VALID, "name": "Autre"})
    assert caught.value.fields == {
        "siret": ["Ce SIRET est déjà celui d'une autre organisation sur AAP."]}
    db.session.rollback()
    # and through the index, when the check is passed by a concurrent change
    real, calls = organisations.find_by_siret, []

    def not_yet(siret):
        calls.append(siret)
        return None if len(calls) == 1 else real(siret)

    monkeypatch.setattr(organisations, "find_by_siret", not_yet)
    with pytest.raises(ValidationFailed) as caught:
        organisations.update_organisation(member, db.session.get(Organisation, other.id),
                                          {**VALID, "name": "Autre"})
    assert "siret" in caught.value.fields
    db.session.rollback()
    fresh = db.session.get(Organisation, other.id)
    assert fresh.siret != SIRET and fresh.name != "Autre"
    # keeping its own SIRET is fine
    monkeypatch.undo()
    organisations.update_organisation(member, fresh, {**VALID, "siret": fresh.siret,
                                                      "name": "Nouveau nom"})
    assert db.session.get(Organisation, other.id).name == "Nouveau nom"


# -- asking to join --------------------------------------------------------------------

def test_a_request_mails_each_active_member_and_nobody_else(world, registered):
    org, members, asleep = registered
    newcomer = world.users["foreign_applicant"]
    request = organisations.request_to_join(newcomer, org.id, "  Je suis la trésorière.  ")
    assert request.status == "pending" and request.message == "Je suis la trésorière."
    assert request.decided_at is None and request.decided_by_id is None
    sent = mails()
    assert sorted(m.recipient_email for m in sent) == sorted(u.email for u in members)
    for mail in sent:
        assert mail.subject == "Demande pour rejoindre Égalité 13 sur AAP"
        assert newcomer.display_name in mail.body and newcomer.email in mail.body
        assert "Je suis la trésorière." in mail.body
    assert asleep.email not in {m.recipient_email for m in sent}
    assert not policies_member(newcomer, org)


def policies_member(user, org) -> bool:
    from aap.services import policies

    db.session.expire_all()
    return policies.is_member(user, org.id)


def test_one_pending_request_per_user_and_organisation(world, registered):
    org, _, _ = registered
    newcomer = world.users["foreign_applicant"]
    organisations.request_to_join(newcomer, org.id)
    with pytest.raises(Conflict) as caught:
        organisations.request_to_join(newcomer, org.id, "Encore moi")
    assert caught.value.code == "join_request_pending"
    assert caught.value.message.startswith("Vous avez déjà une demande en attente")
    db.session.rollback()
    assert db.session.scalar(select(func.count(OrganisationJoinRequest.id))) == 1
    assert len(mails()) == 2  # the first request's only


def test_the_database_refuses_a_second_pending_request(world, registered, monkeypatch):
    org, _, _ = registered
    newcomer = world.users["foreign_applicant"]
    organisations.request_to_join(newcomer, org.id)
    db.session.add(OrganisationJoinRequest(organisation_id=org.id, user_id=newcomer.id,
                                           message="", status="pending"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    # a concurrent request that passed the check gets the friendly refusal
    monkeypatch.setattr(organisations, "pending_request", lambda user, organisation: None)
    with pytest.raises(Conflict) as caught:
        organisations.request_to_join(newcomer, org.id)
    assert caught.value.code == "join_request_pending"
    # a decided request does not count: one may ask again after a refusal
    db.session.rollback()
    monkeypatch.undo()


def test_members_and_other_roles_may_not_ask(world, registered):
    org, members, _ = registered
    with pytest.raises(Conflict) as caught:
        organisations.request_to_join(members[0], org.id)
    assert caught.value.code == "already_member"
    with pytest.raises(Forbidden):
        organisations.request_to_join(world.users["instructor"], org.id)
    with pytest.raises(NotFound):
        organisations.request_to_join(world.users["foreign_applicant"], 10**9)
    db.session.rollback()
    assert db.session.scalar(select(func.count(OrganisationJoinRequest.id))) == 0
    assert mails() == []


def test_the_message_is_bounded(world, registered):
    org, _, _ = registered
    with pytest.raises(ValidationFailed) as caught:
        organisations.request_to_join(world.users["foreign_applicant"], org.id, "x" * 1001)
    assert caught.value.fields == {"message": ["1000 caractères au maximum (1001 saisis)."]}
    db.session.rollback()
    assert organisations.request_to_join(world.users["foreign_applicant"], org.id,
                                         "x" * 1000).message == "x" * 1000


# -- deciding --------------------------------------------------------------------------

def test_accepting_makes_a_member_and_tells_the_requester_only(world, registered):
    org, members, _ = registered
    newcomer = world.users["foreign_applicant"]
    request = organisations.request_to_join(newcomer, org.id, "Bonjour")
    already = len(mails())
    before = now()
    decided = organisations.decide_join_request(members[1], org.id, request.id, accept=True)
    assert decided.status == "accepted" and decided.decided_by_id == members[1].id
    assert before <= decided.decided_at <= now()
    assert policies_member(newcomer, org)
    new = mails()[already:]
    assert [m.recipient_email for m in new] == [newcomer.email]
    assert new[0].subject == "Vous êtes membre de Égalité 13 sur AAP"
    assert "acceptée" in new[0].body
    assert members[1].email not in new[0].body  # who decided is not told
    # a second decision is refused, by a member at once too
    with pytest.raises(Conflict) as caught:
        organisations.decide_join_request(members[0], org.id, request.id, accept=False)
    assert caught.value.message == "Cette demande a déjà été traitée."
    db.session.rollback()
    assert db.session.get(OrganisationJoinRequest, request.id).status == "accepted"
    assert len(mails()) == already + 1


def test_declining_tells_the_requester_who_may_ask_again(world, registered):
    org, members, _ = registered
    newcomer = world.users["foreign_applicant"]
    request = organisations.request_to_join(newcomer, org.id)
    already = len(mails())
    decided = organisations.decide_join_request(members[0], org.id, request.id, accept=False)
    assert decided.status == "declined"
    assert not policies_member(newcomer, org)
    new = mails()[already:]
    assert [m.recipient_email for m in new] == [newcomer.email]
    assert new[0].subject == "Votre demande pour rejoindre Égalité 13 sur AAP"
    assert "n'ont pas accepté" in new[0].body
    again = organisations.request_to_join(newcomer, org.id, "Je réessaie")
    assert again.id != request.id and again.status == "pending"


def test_only_members_see_and_decide_the_requests(world, registered):
    org, members, _ = registered
    newcomer = world.users["foreign_applicant"]
    request = organisations.request_to_join(newcomer, org.id)
    stranger = factories.make_user(["applicant"])
    for outsider in (newcomer, stranger, world.users["instructor"], world.users["admin"]):
        with pytest.raises(Forbidden):
            organisations.join_requests(outsider, org.id)
        with pytest.raises(Forbidden):
            organisations.decide_join_request(outsider, org.id, request.id, accept=True)
    assert [r.id for r in organisations.join_requests(members[0], org.id)] == [request.id]
    with pytest.raises(NotFound):
        organisations.join_requests(members[0], 10**9)
    # a request of another organisation, through one's own: not found
    mine = world.other_org
    with pytest.raises(NotFound):
        organisations.decide_join_request(world.users["foreign_applicant"], mine.id,
                                          request.id, accept=True)
    with pytest.raises(NotFound):
        organisations.decide_join_request(members[0], org.id, 10**9, accept=True)
    db.session.rollback()
    assert db.session.get(OrganisationJoinRequest, request.id).status == "pending"
    assert not policies_member(newcomer, org)


# -- migration 0004 on a database that already holds duplicates -----------------------



@pytest.fixture
def old_database(app, tmp_path):
    """An empty database of its own at revision 0003."""
    with database_at("0003", tmp_path) as old:
        yield old


def test_migration_0004_keeps_older_duplicates_and_cleans_filenames(old_database):
    """The upgrade does not fail on duplicates: the oldest keeps its SIRET, the younger
    ones are flagged and left out of the unique index, which holds from then on."""
    from flask_migrate import upgrade

    at = "'2026-01-01 00:00:00+00:00'"
    org = ("INSERT INTO organisation (id, name, siret, address, postcode, city, "
           "legal_representative, created_at) VALUES ({id}, 'Asso {id}', '{siret}', '', '', "
           f"'', '', {at})")
    with db.engine.begin() as conn:
        for id_, siret in ((1, SIRET), (2, SIRET), (3, "35600000000048"), (4, SIRET)):
            conn.execute(text(org.format(id=id_, siret=siret)))
        conn.execute(text(
            "INSERT INTO fund (id, name, owner_name, owner_siret, imputation_chapter, "
            "imputation_nature, imputation_function, imputation_subpolicy, "
            f"owner_product_line, notification_ue, created_at) VALUES (1, 'F', 'O', "
            f"'20005478100022', '65', '65748', '552', 'D110', '74_epci', FALSE, {at})"))
        conn.execute(text(
            "INSERT INTO call (id, fund_id, title, description, fiscal_year, opens_at, "
            "closes_at, budget_cents, scale, min_total, min_reviews, overflow, "
            "partial_min_share, disagreement_threshold, completion_days, workflow, "
            f"created_at) VALUES (1, 1, 'Appel', '', 2026, {at}, "
            "'2026-02-01 00:00:00+00:00', 0, 20, 0, 1, 'partial', 0, 0, 15, 'application', "
            f"{at})"))
        conn.execute(text(
            "INSERT INTO application (id, call_id, organisation_id, state, title, summary, "
            "objectives, target_public, domains, grounds, territories, beneficiaries, "
            "requested_cents, proposed_cents, committed_cents, created_at, updated_at) "
            "VALUES (1, 1, 2, 'draft', '', '', '', '', '[]', '[]', '[]', 0, 0, 0, 0, "
            f"{at}, {at})"))
        for id_, name in ((1, "facture\u202efdp.exe.pdf"), (2, "\u2066\u200b.pdf"),
                          (3, "Statuts 2025.pdf")):
            conn.execute(text(
                "INSERT INTO attachment (id, application_id, kind, filename, stored_name, "
                "content_type, size, sha256, created_at) VALUES (:id, 1, 'statutes', "
                f":name, :stored, 'application/pdf', 1, '', {at})"),
                {"id": id_, "name": name, "stored": f"{id_:032x}.pdf"})
    upgrade(directory=MIGRATIONS, revision="0004")
    with db.engine.begin() as conn:
        flagged = dict(conn.execute(text(
            "SELECT id, siret_duplicate FROM organisation ORDER BY id")).all())
        assert {k: bool(v) for k, v in flagged.items()} == {
            1: False, 2: True, 3: False, 4: True}
        indexes = {i["name"]: i for i in inspect(conn).get_indexes("organisation")}
        assert indexes["uq_organisation_siret"]["unique"]
        names = dict(conn.execute(text("SELECT id, filename FROM attachment")).all())
        assert names == {1: "facturefdp.exe.pdf", 2: "piece.pdf", 3: "Statuts 2025.pdf"}
        # the constraint holds from now on: a fifth organisation with the SIRET is refused
        with pytest.raises(IntegrityError), conn.begin_nested():
            conn.execute(text(org.format(id=5, siret=SIRET)))
        conn.execute(text(org.format(id=6, siret="44306184100047")))
