"""Accounts: users, roles, passwords and API bearer tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from datetime import timedelta
from itertools import pairwise

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from aap.errors import NotFound, ValidationFailed
from aap.extensions import db
from aap.models import ApiToken, AuditEvent, Authority, PasswordResetToken, User
from aap.models.accounts import AUTHORITY_ROLES, ROLES, Role
from aap.services import notifications, password_strength
from aap.timeutil import now
from aap.vocabulary import N_

#: ASVS 2.1.1 and 2.1.2: at least 12 characters, passphrases up to 128 welcome. The
#: problems are French msgids (the pages translate them; the API answers in French).
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
TOO_SHORT = N_("Au moins 12 caractères.")
TOO_LONG = N_("Au plus 128 caractères.")
PREDICTABLE = N_("Trop prévisible (répétitions ou suite de caractères) : une phrase de "
                 "quelques mots convient.")
HAS_IDENTIFIER = N_("Le mot de passe ne doit pas contenir votre identifiant.")
#: ASVS 2.1.7: common, breached or easily guessed (aap.services.password_strength).
GUESSABLE = N_("Ce mot de passe est trop courant ou trop facile à deviner : choisissez "
               "une phrase de plusieurs mots.")
WRONG_CURRENT_PASSWORD = N_("Le mot de passe actuel est incorrect.")
#: ``"{user id}:{session version}:{issued}"``, issued in seconds since the epoch (UTC).
SESSION_IDENTITY = re.compile(r"([0-9]{1,18}):([0-9]{1,9}):([0-9]{1,12})")
#: An identity issued later than now by more than this (clocks of two hosts) is refused.
CLOCK_SKEW = timedelta(minutes=5)
MAX_USER_ID = 2**31 - 1  # an INTEGER column: a larger id is no user (not an overflow)
_dummy_hashes: dict[str, str] = {}


def normalise_email(email: str) -> str:
    try:
        return validate_email(email or "", check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValidationFailed("Adresse électronique invalide.",
                               fields={"email": ["Adresse électronique invalide."]}) from exc


def password_problems(password: str, email: str = "", name: str = "") -> list[str]:
    """Length, not the identifier, not a keyboard run, not common or easily guessed: no
    composition rule (ASVS 2.1.9), so a passphrase of plain words is welcome. The
    guessing estimate only when nothing else is wrong: one clear message at a time."""
    problems = []
    if len(password or "") < MIN_PASSWORD_LENGTH:
        problems.append(TOO_SHORT)
    if len(password or "") > MAX_PASSWORD_LENGTH:
        problems.append(TOO_LONG)
    if password and _predictable(password):
        problems.append(PREDICTABLE)
    local = email.split("@")[0].lower() if email else ""
    if password and len(local) >= 3 and local in password.lower():
        problems.append(HAS_IDENTIFIER)
    if not problems and password_strength.is_guessable(password, (email, name)):
        problems.append(GUESSABLE)
    return problems


def _predictable(password: str) -> bool:
    """Fewer than 5 distinct characters, or mostly steps of -1, 0 or +1 between
    neighbours ("aaaaaaaaaaaa", "12345678901234", "abcdefghijkl")."""
    steps = [abs(ord(b) - ord(a)) <= 1 for a, b in pairwise(password)]
    return len(set(password.lower())) < 5 or sum(steps) >= 0.75 * len(steps)


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))


def create_user(email: str, password: str, roles: list[str], name: str = "",
                authority_id: int | None = None) -> User:
    """A new account with ``roles``, platform-wide or held in ``authority_id`` (staff
    roles only: instructor, finance, juror, manager)."""
    fields: dict[str, list[str]] = {}
    try:
        email = normalise_email(email)
    except ValidationFailed as exc:  # report it with the other problems, all at once
        fields.update(exc.fields)
        email = ""
    else:
        if find_by_email(email):
            fields["email"] = ["Un compte existe déjà avec cette adresse."]
    if problems := password_problems(password, email, name):
        fields["password"] = problems
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        fields["roles"] = [f"Rôles possibles : {', '.join(ROLES)}."]
    if authority_id is not None:
        fields.update(_authority_role_problems(roles, authority_id))
    if fields:
        raise ValidationFailed("Compte non créé.", fields=fields)
    user = User(email=email, name=(name or "").strip()[:200])
    user.set_password(password)
    user.set_roles(roles, authority_id)
    db.session.add(user)
    db.session.flush()
    return user


def _authority_role_problems(roles: list[str], authority_id: int) -> dict[str, list[str]]:
    if db.session.get(Authority, authority_id) is None:
        return {"authority": ["Collectivité inconnue."]}
    if outside := sorted(set(roles) - set(AUTHORITY_ROLES)):
        return {"roles": [f"Rôles tenus dans une collectivité : "
                          f"{', '.join(AUTHORITY_ROLES)} (pas {', '.join(outside)})."]}
    return {}


def register(email: str, password: str, name: str) -> User:
    """Self-service registration always gives the applicant role, nothing more."""
    user = create_user(email, password, [Role.APPLICANT.value], name)
    db.session.commit()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user whose e-mail and password match, else None. An unknown address costs the
    same hash as a known one, so the answer time does not tell which accounts exist."""
    user = find_by_email((email or "").strip())
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        return None
    if not user.check_password(password or "") or not user.active:
        return None
    _record_login(user)
    return user


#: ``User.last_login_at`` is kept to the day: at most one write a day per account.
LOGIN_TOUCH_INTERVAL = timedelta(days=1)


def _record_login(user: User) -> None:
    """The last login, which the dormant-account rule counts from (aap.services.privacy,
    with the creation date when none): written only when the one known, or the account's
    creation, is more than a day old."""
    at = now()
    if (user.last_login_at or user.created_at) <= at - LOGIN_TOUCH_INTERVAL:
        user.last_login_at = at
        db.session.commit()


def _dummy_hash() -> str:
    """A hash made with the method real accounts get, to spend the same time on a miss."""
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    if method not in _dummy_hashes:
        _dummy_hashes[method] = generate_password_hash(secrets.token_hex(16), method=method)
    return _dummy_hashes[method]


def session_identity(user: User) -> str:
    """The identity signed into the session and the remember-me cookie at login: the id,
    the session version (bumped to revoke every cookie issued) and the time of issue."""
    return f"{user.id}:{user.session_version}:{int(now().timestamp())}"


def user_for_session(identity: object) -> User | None:
    """The user of a session or remember-me cookie (``session_identity``). Refused: a
    cookie from before a logout or a password change (an older version), one issued more
    than ``REMEMBER_COOKIE_DURATION`` ago whatever the browser kept (ASVS 3.3.2), and any
    other shape (the two-part identities of older releases included)."""
    match = SESSION_IDENTITY.fullmatch(identity) if isinstance(identity, str) else None
    if match is None:
        return None
    user_id, version, issued = (int(part) for part in match.groups())
    if user_id > MAX_USER_ID or not _recently_issued(issued):
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active or user.session_version != version:
        return None
    return user


def _recently_issued(issued: int) -> bool:
    at = now().timestamp()
    lifetime = current_app.config["REMEMBER_COOKIE_DURATION"].total_seconds()
    return at - lifetime <= issued <= at + CLOCK_SKEW.total_seconds()


def end_sessions(user: User) -> None:
    """Logout everywhere: every session and remember-me cookie of the user stops working."""
    user.end_sessions()
    db.session.commit()


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, ttl, label: str = "") -> str:
    """A new bearer token for ``user``, valid for ``ttl``; only its digest is stored, so
    the value is shown once."""
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, digest=digest(token), expires_at=now() + ttl,
                            label=(label or "").strip()[:100]))
    db.session.commit()
    return token


#: ``ApiToken.last_used_at`` is written at most this often: not one write per request.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


def user_for_token(token: str) -> User | None:
    row = db.session.scalar(select(ApiToken).options(joinedload(ApiToken.user))
                            .where(ApiToken.digest == digest(token)))
    at = now()
    if row is None or not row.active_at(at) or not row.user.active:
        return None
    user = row.user
    if row.last_used_at is None or row.last_used_at <= at - TOKEN_TOUCH_INTERVAL:
        _touch_token(row.id, at)
    return user


def _touch_token(token_id: int, at) -> None:
    """Record the token's use and end the transaction at once (authentication comes first
    in a request: nothing else is pending); the condition makes concurrent requests write
    it once. Bookkeeping only: a busy database skips it rather than failing the request."""
    stale = at - TOKEN_TOUCH_INTERVAL
    try:
        db.session.execute(update(ApiToken).where(
            ApiToken.id == token_id,
            (ApiToken.last_used_at.is_(None)) | (ApiToken.last_used_at <= stale),
        ).values(last_used_at=at).execution_options(synchronize_session=False))
        db.session.commit()
    except OperationalError:
        db.session.rollback()


def tokens_of(user: User, page: int = 1, per_page: int = 25) -> tuple[list[ApiToken], int]:
    """The user's tokens, newest first, and their count (revoked and expired included)."""
    query = select(ApiToken).where(ApiToken.user_id == user.id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(query.order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
                              .limit(per_page).offset((page - 1) * per_page)).all()
    return list(rows), total


def revoke_token(user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens; another user's token is unknown (NotFound)."""
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound("Jeton introuvable.")
    row.revoked = True
    db.session.commit()
    return row


RESET_TTL = timedelta(hours=1)


def new_secret() -> tuple[str, str]:
    """A URL-safe secret and the digest stored in its place."""
    token = secrets.token_urlsafe(32)
    return token, digest(token)


def request_password_reset(email: str, link_for: Callable[[str], str]) -> None:
    """Queue a reset link if the account exists; say nothing either way (no enumeration)."""
    user = find_by_email((email or "").strip())
    if user is None or not user.active:
        return
    token, token_digest = new_secret()
    db.session.add(PasswordResetToken(user_id=user.id, digest=token_digest,
                                      expires_at=now() + RESET_TTL))
    notifications.queue([user], "mail/password_reset.txt", link=link_for(token),
                        hours=int(RESET_TTL.total_seconds() // 3600))
    db.session.commit()


def reset_token_user(token: str) -> PasswordResetToken | None:
    row = db.session.scalar(select(PasswordResetToken).where(
        PasswordResetToken.digest == digest(token or "")))
    if row is None or row.used_at is not None or row.expires_at <= now():
        return None
    return row


def reset_password(token: str, password: str) -> User:
    row = reset_token_user(token)
    if row is None:
        raise ValidationFailed("Ce lien n'est plus valable : demandez-en un nouveau.",
                               code="invalid_token")
    user = db.session.get(User, row.user_id)
    if problems := password_problems(password, user.email, user.name):
        raise ValidationFailed("Mot de passe trop faible.", fields={"password": problems})
    row.used_at = now()
    _new_password(user, password, "reset", row.used_at)
    db.session.commit()
    return user


def change_password(user: User, current: str, new: str, *, kept_session: bool = False
                    ) -> User:
    """The owner changes its password (ASVS 2.1.5, 2.1.6): the current one again, the new
    one under the policy, every problem at once (fields ``current_password`` and
    ``new_password``). Then as after a reset: every session, remember-me cookie and API
    token ends (the one of this request too) and the owner is mailed. ``kept_session``:
    the caller signs its browser in again, and the mail says so."""
    fields: dict[str, list[str]] = {}
    if not user.check_password(current or ""):
        fields["current_password"] = [WRONG_CURRENT_PASSWORD]
    if problems := password_problems(new, user.email, user.name):
        fields["new_password"] = problems
    if fields:
        raise ValidationFailed("Mot de passe non changé.", fields=fields)
    _new_password(user, new, "change", now(), kept_session=kept_session)
    db.session.commit()
    return user


def _new_password(user: User, password: str, how: str, at, *, kept_session: bool = False
                  ) -> None:
    """Set it, end every session and revoke every token, audit it and tell the owner at
    once, in case it was not theirs (ASVS 2.5.5)."""
    user.set_password(password)
    user.end_sessions()
    db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id)
                       .values(revoked=True))
    db.session.add(AuditEvent(at=at, actor_id=user.id, object_type="user",
                              object_id=user.id, action="password_changed",
                              data={"how": how}))
    notifications.queue([user], "mail/password_changed.txt", when=at,
                        kept_session=kept_session)
