"""The administrator's pages: users and their roles, the authorities (a tree)."""

from __future__ import annotations

import unicodedata

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import distinct, func, select

from aap.errors import ValidationFailed
from aap.extensions import db
from aap.models import Authority, Fund, User, UserRole
from aap.services import authorities, policies
from aap.web.access import page_arg, role_required
from forms.authority import KIND_LABELS, AuthorityForm

bp = Blueprint("admin", __name__, url_prefix="/admin")
PER_PAGE = 50


@bp.get("/")
@role_required("admin")
def home():
    page = page_arg(request.args.get("page"))
    total = db.session.scalar(select(func.count(User.id))) or 0
    users = db.session.scalars(
        select(User).order_by(User.email).limit(PER_PAGE).offset((page - 1) * PER_PAGE)
    ).all()
    return render_template("admin/home.html", users=users, page=page, total=total,
                           pages=max(1, -(-total // PER_PAGE)))


# -- authorities -------------------------------------------------------------------------

@bp.get("/collectivites")
@role_required("admin")
def authorities_list():
    """Every authority as a tree, with its funds and staff counted."""
    rows = authority_tree(authorities.list_authorities())
    return render_template("admin/authorities.html", rows=rows, kinds=KIND_LABELS,
                           funds=_funds_per_authority(), staff=_staff_per_authority())


@bp.route("/collectivites/nouvelle", methods=["GET", "POST"])
@role_required("admin")
def new_authority():
    form = AuthorityForm()
    form.set_parents(_parent_choices(excluded=frozenset()))
    return _save_authority(form, None)


@bp.route("/collectivites/<int:authority_id>/modifier", methods=["GET", "POST"])
@role_required("admin")
def edit_authority(authority_id: int):
    authority = authorities.get_authority(authority_id)
    form = AuthorityForm(obj=authority if request.method == "GET" else None)
    if request.method == "GET":
        form.parent_id.data = str(authority.parent_id or "")
    policies.forget_authorities()
    form.set_parents(_parent_choices(
        excluded=policies.with_descendants(frozenset({authority.id}))))
    return _save_authority(form, authority)


def _save_authority(form: AuthorityForm, authority: Authority | None):
    """Create (``authority`` None) or update on a valid POST; else the form again, as
    typed, with every problem beside its field (422)."""
    general: list[str] = []
    status = 200
    if form.validate_on_submit():
        try:
            if authority is None:
                saved = authorities.create_authority(current_user, form.values())
            else:
                saved = authorities.update_authority(current_user, authority.id,
                                                     form.values())
        except ValidationFailed as exc:
            db.session.rollback()
            general = show_service_problems(form, exc)
            status = 422
        else:
            message = (_("La collectivité « %(name)s » est créée.", name=saved.name)
                       if authority is None else
                       _("La collectivité « %(name)s » est enregistrée.", name=saved.name))
            flash(message, "success")
            return redirect(url_for("admin.authorities_list"))
    elif request.method == "POST":
        status = 422
    return render_template("admin/authority_form.html", form=form, authority=authority,
                           general=general), status


def show_service_problems(form, exc: ValidationFailed) -> list[str]:
    """Put a service's per-field problems beside their fields (translated); the others,
    or the message when there are none, are returned for the top of the form."""
    fields = {key: [_(m) for m in messages] for key, messages in exc.fields.items()}
    return form.show_problems(fields) if fields else [_(exc.message)]


def authority_tree(items: list[Authority]) -> list[tuple[Authority, int]]:
    """The authorities in tree order (each parent followed by its children, by name),
    with their depth; one whose parent is missing from ``items`` is a root."""
    known = {a.id for a in items}
    children: dict[int | None, list[Authority]] = {}
    for item in items:
        parent = item.parent_id if item.parent_id in known else None
        children.setdefault(parent, []).append(item)
    rows: list[tuple[Authority, int]] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for child in sorted(children.get(parent_id, []), key=_by_name):
            rows.append((child, depth))
            walk(child.id, depth + 1)

    walk(None, 0)
    return rows


def _by_name(authority: Authority) -> tuple[str, int]:
    """Alphabetical as a French reader expects: case and accents aside (É with E)."""
    bare = unicodedata.normalize("NFD", authority.name.casefold())
    return "".join(c for c in bare if not unicodedata.combining(c)), authority.id


def _parent_choices(excluded: frozenset[int]) -> list[tuple[int, str]]:
    """The authorities that may be a parent, in tree order, indented by depth."""
    return [(a.id, "\u00a0\u00a0" * depth + a.name)
            for a, depth in authority_tree(authorities.list_authorities())
            if a.id not in excluded]


def _funds_per_authority() -> dict[int, int]:
    return dict(db.session.execute(
        select(Fund.authority_id, func.count(Fund.id))
        .where(Fund.authority_id.is_not(None)).group_by(Fund.authority_id)).all())


def _staff_per_authority() -> dict[int, int]:
    return dict(db.session.execute(
        select(UserRole.authority_id, func.count(distinct(UserRole.user_id)))
        .where(UserRole.authority_id.is_not(None)).group_by(UserRole.authority_id)).all())
