"""The signed-in person's own data (RGPD, docs/rgpd.md): export it, change the password,
delete the account."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from aap.api.auth import SECURITY, current_api_user, token_required
from aap.api.schemas import StrictSchema, Text
from aap.password_throttle import counting_wrong, password_check
from aap.security_log import ACCOUNT_DELETED, PASSWORD_CHANGED, security_event
from aap.services import accounts, privacy

blp = Blueprint("api_me", __name__, description="The caller's own account and data")


class RoleHeld(Schema):
    role = fields.String()
    authority_id = fields.Integer(allow_none=True, metadata={
        "description": "None: held platform-wide."})


class AccountData(Schema):
    id = fields.Integer()
    email = fields.String()
    name = fields.String()
    locale = fields.String(allow_none=True)
    created_at = fields.String(metadata={"description": "ISO 8601 with offset."})
    last_login_at = fields.String(allow_none=True)
    roles = fields.List(fields.Nested(RoleHeld))


def _records(description: str) -> fields.List:
    return fields.List(fields.Dict(), metadata={"description": description})


class PersonalData(Schema):
    """Everything AAP holds about the caller (the right of access and portability)."""

    format = fields.String(metadata={"description": "aap-personal-data/1"})
    generated_at = fields.String()
    account = fields.Nested(AccountData)
    api_tokens = _records("The caller's tokens: label and dates, never a value.")
    organisations = _records("The organisations it is a member of, with member_since.")
    applications = _records(
        "Its organisations' applications: answers, budget, decision, convention, payments, "
        "repayments, report, attachments' metadata and the history the applicant sees.")
    messages = _records("The mail AAP sent to it (the outbox).")
    reviews = _records("Its own reviews, if it sits on a jury.")
    join_requests = _records("Its requests to join organisations.")
    invitations_sent = _records("The invitations it sent (not the invited addresses).")
    activity = _records("The audited actions it took.")


class DeleteAccountIn(StrictSchema):
    password = Text(1000, required=True, load_only=True, metadata={
        "description": "The account's password, asked again."})


class ChangePasswordIn(StrictSchema):
    current_password = Text(1000, required=True, load_only=True, metadata={
        "description": "The account's password now."})
    new_password = Text(1000, required=True, load_only=True, metadata={
        "description": "12 to 128 characters, not the e-mail's local part, not a run or a "
                       "repetition; no composition rule (a phrase of a few words is fine)."})


@blp.route("/me/export", methods=["GET"])
@blp.doc(security=SECURITY)
@token_required
@blp.response(200, PersonalData)
def export_me():
    """All the caller's personal data as one JSON document (nothing about other people)."""
    return privacy.export_user_data(current_api_user())


@blp.route("/me", methods=["DELETE"])
@blp.doc(security=SECURITY)
@token_required
@password_check
@blp.arguments(DeleteAccountIn)
@blp.response(204)
def delete_me(data):
    """Delete the caller's account: the password again; 409 ``account_kept`` (each reason
    in ``fields.account``) while an application under instruction or a running grant of an
    organisation it is the last member of, or a staff role, keeps it. The account becomes
    a pseudonym: every session and token stops working. Wrong passwords are throttled
    with the password change's (10 a quarter of an hour per account, then 429)."""
    with counting_wrong("password"):
        privacy.delete_account(current_api_user(), data["password"])
    security_event(ACCOUNT_DELETED, user_id=current_api_user().id)


@blp.route("/me/password", methods=["PUT"])
@blp.doc(security=SECURITY)
@token_required
@password_check
@blp.arguments(ChangePasswordIn)
@blp.response(204)
def change_my_password(data):
    """Change the caller's password: 422 on ``current_password`` when it is wrong (10 a
    quarter of an hour per account, then 429, like failed logins) and on ``new_password``
    for each rule it breaks. Then every web session and every API token of the account
    ends, the token of this request included (ask a new one from ``POST /auth/token``),
    and the owner is mailed."""
    with counting_wrong("current_password"):
        accounts.change_password(current_api_user(), data["current_password"],
                                 data["new_password"])
    security_event(PASSWORD_CHANGED, user_id=current_api_user().id)
