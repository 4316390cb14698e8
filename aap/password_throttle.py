"""The throttle of a wrong current password, shared by « Mon compte » and the API: like
failed logins (10 per account in 15 minutes, then 429 with ``Retry-After``), so a stolen
session or token cannot guess the password it does not know. One bucket per account,
common to the pages and the API (changing the password, deleting the account); only
wrong passwords count."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import g, request
from flask_login import current_user

from aap.errors import ValidationFailed
from aap.extensions import limiter
from aap.security_log import REAUTHENTICATION_FAILED, security_event

LIMIT = "10 per 15 minutes"


def note_wrong_password() -> None:
    """Count this request against the account (read once the response is made)."""
    g.wrong_current_password = True
    security_event(REAUTHENTICATION_FAILED)


@contextmanager
def counting_wrong(field: str) -> Iterator[None]:
    """Count a refusal that names ``field`` (a wrong password; a weak new one does not
    count), then let it go on to the caller."""
    try:
        yield
    except ValidationFailed as exc:
        if field in exc.fields:
            note_wrong_password()
        raise


def _account_key() -> str:
    user = g.get("api_user") or current_user
    user_id = getattr(user, "id", None)
    return f"password-check:{user_id}" if user_id else f"password-check:{request.remote_addr}"


def _was_wrong(_response) -> bool:
    return bool(g.get("wrong_current_password"))


#: Put it under the authentication (``login_required``, ``token_required``): the key is the
#: signed-in account.
password_check = limiter.shared_limit(LIMIT, scope="password-check", key_func=_account_key,
                                      deduct_when=_was_wrong,
                                      methods=["POST", "PUT", "DELETE"])
