"""The team of an authority (SPEC 2, manager): who holds which staff role in it, the
roles granted or removed, the invitations by e-mail; and the page where an invited person
accepts. A manager manages its own authority only: any other one, its children's
included, is 404 to it. Admins manage every authority."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from aap.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from aap.extensions import db
from aap.models import Authority, StaffInvitation, User
from aap.models.accounts import Role
from aap.services import accounts, authorities, policies, staff_invitations
from aap.services.staff_invitations import InvitationUnusable, role_labels
from aap.web.access import role_required
from aap.web.admin import show_service_problems
from forms.authority import AcceptStaffInvitationForm, MemberRolesForm, StaffMemberForm

bp = Blueprint("manager", __name__)

MEMBER_PREFIX = "member-{}"


@bp.get("/equipes")
@role_required(Role.MANAGER, Role.ADMIN)
def home():
    """The authorities whose team the user manages; straight to it when there is one."""
    if current_user.has_role(Role.ADMIN):
        return redirect(url_for("admin.authorities_list"))
    managed = sorted((a for a in authorities.list_authorities()
                      if policies.is_manager_of(current_user, a.id)),
                     key=lambda a: (a.name, a.id))
    if len(managed) == 1:
        return redirect(url_for("manager.team", authority_id=managed[0].id))
    return render_template("admin/teams.html", managed=managed)


@bp.route("/collectivites/<int:authority_id>/equipe", methods=["GET", "POST"])
@role_required(Role.MANAGER, Role.ADMIN)
def team(authority_id: int):
    """The team page; its form adds someone: an existing account gets the roles at once,
    an address with no account is sent an invitation."""
    authority = _managed(authority_id)
    form = StaffMemberForm(prefix="add")
    if not form.validate_on_submit():
        return _team_page(authority, form, 422 if request.method == "POST" else 200)
    try:
        _add_member(authority, form.email.data, form.roles.data)
    except ValidationFailed as exc:
        db.session.rollback()
        general = show_service_problems(form, exc)
        return _team_page(authority, form, 422, general)
    return redirect(url_for("manager.team", authority_id=authority.id))


@bp.post("/collectivites/<int:authority_id>/equipe/<int:user_id>")
@role_required(Role.MANAGER, Role.ADMIN)
def member_roles(authority_id: int, user_id: int):
    """Set one member's roles in the authority; none removes the person from the team."""
    authority = _managed(authority_id)
    member = _member(authority, user_id)
    form = MemberRolesForm(prefix=MEMBER_PREFIX.format(member.id))
    if not form.validate_on_submit():
        abort(400)
    try:
        roles = authorities.set_member_roles(current_user, authority.id, member.id,
                                             list(form.roles.data or []))
    except ValidationFailed as exc:
        db.session.rollback()
        flash(" ".join(_(m) for m in [exc.message, *exc.fields.get("roles", [])]), "error")
        return redirect(url_for("manager.team", authority_id=authority.id))
    if roles:
        flash(_("Rôles de %(who)s enregistrés : %(roles)s.", who=member.display_name,
                roles=_labels(roles)), "success")
    else:
        flash(_("%(who)s ne fait plus partie de l'équipe.", who=member.display_name),
              "success")
    if not policies.is_manager_of(current_user, authority.id):
        return redirect(url_for("manager.home"))  # the manager removed its own management
    return redirect(url_for("manager.team", authority_id=authority.id))


@bp.post("/collectivites/<int:authority_id>/invitations/<int:invitation_id>/annuler")
@role_required(Role.MANAGER, Role.ADMIN)
def cancel_invitation(authority_id: int, invitation_id: int):
    authority = _managed(authority_id)
    try:
        invitation = staff_invitations.cancel(current_user, authority.id, invitation_id)
    except Conflict as exc:
        db.session.rollback()
        flash(_(exc.message), "error")
    else:
        flash(_("L'invitation de %(email)s est annulée : son lien ne fonctionne plus.",
                email=invitation.email), "success")
    return redirect(url_for("manager.team", authority_id=authority.id))


@bp.route("/invitation-equipe/<token>", methods=["GET", "POST"])
def accept(token: str):
    """Accept an invitation: with a new account (name and password chosen here) when the
    address has none, else by logging in with that address first."""
    try:
        invitation = staff_invitations.invitation_for(token)
    except InvitationUnusable as exc:
        return _invitation_page(problem=_(exc.message)), 404
    if current_user.is_authenticated:
        return _accept_signed_in(invitation, token)
    if accounts.find_by_email(invitation.email) is not None:
        return _invitation_page(invitation, token=token, has_account=True)
    return _accept_with_new_account(invitation, token)


# -- helpers ------------------------------------------------------------------------------

def _managed(authority_id: int) -> Authority:
    """The authority whose team the user manages; 404 for any other (a manager learns
    nothing of another authority, not even of its own children)."""
    authority = db.session.get(Authority, authority_id)
    if authority is None or not policies.is_manager_of(current_user, authority.id):
        raise NotFound("Collectivité introuvable.")
    return authority


def _member(authority: Authority, user_id: int) -> User:
    for user, _roles in authorities.members(authority.id):
        if user.id == user_id:
            return user
    raise NotFound("Cette personne ne fait pas partie de l'équipe.")


def _labels(roles: list[str]) -> str:
    return ", ".join(_(label) for label in role_labels(roles))


def _add_member(authority: Authority, email: str, roles: list[str]) -> None:
    """Grant the roles to the account of ``email``, or invite that address."""
    staff_invitations.clean_roles(roles)
    address = accounts.normalise_email(email)
    user = accounts.find_by_email(address)
    if user is None:
        staff_invitations.invite(
            current_user, authority.id, address, roles,
            lambda token: url_for("manager.accept", token=token, _external=True))
        flash(_("Invitation envoyée à %(email)s : les rôles (%(roles)s) lui seront accordés "
                "quand elle l'acceptera.", email=address, roles=_labels(roles)), "success")
        return
    held = user.roles_in(authority.id)
    if set(roles) <= set(held):
        flash(_("%(who)s a déjà ces rôles dans l'équipe.", who=user.display_name), "info")
        return
    granted = authorities.set_member_roles(current_user, authority.id, user.id,
                                           sorted({*held, *roles}))
    flash(_("%(who)s fait partie de l'équipe, avec les rôles : %(roles)s.",
            who=user.display_name, roles=_labels(granted)), "success")


def _team_page(authority: Authority, form: StaffMemberForm, status: int,
               general: list[str] | None = None):
    members = [(user, roles, _roles_form(user, roles))
               for user, roles in authorities.members(authority.id)]
    return render_template(
        "admin/team.html", authority=authority, form=form, general=general or [],
        members=members, invitations=staff_invitations.pending(authority.id),
        role_labels=role_labels, ttl_days=staff_invitations.INVITATION_TTL.days), status


def _roles_form(user: User, roles: list[str]) -> MemberRolesForm:
    form = MemberRolesForm(prefix=MEMBER_PREFIX.format(user.id), formdata=None)
    form.roles.data = roles
    return form


def _accept_signed_in(invitation: StaffInvitation, token: str):
    if current_user.email.lower() != invitation.email:
        return _invitation_page(invitation, token=token, wrong_address=True), 403
    if request.method == "POST":
        try:
            staff_invitations.accept_as(current_user, token)
        except (ValidationFailed, Forbidden) as exc:
            db.session.rollback()
            return _invitation_page(problem=_(exc.message)), 409
        flash(_("Vous faites désormais partie de l'équipe de %(name)s.",
                name=invitation.authority.name), "success")
        return redirect(_first_page(invitation))
    return _invitation_page(invitation, token=token)


def _invitation_page(invitation: StaffInvitation | None = None, **context) -> str:
    """The acceptance page; with ``problem`` alone, the reason the link cannot be used."""
    roles = role_labels(invitation.roles) if invitation is not None else []
    return render_template("admin/staff_invitation.html", invitation=invitation,
                           roles=roles, **context)


def _first_page(invitation: StaffInvitation) -> str:
    """Where a new member lands: its team when it manages it, else its roles' homes."""
    if Role.MANAGER in invitation.roles:
        return url_for("manager.team", authority_id=invitation.authority_id)
    return url_for("public.dashboard")


def _accept_with_new_account(invitation: StaffInvitation, token: str):
    from aap.web.public import _start_session

    form = AcceptStaffInvitationForm()
    general: list[str] = []
    status = 200
    if form.validate_on_submit():
        try:
            user = staff_invitations.accept_with_new_account(token, form.name.data,
                                                             form.password.data)
        except InvitationUnusable as exc:
            db.session.rollback()
            return _invitation_page(problem=_(exc.message)), 409
        except DomainError as exc:
            db.session.rollback()
            general = show_service_problems(form, exc)
            status = exc.status
        else:
            _start_session(user)
            flash(_("Votre compte est créé : vous faites partie de l'équipe de %(name)s.",
                    name=invitation.authority.name), "success")
            return redirect(_first_page(invitation))
    elif request.method == "POST":
        status = 422
        if form.password.data and not form.password.errors:
            form.password.errors = [_(m) for m in accounts.password_problems(
                form.password.data, invitation.email)]
    return _invitation_page(invitation, token=token, form=form, general=general,
                            min_length=accounts.MIN_PASSWORD_LENGTH), status
