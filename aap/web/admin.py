"""The administrator's home: users and their roles."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import func, select

from aap.extensions import db
from aap.models import User
from aap.web.access import page_arg, role_required

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
