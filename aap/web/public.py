"""Public pages: landing with the open calls, login, logout, language; the account pages
(registration, forgotten password, reset) and the invitation to join an organisation."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from aap import security_log
from aap.errors import Forbidden, ValidationFailed
from aap.extensions import db, limiter
from aap.models import Call
from aap.services import accounts, open_data, organisations
from aap.services.exports import scdl
from aap.timeutil import now
from aap.web.access import page_arg
from aap.web.helpers import ROLE_HOMES, put_errors
from aap.web.session_lifetime import end_browser_session
from forms.account import ForgotPasswordForm, RegisterForm, ResetPasswordForm
from forms.auth import LoginForm

bp = Blueprint("public", __name__)


@bp.get("/")
def index():
    at = now()
    calls = db.session.scalars(
        select(Call).where(Call.closes_at > at).options(open_data.with_attribuant())
        .order_by(Call.closes_at).limit(20)
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
            _start_session(user, remember=form.remember.data)
            flash(_("Bienvenue, %(name)s.", name=user.display_name), "success")
            return redirect(_safe_next(request.args.get("next")) or url_for("public.dashboard"))
        security_log.login_failed(form.email.data)
        # one message for a wrong address and a wrong password: no account enumeration
        login_error = _("Adresse électronique ou mot de passe incorrect. "
                        "Vérifiez votre saisie et réessayez.")
        status = 401
    elif request.method == "POST":
        status = 422
    return render_template("public/login.html", form=form, login_error=login_error), status


def _start_session(user, remember: bool = False) -> None:
    """A new session at login: nothing from before it carries over (session fixation),
    the language chosen excepted."""
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    session.permanent = not remember
    login_user(user, remember=remember)


@bp.post("/deconnexion")
@login_required
def logout():
    """End this session and every other one of the user, on every process and device:
    the session version changes, so captured cookies and remember-me cookies fail."""
    accounts.end_sessions(current_user._get_current_object())
    end_browser_session()
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


@bp.get("/donnees-ouvertes")
def open_data_page():
    """The funded projects of the decisions taken, with the SCDL file to download (no
    login; what is published: ``aap.services.open_data``)."""
    day, per_page = open_data.today(), open_data.PER_PAGE
    totals = open_data.summary(day)
    pages = open_data.pages(totals.projects, per_page)
    page = min(page_arg(request.args.get("page")), pages)
    projects = open_data.funded_projects(page, per_page, on=day)
    return render_template("public/open_data.html", totals=totals, page=page, pages=pages,
                           projects=projects)


@bp.get("/donnees-ouvertes/subventions.csv")
@limiter.limit("30 per minute")
def open_data_csv():
    """The SCDL subventions CSV of the published grants (the rows of the page)."""
    return Response(open_data.build_public_scdl(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{scdl.filename()}"',
        "Cache-Control": "public, max-age=600"})


# -- account -------------------------------------------------------------------------

@bp.route("/inscription", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def register():
    """Self-service registration: the applicant role only."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")) or url_for("public.dashboard"))
    form = RegisterForm()
    if request.method == "GET" and request.args.get("email"):
        form.email.data = request.args["email"][:254]
    status = 200
    if form.validate_on_submit():
        # every problem at once: the policy is checked even when the form has none
        try:
            user = accounts.register(form.email.data, form.password.data, form.name.data)
        except ValidationFailed as exc:
            db.session.rollback()
            put_errors(form, exc.fields)
            status = 422
        else:
            _start_session(user)
            flash(_("Votre compte est créé. Renseignez maintenant votre organisation pour "
                    "déposer un projet."), "success")
            return redirect(_safe_next(request.args.get("next"))
                            or url_for("applicant.home"))
    elif request.method == "POST":
        status = 422
        if form.password.data and not form.password.errors:
            form.password.errors = [_(m) for m in accounts.password_problems(
                form.password.data, form.email.data or "")]
    return render_template("public/register.html", form=form,
                           min_length=accounts.MIN_PASSWORD_LENGTH), status


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        security_log.password_reset_requested(form.email.data)
        accounts.request_password_reset(
            form.email.data,
            lambda token: url_for("public.reset_password", token=token, _external=True))
        # the same answer whether the account exists or not: no enumeration
        return render_template("public/forgot_password.html", form=form, sent=True,
                               email=form.email.data)
    status = 422 if request.method == "POST" else 200
    return render_template("public/forgot_password.html", form=form, sent=False), status


@bp.route("/reinitialiser/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    row = accounts.reset_token_user(token)
    if row is None:
        return render_template("public/reset_password.html", form=None, invalid=True), 404
    form = ResetPasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            accounts.reset_password(token, form.password.data)
        except ValidationFailed as exc:
            db.session.rollback()
            if exc.code == "invalid_token":
                return render_template("public/reset_password.html", form=None,
                                       invalid=True), 404
            put_errors(form, exc.fields)
            status = 422
        else:
            security_log.security_event(security_log.PASSWORD_RESET_COMPLETED, user_id=row.user_id)
            if current_user.is_authenticated:
                logout_user()
            flash(_("Votre mot de passe est changé. Connectez-vous avec le nouveau."),
                  "success")
            return redirect(url_for("public.login"))
    elif request.method == "POST":
        status = 422
    return render_template("public/reset_password.html", form=form, invalid=False,
                           min_length=accounts.MIN_PASSWORD_LENGTH), status


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def invitation(token: str):
    """Join an organisation: log in (or register) with the invited address, then accept."""
    invite = organisations.invitation_for(token)
    if invite is None:
        return render_template("public/invitation.html", invite=None), 404
    wrong_address = (current_user.is_authenticated
                     and current_user.email.lower() != invite.email.lower())
    if request.method == "POST" and current_user.is_authenticated and not wrong_address:
        try:
            org = organisations.accept_invitation(current_user, token)
        except (ValidationFailed, Forbidden) as exc:
            db.session.rollback()
            flash(_(exc.message), "error")
            return redirect(url_for("public.invitation", token=token))
        flash(_("Vous avez rejoint l'organisation « %(name)s ».", name=org.name), "success")
        return redirect(url_for("applicant.organisation", organisation_id=org.id))
    status = 403 if wrong_address else 200
    return render_template("public/invitation.html", invite=invite, token=token,
                           wrong_address=wrong_address), status
