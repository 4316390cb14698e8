"""Public pages: landing with the open calls, login, logout, language."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from aap.extensions import db, limiter
from aap.models import Call
from aap.services import accounts
from aap.timeutil import now
from aap.web.helpers import ROLE_HOMES
from forms.auth import LoginForm

bp = Blueprint("public", __name__)


@bp.get("/")
def index():
    at = now()
    calls = db.session.scalars(
        select(Call).where(Call.closes_at > at).order_by(Call.closes_at).limit(20)
    ).unique().all()
    return render_template("public/index.html", calls=calls, now=at)


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    # "//host" and "/\\host" are read by browsers as another site: only local paths pass
    if (parts.scheme or parts.netloc or not target.startswith("/")
            or target.startswith("//") or "\\" in target):
        return None
    return target


def _failed_login(response) -> bool:
    return request.method == "POST" and response.status_code == 401


def _login_key() -> str:
    return "weblogin:" + (request.form.get("email") or "").strip().lower()


@bp.route("/connexion", methods=["GET", "POST"])
@limiter.limit("10 per 15 minutes", key_func=_login_key, deduct_when=_failed_login,
               methods=["POST"])
@limiter.limit("50 per 15 minutes", deduct_when=_failed_login, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("public.dashboard"))
    form = LoginForm()
    status = 200
    login_error = None
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            session.permanent = not form.remember.data
            login_user(user, remember=form.remember.data)
            flash(_("Bienvenue, %(name)s.", name=user.display_name), "success")
            return redirect(_safe_next(request.args.get("next")) or url_for("public.dashboard"))
        # one message for a wrong address and a wrong password: no account enumeration
        login_error = _("Adresse électronique ou mot de passe incorrect. "
                        "Vérifiez votre saisie et réessayez.")
        status = 401
    elif request.method == "POST":
        status = 422
    return render_template("public/login.html", form=form, login_error=login_error), status


@bp.post("/deconnexion")
@login_required
def logout():
    logout_user()
    flash(_("Vous êtes déconnecté."), "info")
    return redirect(url_for("public.index"))


@bp.get("/espace")
@login_required
def dashboard():
    """Send each user to the home of their first role; several roles get a menu."""
    homes = [ROLE_HOMES[r] for r in ROLE_HOMES if current_user.has_role(r)]
    if len(homes) == 1:
        return redirect(url_for(homes[0][0]))
    return render_template("public/dashboard.html", homes=homes)


@bp.get("/langue/<code>")
def language(code: str):
    if code in ("fr", "en"):
        session["lang"] = code
        if current_user.is_authenticated and current_user.locale != code:
            current_user.locale = code  # kept for the next session and for the mails
            db.session.commit()
    return redirect(_safe_next(request.args.get("next")) or url_for("public.index"))


@bp.get("/accessibilite")
def accessibility():
    """The accessibility statement that the RGAA requires, linked from every footer."""
    return render_template("public/accessibility.html")
