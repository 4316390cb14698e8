"""The account area (« Mon compte »), for every signed-in user: the personal data it holds
(one JSON download), its API tokens (list, create, revoke), the change of its password
and the deletion of the account (docs/rgpd.md). The rules live in aap.services.privacy
and aap.services.accounts."""

from __future__ import annotations

import json
from datetime import timedelta

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from aap.errors import Conflict, NotFound, ValidationFailed
from aap.extensions import db
from aap.password_throttle import counting_wrong, password_check
from aap.security_log import ACCOUNT_DELETED, PASSWORD_CHANGED, security_event
from aap.services import accounts, privacy
from aap.timeutil import now
from aap.web.access import page_arg
from aap.web.helpers import put_errors
from aap.web.public import _start_session
from aap.web.session_lifetime import end_browser_session
from forms.account import ChangePasswordForm
from forms.privacy import DeleteAccountForm, RevokeTokenForm, TokenForm

bp = Blueprint("account", __name__, url_prefix="/compte")

TOKENS_PER_PAGE = 20


def _me():
    return current_user._get_current_object()


@bp.get("/")
@login_required
def home():
    user = _me()
    tokens, _total = accounts.tokens_of(user, 1, 5)
    return render_template("account/home.html", user=user, tokens=tokens, at=now(),
                           blockers=privacy.deletion_blockers(user))


@bp.get("/mes-donnees.json")
@login_required
def export():
    """Everything AAP holds about the user, as one JSON file to download."""
    document = privacy.export_user_data(_me())
    body = json.dumps(document, ensure_ascii=False, indent=2)
    stamp = now().strftime("%Y-%m-%d")
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="aap-mes-donnees-{stamp}.json"',
        "Cache-Control": "no-store"})


@bp.route("/jetons", methods=["GET", "POST"])
@login_required
def tokens():
    """The user's API tokens; a new one is shown once, on the answer to its creation."""
    form = TokenForm()
    created, status = None, 200
    if form.validate_on_submit():
        if not _first_post(form.once.data):
            flash(_("Ce jeton est déjà créé : sa valeur n'est affichée qu'une fois. Si vous "
                    "ne l'avez pas copiée, révoquez-le et créez-en un autre."), "info")
            return redirect(url_for("account.tokens")), 303
        created = accounts.issue_token(_me(), timedelta(days=form.days.data), form.label.data)
        form = TokenForm(formdata=None)
        status = 201
    elif request.method == "POST":
        status = 422
    page = page_arg(request.args.get("page"))
    rows, total = accounts.tokens_of(_me(), page, TOKENS_PER_PAGE)
    response = render_template(
        "account/tokens.html", form=form, created=created, tokens=rows, at=now(), page=page,
        pages=max(1, -(-total // TOKENS_PER_PAGE)), total=total,
        revoke_form=RevokeTokenForm())
    return response, status, {"Cache-Control": "no-store"}


#: The session key of the token forms already posted (their ``once`` values, the last few).
POSTED_TOKEN_FORMS = "token_forms_posted"


def _first_post(once: str | None) -> bool:
    """Whether this token form is posted for the first time; remembers it if so. A reload
    of the page that shows a new token posts the same form again: it must not create a
    second token (the page cannot redirect, since it shows the secret once)."""
    if not once:
        return True
    posted = session.get(POSTED_TOKEN_FORMS, [])
    if once in posted:
        return False
    session[POSTED_TOKEN_FORMS] = [*posted[-4:], once]
    return True


@bp.post("/jetons/<int:token_id>/revoquer")
@login_required
def revoke(token_id: int):
    if not RevokeTokenForm().validate_on_submit():
        flash(_("La demande a expiré : réessayez."), "error")
        return redirect(url_for("account.tokens"))
    try:
        row = accounts.revoke_token(_me(), token_id)
    except NotFound:
        flash(_("Jeton introuvable."), "error")
        return redirect(url_for("account.tokens")), 303
    flash(_("Le jeton « %(label)s » est révoqué : il ne donne plus accès à l'API.",
            label=row.label or _("sans nom")), "success")
    return redirect(url_for("account.tokens")), 303


@bp.route("/supprimer", methods=["GET", "POST"])
@login_required
@password_check
def delete():
    """Delete the account: the password again, unless something keeps it (said why)."""
    user = _me()
    blockers = privacy.deletion_blockers(user)
    form = DeleteAccountForm()
    status = 200
    if not blockers and form.validate_on_submit():
        try:
            with counting_wrong("password"):
                privacy.delete_account(user, form.password.data)
        except ValidationFailed:
            form.password.errors = [_("Mot de passe incorrect.")]
            status = 422
        except Conflict:  # something came to keep it since the page was shown
            blockers, status = privacy.deletion_blockers(user), 409
        else:
            security_event(ACCOUNT_DELETED, user_id=user.id)
            end_browser_session()
            flash(_("Votre compte est supprimé : vos données personnelles ont été effacées "
                    "et vos sessions fermées."), "success")
            return redirect(url_for("public.index")), 303
    elif request.method == "POST":
        status = 409 if blockers else 422
    return render_template("account/delete.html", form=form, blockers=blockers), status


@bp.route("/mot-de-passe", methods=["GET", "POST"])
@login_required
@password_check
def password():
    """Change the password (ASVS 2.1.5, 2.1.6): the current one, the new one twice. Every
    other session, remember-me cookie and API token ends; this browser is signed in again
    with the new session version. A wrong current password counts like a failed login."""
    form = ChangePasswordForm()
    status = 200
    if form.validate_on_submit():
        user = _me()
        try:
            with counting_wrong("current_password"):
                accounts.change_password(user, form.current_password.data,
                                         form.new_password.data, kept_session=True)
        except ValidationFailed as exc:
            db.session.rollback()
            put_errors(form, exc.fields)
            status = 422
        else:
            security_event(PASSWORD_CHANGED, user_id=user.id)
            _sign_in_again(user)
            flash(_("Votre mot de passe est changé. Vos autres sessions sont fermées et vos "
                    "jetons d'accès à l'API révoqués ; un courriel vous le confirme."),
                  "success")
            return redirect(url_for("account.home")), 303
    elif request.method == "POST":
        status = 422
        if form.new_password.data:  # the policy too, so that every problem shows at once
            put_errors(form, {"new_password": accounts.password_problems(
                form.new_password.data, _me().email)})
    return render_template("account/password.html", form=form,
                           min_length=accounts.MIN_PASSWORD_LENGTH), status


def _sign_in_again(user) -> None:
    """The new session version ended every cookie, this browser's too: a new session, as
    at login, with remember-me again if this browser had it."""
    cookie = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    _start_session(user, remember=bool(request.cookies.get(cookie)))
