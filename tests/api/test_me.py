"""The applicant's rights through the API (docs/rgpd.md, docs/api.md): ``GET /me/export``
gives everything about the caller and nothing about anyone else; ``DELETE /me`` asks for
the password, refuses while the law keeps the account (saying why), and otherwise turns
the account into a pseudonym whose tokens stop working."""

from __future__ import annotations

import io
import json

from sqlalchemy import select

from aap.extensions import db
from aap.models import Application, AuditEvent, Membership, User
from aap.services import attachments, reviews
from tests import factories
from tests.api.helpers import assert_error, ok

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _delete(api, user, password=factories.PASSWORD, token=None):
    return api.request("DELETE", "/me", token=token or api.token(user),
                       json={"password": password})


def test_the_export_holds_the_callers_data(api, world):
    user = world.users["applicant"]
    draft = world.application(title="Notre projet d'ateliers")
    attachments.add_attachment(user, draft.id, "statutes",
                               attachments.Upload("statuts.pdf", io.BytesIO(PDF)))
    granted = world.bring_to(world.application(title="Projet financé"), "granted")
    foreign = factories.make_application(world.call, world.other_org,
                                         title="Projet d'une autre association")
    body = ok(api.get("/me/export", as_=user))
    assert body["format"] == "aap-personal-data/1"
    assert body["account"]["email"] == user.email
    assert body["account"]["roles"] == [{"role": "applicant", "authority_id": None}]
    assert [o["siret"] for o in body["organisations"]] == [world.org.siret]
    assert body["organisations"][0]["iban"] == world.org.iban
    titles = {a["title"]: a for a in body["applications"]}
    assert set(titles) == {"Notre projet d'ateliers", "Projet financé"}
    mine = titles["Notre projet d'ateliers"]
    assert mine["budget"] == factories.balanced_budget(5_000_00)
    assert [(a["kind"], a["filename"], a["size"]) for a in mine["attachments"]] == [
        ("statutes", "statuts.pdf", len(PDF))]
    funded = titles["Projet financé"]
    assert funded["decision"]["amount_cents"] == granted.granted_cents
    assert [h["trigger"] for h in funded["history"]] == factories.path_to("granted")
    assert all("actor" not in h for h in funded["history"])
    assert any(m["application_id"] == granted.id for m in body["messages"])  # the grant mail
    assert {e["action"] for e in body["activity"]} >= {"upload", "transition"}
    assert foreign.title not in json.dumps(body)


def test_the_export_names_no_one_else(api, world):
    """A second member, the jurors and the instructor who acted on the file stay out."""
    other = factories.make_user(["applicant"], email="autre.membre@example.org",
                                name="Autre Membre")
    db.session.add(Membership(user_id=other.id, organisation_id=world.org.id))
    db.session.commit()
    application = world.bring_to(world.application(), "rejected")
    text = api.get("/me/export", as_=world.users["applicant"]).get_data(True)
    names = [other.email, other.name, world.users["juror"].email, world.users["juror"].name,
             world.users["instructor"].email, world.users["instructor"].name,
             world.other_org.name]
    assert [n for n in names if n in text] == []
    assert f'"id": {application.id}' in text or f'"id":{application.id}' in text


def test_a_jurors_export_holds_its_own_reviews_only(api, world):
    application = world.bring_to(world.application(), "in_review")
    juror = world.users["juror"]
    reviews.save_review(juror, application, {
        "scores": {"pertinence": 4, "faisabilite": 3}, "comment": "Projet solide.",
        "submit": True})
    reviews.save_review(world.users["juror2"], application, {
        "scores": {"pertinence": 1, "faisabilite": 1}, "comment": "Avis du second juré.",
        "submit": True})
    body = ok(api.get("/me/export", as_=juror))
    assert [(r["application_id"], r["comment"], r["submitted"]) for r in body["reviews"]] == [
        (application.id, "Projet solide.", True)]
    assert {s["criterion_key"]: s["score"] for s in body["reviews"][0]["scores"]} == {
        "pertinence": "4.000", "faisabilite": "3.000"}
    assert "Avis du second juré." not in json.dumps(body)
    assert body["applications"] == [] and body["organisations"] == []


def test_deleting_asks_for_the_password(api, world):
    user = world.users["applicant"]
    assert_error(_delete(api, user, password="pas-le-bon-2026"), 422, "invalid_data",
                 fields=["password"])
    assert_error(api.request("DELETE", "/me", token=api.token(user), json={}), 422,
                 "invalid_data", fields=["password"])
    assert_error(api.request("DELETE", "/me", json={"password": "x"}), 401, "unauthorized")
    assert db.session.get(User, user.id).active


def test_an_application_under_instruction_keeps_the_account(api, world):
    user = world.users["applicant"]
    application = world.bring_to(world.application(), "submitted")
    error = assert_error(_delete(api, user), 409, "account_kept", fields=["account"])
    [reason] = error["fields"]["account"]
    assert application.reference in reason and "après la décision" in reason
    # withdrawn, it no longer keeps the account
    world.fire(application, "withdraw")
    assert _delete(api, user).status_code == 204


def test_a_running_grant_keeps_the_account_until_the_file_is_closed(api, world):
    user = world.users["applicant"]
    application = world.bring_to(world.application(), "in_progress")
    error = assert_error(_delete(api, user), 409, "account_kept")
    assert "clôture du dossier" in error["fields"]["account"][0]
    for trigger in ("submit_report", "approve_report", "close"):
        application = world.fire(application, trigger)
    assert _delete(api, user).status_code == 204


def test_another_member_carries_the_files(api, world):
    """The last member alone is kept: with a second member, the file has its contact."""
    user = world.users["applicant"]
    world.bring_to(world.application(), "submitted")
    other = factories.make_user(["applicant"])
    db.session.add(Membership(user_id=other.id, organisation_id=world.org.id))
    db.session.commit()
    assert _delete(api, user).status_code == 204
    assert db.session.scalar(select(Membership.user_id).where(
        Membership.organisation_id == world.org.id)) == other.id


def test_staff_roles_keep_the_account(api, world):
    error = assert_error(_delete(api, world.users["juror"]), 409, "account_kept")
    assert "gestionnaire" in error["fields"]["account"][0]


def test_deletion_anonymises_the_account_ends_its_tokens_and_empties_its_drafts(api, world):
    user = world.users["applicant"]
    draft = world.application(title="Brouillon personnel")
    other_token = api.login(user.email).get_json()["token"]
    token = api.token(user)
    assert _delete(api, user, token=token).status_code == 204
    for old in (token, other_token):
        assert_error(api.get("/me/export", token=old), 401, "unauthorized")
    assert api.login(user.email).status_code == 401
    db.session.expire_all()
    account = db.session.get(User, user.id)
    assert account.email.startswith("compte-") and account.email.endswith("@anonyme.invalid")
    assert account.name == account.email.split("@")[0] and not account.active
    assert db.session.get(Application, draft.id).title == "[anonymisé]"
    assert world.org.legal_representative == ""  # nothing kept the organisation's contacts
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "user", AuditEvent.object_id == user.id)).one()
    assert (event.action, event.actor_id, event.data) == (
        "anonymised", user.id, {"reason": "deleted_by_owner"})


def test_a_bad_body_is_refused_not_a_500(api, world):
    user = world.users["applicant"]
    token = api.token(user)
    for body, content_type in ((b"not json", "application/json"),
                               (b'{"password": NaN}', "application/json"),
                               (b'{"password": 12}', "application/json"),
                               (b'{"password": "x", "extra": 1}', "application/json"),
                               (b"password=x", "application/x-www-form-urlencoded")):
        response = api.request("DELETE", "/me", token=token, data=body,
                               headers={"Content-Type": content_type})
        assert response.status_code in (400, 415, 422), (body, response.get_data(True))
    assert db.session.get(User, user.id).active


def test_wrong_passwords_at_deletion_are_throttled_per_account(throttled_api, world):
    """A stolen token cannot guess the password through DELETE /me: 10 wrong passwords in
    15 minutes (the password change's count), then 429 with Retry-After, even with the
    right one; the account is still there."""
    user = world.users["applicant"]
    token = throttled_api.token(user)
    assert [_delete(throttled_api, user, "Pas-le-bon-2026", token=token).status_code
            for _ in range(10)] == [422] * 10
    response = _delete(throttled_api, user, token=token)
    assert_error(response, 429, "too_many_requests")
    assert int(response.headers["Retry-After"]) > 0
    db.session.rollback()
    assert db.session.get(User, user.id).email == user.email  # not anonymised
