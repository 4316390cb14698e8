"""The absolute lifetime of a web session (ASVS 3.3.2).

The time of the login is written into the signed session at login, and the session is
refused ``SESSION_MAX_HOURS`` after it, however active it is (``SESSION_HOURS``, Flask's
``PERMANENT_SESSION_LIFETIME``, is the idle limit, checked by the session's signature).
A session restored from the remember-me cookie is a new login; the cookie itself carries
its signed time of issue and is refused ``REMEMBER_DAYS`` after it
(``accounts.user_for_session``). The user whose session ended is sent to the login page,
told why, and brought back to the page after signing in. The API (bearer tokens) reads
no session and is not concerned."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user, user_loaded_from_cookie, user_logged_in
from werkzeug.wrappers import Response

from aap.extensions import login_manager
from aap.services.accounts import CLOCK_SKEW
from aap.timeutil import now

#: Seconds since the epoch (UTC) of the login, in the session.
LOGIN_AT = "_login_at"
#: What makes a session signed in (Flask-Login's keys and ours).
LOGIN_KEYS = ("_user_id", "_fresh", "_id", LOGIN_AT)
NOT_WEB = ("/api/", "/health")


def register_session_lifetime(app: Flask) -> None:
    login_manager.id_attribute = "session_identity"  # the dated identity, not get_id
    user_logged_in.connect(stamp_login, app)
    user_loaded_from_cookie.connect(stamp_login, app)
    app.before_request(end_expired_session)


def stamp_login(sender: Flask, **extra) -> None:
    """At login (the form, or the remember-me cookie): the time the session starts."""
    session[LOGIN_AT] = int(now().timestamp())


def within_lifetime(login_at: object) -> bool:
    """Whether a session logged in at ``login_at`` (epoch seconds) may still serve."""
    if not isinstance(login_at, int) or isinstance(login_at, bool):
        return False  # no login time (a session of an older release): refused
    at = now().timestamp()
    lifetime = current_app.config["SESSION_MAX_HOURS"] * 3600
    return at - lifetime <= login_at <= at + CLOCK_SKEW.total_seconds()


def end_expired_session() -> Response | None:
    """Before every page: a session past its lifetime is signed out (the remember-me
    cookie, while valid, signs in again); a refused remember-me cookie is deleted. Either
    way the user is sent to the login page with the reason."""
    if request.endpoint == "static" or request.path.startswith(NOT_WEB):
        return None
    ended = "_user_id" in session and not within_lifetime(session.get(LOGIN_AT))
    if ended:
        _forget_login()
    if "_user_id" not in session and _remember_cookie_sent():
        if current_user.is_authenticated:
            return None  # restored from a valid remember-me cookie: a new login
        _forget_login()
        session["_remember"] = "clear"  # Flask-Login deletes the refused cookie
        ended = True
    if not ended:
        return None
    flash(_("Votre session a pris fin. Pour votre sécurité, connectez-vous à nouveau."),
          "info")
    if request.endpoint == "public.login":
        return None
    return redirect(url_for("public.login", next=_return_to()))


def end_browser_session() -> None:
    """Sign this browser out (logout, account deleted): the session is emptied, but
    Flask-Login's order to delete the remember-me cookie and the chosen language outlive
    it, or the stale cookie would be refused on the next page as an ended session."""
    logout_user()
    kept = {key: session[key] for key in ("_remember", "lang") if key in session}
    session.clear()
    session.update(kept)


def _forget_login() -> None:
    for key in LOGIN_KEYS:
        session.pop(key, None)
    g.pop("_login_user", None)  # Flask-Login's cached user, if loaded already


def _remember_cookie_sent() -> bool:
    name = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    return name in request.cookies and session.get("_remember") != "clear"


def _return_to() -> str | None:
    """The page to come back to after the new login: this one when it was read, the page
    of the form when one was posted (what was typed is not kept)."""
    if request.method in ("GET", "HEAD"):
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc != request.host or not referrer.path:
        return None
    return referrer.path + (f"?{referrer.query}" if referrer.query else "")
