"""Data protection (RGPD): retention and anonymisation, and the rights of the people whose
data AAP holds (export, deletion). The rules are written out in docs/rgpd.md.

Anonymising replaces the personal data of a record by neutral values and keeps what the
authority accounts for: amounts, states, dates, the call and the fund, the organisation's
legal identity (name, SIRET, RNA, commune) and the audit trail. An account becomes a
pseudonym (``compte-3f9a…``, a keyed hash of its id), so the trail still says that one
and the same account acted, without saying who. The trail itself stays append-only for
its facts (who by id, when, on what, which transition, from, to); only its free-text
payloads (comments, attachment file names, invited addresses) are blanked, by
:func:`_redact_events` alone, and an ``anonymised`` event is appended that says so.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import aliased, selectinload

from aap.errors import Conflict, ValidationFailed
from aap.extensions import db
from aap.models import (
    ApiToken,
    Application,
    AuditEvent,
    Call,
    ExportJob,
    Invitation,
    Membership,
    Notification,
    Organisation,
    OrganisationJoinRequest,
    PasswordResetToken,
    Review,
    StaffInvitation,
    User,
)
from aap.models.accounts import Role
from aap.timeutil import now
from aap.vocabulary import N_
from workflows.application import INITIAL, PHASES

NEUTRAL = "[anonymisé]"
ANONYMISED = "anonymised"  # the audit action of every anonymisation
PSEUDONYM_DOMAIN = "anonyme.invalid"  # RFC 2606: never a real mailbox
#: Refused, ineligible or withdrawn: ended without a grant (the retention rule's states).
ENDED_STATES = tuple(s for s in PHASES["terminal"] if s not in PHASES["funded"])
#: Past the draft and not decided yet: the instruction is running.
IN_INSTRUCTION = tuple(s for s in PHASES["before_decision"] if s != INITIAL)
#: A grant whose money trail is open: decided, not closed nor cancelled.
GRANT_RUNNING = tuple(s for s in PHASES["funded"] if s not in PHASES["settled"])
#: Audit payload keys that may hold personal data (blanked by _redact_events).
PERSONAL_KEYS = ("filename", "email")

# Reasons recorded in the ``anonymised`` audit events.
RETENTION = "retention"
DORMANT = "dormant_account"
DELETED = "deleted_by_owner"
LAST_MEMBER_LEFT = "last_member_left"


@dataclass
class Counts:
    """What a run anonymised (or would, in a dry run): counts only, never names."""

    applications: int = 0
    drafts: int = 0
    accounts: int = 0
    organisations: int = 0
    attachments: int = 0
    audit_events_redacted: int = 0
    files: list[str] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, int]:
        out = asdict(self)
        out.pop("files")
        return out


# -- helpers --------------------------------------------------------------------------

def years_before(moment: datetime, years: int) -> datetime:
    """The same calendar moment ``years`` earlier (29 February gives the 28th)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def pseudonym(user_id: int) -> str:
    """``compte-`` and a keyed hash of the id: stable, not reversible without the key."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    mac = hmac.new(key, f"aap-privacy:user:{user_id}".encode(), hashlib.sha256)
    return f"compte-{mac.hexdigest()[:12]}"


def _anonymised(object_type: str):
    """The ids of the objects of ``object_type`` already anonymised (their audit event)."""
    return select(AuditEvent.object_id).where(AuditEvent.object_type == object_type,
                                              AuditEvent.action == ANONYMISED)


def _record(object_type: str, object_id: int, actor: User | None, reason: str,
            application_id: int | None = None, **data: Any) -> None:
    db.session.add(AuditEvent(at=now(), actor_id=getattr(actor, "id", None),
                              object_type=object_type, object_id=object_id,
                              application_id=application_id, action=ANONYMISED,
                              data={"reason": reason, **data}))


def _redact_events(condition, *, blank_comment: bool, email: str | None = None) -> int:
    """Blank the personal payload of the audit events matching ``condition``: the free
    comment (``blank_comment``) and the keys of PERSONAL_KEYS (``email`` only when it is
    that address). The only write to existing audit rows, through SQL on purpose: the ORM
    keeps refusing any other change (see the module docstring and docs/rgpd.md)."""
    rows = db.session.execute(select(AuditEvent.id, AuditEvent.comment, AuditEvent.data)
                              .where(condition)).all()
    changed = 0
    for event_id, comment, data in rows:
        values: dict[str, Any] = {}
        if blank_comment and comment:
            values["comment"] = NEUTRAL
        payload = dict(data or {})
        for key in PERSONAL_KEYS:
            if key in payload and (key != "email" or email is None or
                                   str(payload[key]).lower() == email.lower()):
                payload[key] = NEUTRAL
        if payload != (data or {}):
            values["data"] = payload
        if values:
            db.session.execute(update(AuditEvent.__table__)
                               .where(AuditEvent.__table__.c.id == event_id).values(**values))
            changed += 1
    return changed


def _redact_notifications(condition, new_email: str | None = None) -> None:
    """Mail not sent yet is dropped; mail sent keeps its subject and date, not its body."""
    db.session.execute(delete(Notification).where(condition, Notification.status == "pending")
                       .execution_options(synchronize_session=False))
    values: dict[str, Any] = {"body": NEUTRAL}
    if new_email:
        values["recipient_email"] = new_email
    db.session.execute(update(Notification).where(condition).values(**values)
                       .execution_options(synchronize_session=False))


# -- one record -------------------------------------------------------------------------

def anonymise_application(application: Application, actor: User | None, reason: str,
                          counts: Counts) -> None:
    """Replace the application's free texts and files by neutral values; keep its figures,
    states, dates, call and organisation, and its trail (comments blanked)."""
    application.title = NEUTRAL
    application.summary = application.objectives = application.target_public = ""
    application.completion_message = None
    for attachment in list(application.attachments):
        counts.files.append(attachment.stored_name)
        counts.attachments += 1
        db.session.delete(attachment)
    if application.report is not None:
        application.report.narrative = application.report.gap_explanation = ""
    for review in application.reviews:
        review.comment = ""
        review.conflict_reason = None if review.conflict_reason is None else ""
        for score in review.scores:
            score.comment = ""
    _redact_notifications(Notification.application_id == application.id)
    counts.audit_events_redacted += _redact_events(
        AuditEvent.application_id == application.id, blank_comment=True)
    _record("application", application.id, actor, reason, application_id=application.id)


def anonymise_organisation(organisation: Organisation, actor: User | None, reason: str,
                           counts: Counts) -> None:
    """Blank the contact and bank details of an organisation nobody acts for any more and
    none of whose applications is kept; its legal identity stays (a legal person's)."""
    organisation.legal_representative = organisation.address = ""
    organisation.email = organisation.phone = organisation.iban = organisation.bic = None
    db.session.execute(delete(Invitation).where(Invitation.organisation_id == organisation.id))
    db.session.execute(update(OrganisationJoinRequest)
                       .where(OrganisationJoinRequest.organisation_id == organisation.id)
                       .values(message="").execution_options(synchronize_session=False))
    counts.organisations += 1
    _record("organisation", organisation.id, actor, reason)


def anonymise_user(user: User, actor: User | None, reason: str, counts: Counts) -> None:
    """The account becomes its pseudonym: no login, no token, no role, no membership; the
    organisations it leaves empty lose their drafts and, when nothing keeps them, their
    contact details. Its reviews, decisions and payments stay, under the pseudonym."""
    old_email = user.email
    alias = pseudonym(user.id)
    user.email, user.name = f"{alias}@{PSEUDONYM_DOMAIN}", alias
    user.password_hash = "!anonymised"  # matches no password: logins fail
    user.active, user.locale, user.last_login_at = False, None, None
    user.anonymised_at = now()
    user.end_sessions()
    user.role_rows = []
    for model in (ApiToken, PasswordResetToken, OrganisationJoinRequest):
        db.session.execute(delete(model).where(model.user_id == user.id))
    for invitation in (Invitation, StaffInvitation):
        db.session.execute(update(invitation).where(func.lower(invitation.email) ==
                                                    old_email.lower())
                           .values(email=user.email).execution_options(
                               synchronize_session=False))
    _drop_exports(user, counts)
    _redact_notifications(or_(Notification.recipient_id == user.id,
                              func.lower(Notification.recipient_email) == old_email.lower()),
                          new_email=user.email)
    counts.audit_events_redacted += _redact_events(
        AuditEvent.object_type == "authority", blank_comment=False, email=old_email)
    _leave_organisations(user, actor, counts)
    counts.accounts += 1
    _record("user", user.id, actor, reason)


def _drop_exports(user: User, counts: Counts) -> None:
    jobs = db.session.scalars(select(ExportJob).where(ExportJob.requested_by_id == user.id))
    for job in jobs:
        if job.file_path:
            counts.files.append("export:" + job.file_path)
        db.session.delete(job)


def _leave_organisations(user: User, actor: User | None, counts: Counts) -> None:
    for membership in list(user.memberships):
        organisation = membership.organisation
        user.memberships.remove(membership)
        db.session.flush()
        others = db.session.scalar(select(func.count()).select_from(Membership).where(
            Membership.organisation_id == organisation.id)) or 0
        if others:
            continue
        for draft in _drafts_of(organisation.id):
            anonymise_application(draft, actor, LAST_MEMBER_LEFT, counts)
            counts.drafts += 1
        db.session.flush()
        if not _organisation_kept(organisation.id):
            anonymise_organisation(organisation, actor, LAST_MEMBER_LEFT, counts)


def _drafts_of(organisation_id: int) -> list[Application]:
    return list(db.session.scalars(select(Application).where(
        Application.organisation_id == organisation_id, Application.state == INITIAL,
        Application.id.not_in(_anonymised("application")))))


def _organisation_kept(organisation_id: int) -> bool:
    """An application past the draft and not anonymised keeps the organisation's data."""
    return bool(db.session.scalar(select(exists().where(
        Application.organisation_id == organisation_id, Application.state != INITIAL,
        Application.id.not_in(_anonymised("application"))))))


# -- the retention run -------------------------------------------------------------------

def due_applications(at: datetime, years: int) -> list[Application]:
    """Refused, ineligible or withdrawn applications whose last state change is at least
    ``years`` before ``at``, and drafts whose call closed at least ``years`` before."""
    cut = years_before(at, years)
    ended = (select(AuditEvent.application_id, func.max(AuditEvent.at).label("at"))
             .where(AuditEvent.trigger.is_not(None)).group_by(AuditEvent.application_id)
             .subquery())
    ended_at = func.coalesce(ended.c.at, Application.updated_at)
    query = (select(Application).join(Call, Call.id == Application.call_id)
             .outerjoin(ended, ended.c.application_id == Application.id)
             .where(Application.id.not_in(_anonymised("application")),
                    or_(and_(Application.state.in_(ENDED_STATES), ended_at <= cut),
                        and_(Application.state == INITIAL, Call.closes_at <= cut)))
             .order_by(Application.id))
    return list(db.session.scalars(query).unique())


def dormant_users(at: datetime, years: int) -> list[User]:
    """Accounts with no login (nor token use) for ``years`` and no application kept by
    the law in their organisations (one past the draft and not anonymised)."""
    cut = years_before(at, years)
    token_use = (select(func.max(ApiToken.last_used_at)).where(ApiToken.user_id == User.id)
                 .scalar_subquery())
    kept = exists().where(Membership.user_id == User.id,
                          Application.organisation_id == Membership.organisation_id,
                          Application.state != INITIAL,
                          Application.id.not_in(_anonymised("application")))
    query = select(User).where(
        User.anonymised_at.is_(None),
        func.coalesce(User.last_login_at, User.created_at) <= cut,
        or_(token_use.is_(None), token_use <= cut), ~kept).order_by(User.id)
    return list(db.session.scalars(query))


def orphan_organisations() -> list[Organisation]:
    """Organisations nobody acts for and none of whose applications is kept."""
    members = exists().where(Membership.organisation_id == Organisation.id)
    kept = exists().where(Application.organisation_id == Organisation.id,
                          Application.id.not_in(_anonymised("application")))
    return list(db.session.scalars(select(Organisation).where(
        Organisation.id.not_in(_anonymised("organisation")), ~members, ~kept)
        .order_by(Organisation.id)))


def run(at: datetime | None = None, *, dry_run: bool = False) -> Counts:
    """Apply the retention settings at ``at`` (now): applications first, then the dormant
    accounts they no longer keep, then the organisations left with nothing. One
    transaction: a dry run rolls it back, so its counts are exactly what a run would do;
    files are deleted only once the transaction is committed."""
    at = at or now()
    config = current_app.config
    counts = Counts()
    for application in due_applications(at, config["PRIVACY_APPLICATION_YEARS"]):
        draft = application.state == INITIAL
        anonymise_application(application, None, RETENTION, counts)
        counts.drafts += draft
        counts.applications += not draft
    db.session.flush()
    for user in dormant_users(at, config["PRIVACY_DORMANT_ACCOUNT_YEARS"]):
        anonymise_user(user, None, DORMANT, counts)
        db.session.flush()
    for organisation in orphan_organisations():
        anonymise_organisation(organisation, None, RETENTION, counts)
    if dry_run:
        db.session.rollback()
        return counts
    db.session.commit()
    delete_files(counts.files)
    return counts


def delete_files(names: Iterable[str]) -> None:
    """Remove attachment files (and export files, ``export:`` names) once committed."""
    from aap.services.attachments import upload_dir
    from aap.services.jobs import export_dir

    for name in names:
        folder, _, stored = name.rpartition(":")
        base = export_dir() if folder == "export" else upload_dir()
        path = (base / stored).resolve()
        if path.parent == Path(base).resolve():
            path.unlink(missing_ok=True)


# -- the account's owner: deletion ----------------------------------------------------------

#: The sentence of each blocker, a msgid with ``%(name)s`` (the application): French as
#: is in the API, translated on the account pages (templates/account/_macros.html).
BLOCKER_TEXTS = {
    "staff_roles": N_("Votre compte porte des rôles d'agent d'une collectivité : demandez "
                      "à un gestionnaire ou à l'administrateur de les retirer, puis "
                      "supprimez-le."),
    "in_instruction": N_("Le dossier %(name)s est en cours d'instruction : le compte pourra "
                         "être supprimé après la décision, ou dès que vous aurez retiré le "
                         "dossier."),
    "grant_running": N_("La subvention du dossier %(name)s est en cours : le compte pourra "
                        "être supprimé à la clôture du dossier (compte rendu approuvé, solde "
                        "versé)."),
}


@dataclass(frozen=True)
class Blocker:
    """Why an account cannot be deleted yet, and until when."""

    kind: str  # staff_roles, in_instruction, grant_running
    application_id: int | None = None
    reference: str | None = None
    title: str | None = None

    @property
    def name(self) -> str:
        return self.reference or self.title or f"n° {self.application_id}"

    @property
    def msgid(self) -> str:
        return BLOCKER_TEXTS[self.kind]

    @property
    def message(self) -> str:
        """The sentence in French (the API's language)."""
        return self.msgid if self.kind == "staff_roles" else self.msgid % {"name": self.name}


def deletion_blockers(user: User) -> list[Blocker]:
    """What keeps the account (docs/rgpd.md): staff roles; and, in an organisation where
    it is the last member, an application under instruction or a grant not settled. Two
    queries whatever the number of organisations."""
    blockers: list[Blocker] = []
    if any(r.role != Role.APPLICANT for r in user.role_rows):
        blockers.append(Blocker("staff_roles"))
    other = aliased(Membership)
    alone = select(Membership.organisation_id).where(
        Membership.user_id == user.id,
        ~exists().where(other.organisation_id == Membership.organisation_id,
                        other.user_id != user.id))
    rows = db.session.execute(select(Application.id, Application.state,
                                     Application.reference, Application.title).where(
        Application.organisation_id.in_(alone),
        Application.state.in_(IN_INSTRUCTION + GRANT_RUNNING)).order_by(Application.id))
    blockers += [Blocker("in_instruction" if state in IN_INSTRUCTION else "grant_running",
                         app_id, reference, title) for app_id, state, reference, title in rows]
    return blockers


def delete_account(user: User, password: str) -> Counts:
    """The owner deletes its account: the password again, nothing keeping it, then the
    account is anonymised (sessions and tokens end everywhere) and its organisations'
    drafts go with it when it was their last member."""
    if not user.check_password(password or ""):
        raise ValidationFailed("Mot de passe incorrect.",
                               fields={"password": ["Mot de passe incorrect."]})
    if blockers := deletion_blockers(user):
        raise Conflict("Le compte ne peut pas encore être supprimé.", code="account_kept",
                       fields={"account": [b.message for b in blockers]})
    counts = Counts()
    anonymise_user(user, user, DELETED, counts)
    db.session.commit()
    delete_files(counts.files)
    return counts


# -- the account's owner: its data -----------------------------------------------------------

def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _row(obj: Any, *names: str) -> dict[str, Any]:
    return {name: _plain(getattr(obj, name)) for name in names}


def export_user_data(user: User) -> dict[str, Any]:
    """Everything AAP holds about the account, as one JSON document: the account, its
    organisations, their applications (answers, budget, decision, convention, payments,
    repayments, report, attachments' metadata, the history the applicant sees), the mail
    sent to it, its own reviews, requests and actions. Nothing about other people: no
    other member, no juror's name, no invited address."""
    memberships = list(db.session.scalars(
        select(Membership).where(Membership.user_id == user.id).order_by(Membership.id)
        .options(selectinload(Membership.organisation))))
    organisations = [m.organisation for m in memberships]
    applications = list(db.session.scalars(
        select(Application).where(Application.organisation_id.in_(
            [o.id for o in organisations])).order_by(Application.id)
        .options(*(selectinload(getattr(Application, name)) for name in (
            "budget_lines", "attachments", "payments", "repayments", "decision",
            "convention", "report"))))) if organisations else []
    histories = _histories([a.id for a in applications])
    document = {
        "format": "aap-personal-data/1",
        "generated_at": now().isoformat(),
        "account": _account(user),
        "api_tokens": [_row(t, "id", "label", "created_at", "expires_at", "last_used_at",
                            "revoked") for t in db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id))],
        "organisations": [_organisation(m.organisation, m) for m in memberships],
        "applications": [_application(a, histories.get(a.id, [])) for a in applications],
        "messages": _messages(user),
        "reviews": _reviews(user),
        "join_requests": [_row(r, "organisation_id", "status", "message", "created_at",
                               "decided_at") for r in db.session.scalars(
            select(OrganisationJoinRequest).where(OrganisationJoinRequest.user_id == user.id)
            .order_by(OrganisationJoinRequest.id))],
        "invitations_sent": [_row(i, "organisation_id", "created_at", "expires_at",
                                  "accepted_at") for i in db.session.scalars(
            select(Invitation).where(Invitation.invited_by_id == user.id)
            .order_by(Invitation.id))],
        "activity": [_row(e, "at", "object_type", "object_id", "application_id", "action",
                          "trigger", "from_state", "to_state", "comment")
                     for e in db.session.scalars(select(AuditEvent).where(
                         AuditEvent.actor_id == user.id).order_by(AuditEvent.id))],
    }
    return json.loads(json.dumps(document, default=str))


def _account(user: User) -> dict[str, Any]:
    out = _row(user, "id", "email", "name", "locale", "created_at", "last_login_at")
    out["roles"] = [{"role": r.role, "authority_id": r.authority_id}
                    for r in sorted(user.role_rows, key=lambda r: (r.role, r.authority_id or 0))]
    return out


def _organisation(org: Organisation, membership: Membership) -> dict[str, Any]:
    out = _row(org, "id", "name", "siret", "rna", "address", "postcode", "city",
               "legal_representative", "email", "phone", "iban", "bic", "created_at")
    out["member_since"] = _plain(membership.created_at)
    return out


def _application(app: Application, history: list[dict[str, Any]]) -> dict[str, Any]:
    out = _row(app, "id", "reference", "state", "organisation_id", "title", "summary",
               "objectives", "target_public", "domains", "grounds", "territories",
               "beneficiaries", "starts_on", "ends_on", "requested_cents", "submitted_at",
               "completion_message", "completion_deadline", "created_at")
    out["call"] = {"id": app.call.id, "title": app.call.title,
                   "fiscal_year": app.call.fiscal_year}
    out["budget"] = app.budget()
    out["decision"] = app.decision and _row(app.decision, "body", "reference", "decided_on",
                                            "amount_cents")
    out["convention"] = app.convention and _row(app.convention, "reference", "signed_on",
                                                "schedule")
    out["payments"] = [_row(p, "kind", "amount_cents", "paid_on", "mandate")
                       for p in app.payments]
    out["repayments"] = [_row(r, "amount_cents", "reason", "reference", "claimed_on",
                              "received_on") for r in app.repayments]
    report = app.report
    out["report"] = report and {**_row(report, "narrative", "gap_explanation",
                                       "beneficiaries_reached", "submitted_at"),
                                "realised": report.realised()}
    out["attachments"] = [_row(a, "id", "kind", "filename", "content_type", "size", "sha256",
                               "created_at") for a in app.attachments]
    out["history"] = history
    return out


def _histories(application_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each application's state changes as the applicant's page shows them: no actor
    (staff are other people), the comments written for the applicant only. One query."""
    from aap.web.applicant import APPLICANT_COMMENTS  # the applicant page's own rule

    out: dict[int, list[dict[str, Any]]] = {}
    if not application_ids:
        return out
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.application_id.in_(application_ids), AuditEvent.trigger.is_not(None))
        .order_by(AuditEvent.at, AuditEvent.id))
    for e in events:
        out.setdefault(e.application_id, []).append({
            "trigger": e.trigger, "from": e.from_state, "to": e.to_state, "at": _plain(e.at),
            "comment": e.comment if e.trigger in APPLICANT_COMMENTS else None})
    return out


def _messages(user: User) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(Notification).where(
        or_(Notification.recipient_id == user.id,
            func.lower(Notification.recipient_email) == user.email.lower()))
        .order_by(Notification.id))
    return [_row(n, "application_id", "subject", "body", "status", "created_at", "sent_at")
            for n in rows]


def _reviews(user: User) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(Review).where(Review.juror_id == user.id)
                              .order_by(Review.id).options(selectinload(Review.application)))
    return [{**_row(r, "application_id", "conflict", "conflict_reason", "comment",
                    "submitted", "submitted_at", "total"),
             "reference": r.application.reference,
             "scores": [_row(s, "criterion_key", "score", "comment") for s in r.scores]}
            for r in rows]
