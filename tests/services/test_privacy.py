"""Retention and anonymisation (docs/rgpd.md), on hand-built records dated around the
thresholds. The expectations are written out from the rules, not read from the service:

- applications refused, ineligible or withdrawn at least PRIVACY_APPLICATION_YEARS (5)
  before the run are anonymised, counted from their last state change; drafts too once
  their call closed that long ago; everything else (instruction running, grants, closed
  files) is kept;
- accounts with no login nor token use for PRIVACY_DORMANT_ACCOUNT_YEARS (3), none of
  whose organisations holds an application past the draft that is not anonymised, become
  pseudonyms; an organisation left with no member and nothing kept loses its contacts.

The trail's dates are set by running the transitions with the audit clock at T_END.
"""

from __future__ import annotations

import hashlib
import hmac
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from aap.extensions import db
from aap.models import (
    ApiToken,
    Application,
    AuditEvent,
    Notification,
    Organisation,
    Review,
    User,
)
from aap.services import accounts, attachments, privacy, workflow
from tests import factories

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
T_END = datetime(2020, 3, 10, 12, 0, tzinfo=UTC)  # when the ended files ended
RUN = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)  # exactly 5 years later
LOGIN_LIMIT = datetime(2022, 3, 10, 12, 0, tzinfo=UTC)  # exactly 3 years before RUN


def expected_pseudonym(user_id: int) -> str:
    """The documented formula: HMAC-SHA256 of "aap-privacy:user:{id}" under SECRET_KEY."""
    mac = hmac.new(b"test-secret", f"aap-privacy:user:{user_id}".encode(), hashlib.sha256)
    return "compte-" + mac.hexdigest()[:12]


def test_the_ended_states_are_spec_s_refusals_and_withdrawal():
    """SPEC 4: ineligible, rejected and withdrawn end a file without a grant."""
    assert set(privacy.ENDED_STATES) == {"ineligible", "rejected", "withdrawn"}
    assert set(privacy.GRANT_RUNNING) == {"granted", "contracted", "in_progress",
                                          "report_submitted", "report_approved"}


def test_years_before_keeps_the_calendar_day():
    assert privacy.years_before(RUN, 5) == T_END
    leap = datetime(2028, 2, 29, 8, 0, tzinfo=UTC)
    assert privacy.years_before(leap, 3) == datetime(2025, 2, 28, 8, 0, tzinfo=UTC)


def _user(email: str, *, created: datetime, last_login: datetime | None = None) -> User:
    user = factories.make_user(["applicant"], email=email, name=email.split("@")[0])
    user.created_at, user.last_login_at = created, last_login
    db.session.commit()
    return user


@pytest.fixture
def records(world, monkeypatch, app):
    """The hand-built records (see the module docstring)."""
    applicant, instructor = world.users["applicant"], world.users["instructor"]
    monkeypatch.setattr("aap.services.audit.now", lambda: T_END)
    recs: dict[str, object] = {}
    rejected = world.application(title="Ateliers de Camille Martin")
    stored = attachments.add_attachment(
        applicant, rejected.id, "statutes",
        attachments.Upload("statuts-camille-martin.pdf", io.BytesIO(PDF))).stored_name
    recs["rejected"] = world.bring_to(rejected, "rejected")
    recs["stored"] = stored
    review = db.session.scalars(select(Review).where(
        Review.application_id == rejected.id)).first()
    review.comment = "Mme Martin présente bien."
    recs["ineligible"] = world.bring_to(world.application(), "ineligible")
    recs["granted"] = world.bring_to(world.application(), "granted")
    recs["closed"] = world.bring_to(world.application(), "closed")
    recs["submitted"] = world.bring_to(world.application(), "submitted")
    recs["draft_open"] = world.application(title="Brouillon en cours")
    monkeypatch.setattr("aap.services.audit.now", lambda: T_END + timedelta(days=1))
    recs["withdrawn_later"] = world.bring_to(world.application(), "withdrawn")
    closed_call = factories.make_call(world.fund, title="Appel 2020",
                                      opens_at=T_END - timedelta(days=60), closes_at=T_END)
    recs["draft_closed"] = factories.make_application(closed_call, world.org,
                                                      title="Brouillon abandonné")
    # accounts
    old = datetime(2019, 1, 1, tzinfo=UTC)
    recs["dormant"] = _user("dormant@example.org", created=old, last_login=LOGIN_LIMIT)
    recs["recent"] = _user("recent@example.org", created=old,
                           last_login=LOGIN_LIMIT + timedelta(seconds=1))
    recs["token_user"] = _user("jeton@example.org", created=old, last_login=old)
    accounts.issue_token(recs["token_user"], timedelta(days=3000), "ERP")
    token = db.session.scalars(select(ApiToken).where(
        ApiToken.user_id == recs["token_user"].id)).one()
    token.last_used_at = LOGIN_LIMIT + timedelta(days=1)
    recs["kept_member"] = _user("membre@example.org", created=old)
    db.session.add(factories.Membership(user_id=recs["kept_member"].id,
                                        organisation_id=world.org.id))
    # an account that submitted its organisation's only file, declared ineligible at T_END
    monkeypatch.setattr("aap.services.audit.now", lambda: T_END)
    lonely = _user("seule@example.org", created=old)
    org2 = factories.make_organisation([lonely], legal_representative="Lina Seule",
                                       email="contact@seule.example.org", phone="0600000000")
    application = factories.make_application(world.call, org2)
    workflow.fire(application, "submit", lonely, {})
    recs["lonely_app"] = world.fire(application, "declare_ineligible",
                                    {"comment": "Mme Lina Seule n'a pas de statuts."})
    recs["lonely"], recs["org2"] = lonely, org2
    db.session.add(Notification(recipient_email=lonely.email, recipient_id=lonely.id,
                                application_id=application.id, subject="Votre dossier",
                                body="Bonjour Lina Seule, ...", status="sent"))
    db.session.commit()
    monkeypatch.undo()
    assert instructor  # the staff of the world are new accounts: never dormant
    return recs


EXPECTED = {"applications": 3,  # rejected, ineligible, the lonely account's ineligible file
            "drafts": 1,  # the draft of the call closed at T_END
            "accounts": 2,  # dormant (login exactly 3 years ago), lonely (never logged in)
            "organisations": 1,  # org2, left with no member and only an anonymised file
            "attachments": 1,
            }


def _fresh(obj):
    return db.session.get(type(obj), obj.id, populate_existing=True)


def test_a_dry_run_counts_exactly_what_a_run_does_and_changes_nothing(records, app):
    counts = privacy.run(RUN, dry_run=True).as_dict()
    assert {k: counts[k] for k in EXPECTED} == EXPECTED
    assert _fresh(records["rejected"]).title == "Ateliers de Camille Martin"
    assert (Path(app.config["UPLOAD_DIR"]) / records["stored"]).exists()
    assert _fresh(records["dormant"]).anonymised_at is None
    done = privacy.run(RUN).as_dict()
    assert done == counts


def test_one_second_before_the_thresholds_nothing_is_due(records):
    counts = privacy.run(RUN - timedelta(seconds=1), dry_run=True).as_dict()
    assert {k: counts[k] for k in EXPECTED} == dict.fromkeys(EXPECTED, 0)


def test_anonymised_applications_keep_their_figures_and_lose_their_texts(records, app):
    rejected = records["rejected"]
    figures = (rejected.requested_cents, rejected.state, rejected.call_id,
               rejected.organisation_id, rejected.budget(), rejected.submitted_at)
    privacy.run(RUN)
    db.session.expire_all()
    rejected = db.session.get(Application, rejected.id)
    assert (rejected.requested_cents, rejected.state, rejected.call_id,
            rejected.organisation_id, rejected.budget(), rejected.submitted_at) == figures
    assert rejected.title == "[anonymisé]"
    assert rejected.summary == rejected.objectives == rejected.target_public == ""
    assert rejected.attachments == []
    assert not (Path(app.config["UPLOAD_DIR"]) / records["stored"]).exists()
    assert all(r.comment == "" for r in rejected.reviews)
    assert all(s.score is not None for r in rejected.reviews for s in r.scores)
    trail = db.session.scalars(select(AuditEvent).where(
        AuditEvent.application_id == rejected.id).order_by(AuditEvent.id)).all()
    # the facts of the trail stay: every transition, in order, then one anonymisation
    assert [e.trigger for e in trail if e.trigger] == factories.path_to("rejected")
    assert trail[-1].action == "anonymised" and trail[-1].data["reason"] == "retention"
    upload = next(e for e in trail if e.action == "upload")
    assert upload.data["filename"] == "[anonymisé]" and upload.data["kind"] == "statutes"
    ineligible = db.session.scalars(select(AuditEvent).where(
        AuditEvent.application_id == records["ineligible"].id,
        AuditEvent.trigger == "declare_ineligible")).one()
    assert ineligible.comment == "[anonymisé]" and ineligible.to_state == "ineligible"


def test_what_the_law_keeps_is_untouched(records):
    privacy.run(RUN)
    db.session.expire_all()
    for name in ("granted", "closed", "submitted", "draft_open", "withdrawn_later"):
        kept = db.session.get(Application, records[name].id)
        assert kept.title != "[anonymisé]", name
        assert not db.session.scalar(select(AuditEvent.id).where(
            AuditEvent.application_id == kept.id, AuditEvent.action == "anonymised")), name
    assert db.session.get(Application, records["granted"].id).decision.amount_cents > 0
    assert db.session.get(Application, records["draft_closed"].id).title == "[anonymisé]"


def test_dormant_accounts_become_pseudonyms_and_the_trail_names_them_so(records):
    lonely_id = records["lonely"].id
    submit = db.session.scalars(select(AuditEvent).where(
        AuditEvent.application_id == records["lonely_app"].id,
        AuditEvent.trigger == "submit")).one()
    privacy.run(RUN)
    db.session.expire_all()
    for name in ("dormant", "lonely"):
        user = db.session.get(User, records[name].id)
        alias = expected_pseudonym(user.id)
        assert (user.name, user.email) == (alias, f"{alias}@anonyme.invalid")
        assert not user.active and user.anonymised_at is not None
        assert user.roles == [] and user.memberships == []
        assert accounts.authenticate(f"{name}@example.org", factories.PASSWORD) is None
    for name in ("recent", "token_user", "kept_member"):
        user = db.session.get(User, records[name].id)
        assert user.anonymised_at is None and user.email == f"{user.email}", name
        assert "@example.org" in user.email
    event = db.session.get(AuditEvent, submit.id)
    assert event.actor_id == lonely_id
    assert event.actor.display_name == expected_pseudonym(lonely_id)
    assert (event.from_state, event.to_state) == ("draft", "submitted")
    mail = db.session.scalars(select(Notification).where(
        Notification.recipient_id == lonely_id)).one()
    assert mail.body == "[anonymisé]" and "example.org" not in mail.recipient_email


def test_an_organisation_left_alone_keeps_its_identity_not_its_contacts(records):
    org = records["org2"]
    identity = (org.name, org.siret, org.postcode, org.city)
    privacy.run(RUN)
    org = db.session.get(Organisation, org.id, populate_existing=True)
    assert (org.name, org.siret, org.postcode, org.city) == identity
    assert (org.legal_representative, org.email, org.phone, org.iban, org.bic,
            org.address) == ("", None, None, None, None, "")


def test_every_anonymisation_is_audited_once_and_a_second_run_finds_nothing(records):
    privacy.run(RUN)
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "anonymised")).all()
    kinds = sorted(e.object_type for e in events)
    assert kinds == ["application"] * 4 + ["organisation"] + ["user"] * 2
    again = privacy.run(RUN).as_dict()
    assert again == dict.fromkeys(again, 0)
