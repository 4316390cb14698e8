"""The juror's home: assigned applications (recusals hidden) and review progress."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user
from sqlalchemy import func, select

from aap.extensions import db
from aap.models import Application, Review
from aap.web.access import page_arg, role_required

bp = Blueprint("jury", __name__, url_prefix="/jury")
PER_PAGE = 25


@bp.get("/")
@role_required("juror")
def home():
    page = page_arg(request.args.get("page"))
    query = (select(Review, Application).join(Application)
             .where(Review.juror_id == current_user.id, Review.conflict.is_(False),
                    Application.state != "draft"))
    total = db.session.scalar(
        select(func.count()).select_from(query.with_only_columns(Review.id).subquery())) or 0
    rows = db.session.execute(
        query.order_by(Review.submitted, Application.id).limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)).unique().all()
    done = sum(1 for review, _ in rows if review.submitted)
    return render_template("jury/home.html", rows=rows, total=total, done=done, page=page,
                           pages=max(1, -(-total // PER_PAGE)))
