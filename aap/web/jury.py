"""The juror's pages: the assigned applications (recusals hidden) with the progress of
the juror's own work, and one page per application to read the file, declare a conflict
of interest, score the grid (draft, then submission after a confirmation) and, once
submitted, read the other jurors' submitted reviews."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from aap.errors import Conflict, NotFound, ValidationFailed
from aap.extensions import csrf, db
from aap.models import Application, Review
from aap.services import attachments, reviews, scoring
from aap.vocabulary import ATTACHMENT_KINDS
from aap.web.access import page_arg, role_required
from aap.web.dossier import budget_rows
from aap.web.helpers import score
from forms.review import ConfirmForm, ConflictForm, ReviewForm

bp = Blueprint("jury", __name__, url_prefix="/jury")
PER_PAGE = 25


def _mine():
    """The juror's assignments: not recused, never a draft."""
    return (select(Review, Application).join(Application)
            .where(Review.juror_id == current_user.id, Review.conflict.is_(False),
                   Application.state != "draft"))


@bp.get("/")
@role_required("juror")
def home():
    page = page_arg(request.args.get("page"))
    query = _mine()
    counts = db.session.execute(
        select(func.count(), func.count().filter(Review.submitted.is_(True)),
               func.count().filter(Review.submitted.is_(False), Review.total.is_not(None)),
               func.count().filter(Review.submitted.is_(False),
                                   Application.state == "in_review"))
        .select_from(Review).join(Application)
        .where(Review.juror_id == current_user.id, Review.conflict.is_(False),
               Application.state != "draft")).one()
    total, done, drafts, todo = counts
    rows = db.session.execute(
        query.order_by(Review.submitted, Application.state != "in_review", Application.id)
        .limit(PER_PAGE).offset((page - 1) * PER_PAGE)).unique().all()
    return render_template("jury/home.html", rows=rows, total=total, done=done,
                           drafts=drafts, todo=todo, page=page,
                           pages=max(1, -(-total // PER_PAGE)))


def _assigned(application_id: int) -> tuple[Application, Review]:
    """The application and the juror's own review; 404 unless assigned and not recused
    (an unassigned application does not exist for a juror)."""
    row = db.session.execute(
        _mine().where(Application.id == application_id)).unique().one_or_none()
    if row is None:
        raise NotFound("Dossier introuvable.")
    review, app = row
    return app, review


def _editable(app: Application, review: Review) -> bool:
    return app.state == "in_review" and not review.submitted


def _others(app: Application, review: Review) -> list[Review]:
    """The other jurors' submitted reviews: only once the juror's own is submitted."""
    if not review.submitted:
        return []
    return [r for r in reviews.reviews_for(current_user, app) if r.juror_id != current_user.id]


def _render(app: Application, review: Review, form: ReviewForm, status: int = 200,
            general: list[str] | None = None, csrf_expired: bool = False):
    criteria = app.call.criteria
    given = {s.criterion_key: s for s in review.scores}
    return render_template(
        "jury/review.html", app=app, review=review, form=form, criteria=criteria,
        given=given, editable=_editable(app, review), others=_others(app, review),
        budget=budget_rows(app.budget()), kinds=ATTACHMENT_KINDS,
        attachments=sorted(app.attachments, key=lambda a: a.id), general=general or [],
        csrf_expired=csrf_expired), status


@bp.route("/dossiers/<int:application_id>", methods=["GET", "POST"])
@role_required("juror")
def review(application_id: int):
    """The file and the grid. The global CSRF check is lifted here so that an expired
    token keeps what the juror typed: the form checks the token itself below."""
    app, own = _assigned(application_id)
    form = ReviewForm.for_call(app.call, own)
    if request.method == "GET":
        return _render(app, own, form)
    if not _editable(app, own):
        flash(_("Cette évaluation n'est plus modifiable."), "error")
        return redirect(url_for("jury.review", application_id=app.id))
    submit = request.form.get("action") == "submit"
    valid = form.validate()
    csrf_expired = bool(form.csrf_token.errors)
    grid_ok = form.check_grid(submit)
    if not (valid and grid_ok):
        return _render(app, own, form, 400 if csrf_expired else 422,
                       csrf_expired=csrf_expired)
    try:
        saved = reviews.save_review(current_user, app, form.values())
    except ValidationFailed as exc:
        general = [_(m) for m in form.show_problems(exc.fields)]
        return _render(app, own, form, 422, general=general)
    except Conflict as exc:
        flash(_(exc.message), "error")
        return redirect(url_for("jury.review", application_id=app.id))
    if submit:
        return redirect(url_for("jury.confirm", application_id=app.id))
    flash(_("Brouillon enregistré. Total provisoire : %(total)s / %(scale)s.",
            total=score(saved.total), scale=app.call.scale), "success")
    return redirect(url_for("jury.review", application_id=app.id) + "#grille")


csrf.exempt(review)


@bp.route("/dossiers/<int:application_id>/transmettre", methods=["GET", "POST"])
@role_required("juror")
def confirm(application_id: int):
    """The confirmation of a submission: the saved draft, its total, then the button."""
    app, own = _assigned(application_id)
    back = url_for("jury.review", application_id=app.id)
    if not _editable(app, own):
        flash(_("Cette évaluation n'est plus modifiable."), "error")
        return redirect(back)
    given = {s.criterion_key: s for s in own.scores}
    missing = [c for c in app.call.criteria if c.key not in given]
    if missing:
        flash(_("Notez chaque critère avant de transmettre votre évaluation."), "error")
        return redirect(back + "#grille")
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            reviews.save_review(current_user, app, {
                "scores": {k: s.score for k, s in given.items()}, "comment": own.comment,
                "submit": True})
        except (Conflict, ValidationFailed) as exc:
            flash(_(exc.message), "error")
            return redirect(back)
        flash(_("Évaluation transmise (%(total)s / %(scale)s). Les évaluations des autres "
                "jurés vous sont désormais visibles.", total=score(own.total),
                scale=app.call.scale), "success")
        return redirect(back)
    total = scoring.weighted_total(app.call, {k: s.score for k, s in given.items()})
    return render_template("jury/confirm.html", app=app, review=own, given=given,
                           criteria=app.call.criteria, total=total, form=form)


@bp.route("/dossiers/<int:application_id>/conflit", methods=["GET", "POST"])
@role_required("juror")
def conflict(application_id: int):
    """Declare a conflict of interest: the juror is recused and no longer sees the file."""
    app, own = _assigned(application_id)
    back = url_for("jury.review", application_id=app.id)
    if not _editable(app, own):
        flash(_("Un conflit d'intérêts se déclare tant que l'évaluation est ouverte et "
                "non transmise ; sinon, prévenez l'instruction."), "error")
        return redirect(back)
    form = ConflictForm()
    if form.validate_on_submit():
        try:
            reviews.save_review(current_user, app, {
                "conflict": True, "comment": (form.reason.data or "").strip()})
        except (Conflict, ValidationFailed) as exc:
            flash(_(exc.message), "error")
            return redirect(back)
        flash(_("Conflit d'intérêts enregistré pour le dossier %(ref)s : vous êtes déporté·e "
                "et ce dossier ne vous est plus présenté.", ref=app.reference), "success")
        return redirect(url_for("jury.home"))
    return render_template("jury/conflict.html", app=app, form=form), \
        422 if form.errors else 200


@bp.get("/dossiers/<int:application_id>/pieces/<int:attachment_id>")
@role_required("juror")
def attachment(application_id: int, attachment_id: int):
    _assigned(application_id)
    found, path = attachments.open_attachment(current_user, application_id, attachment_id)
    if not path.is_file():
        raise NotFound("Pièce introuvable.")
    return send_file(path, mimetype=found.content_type, as_attachment=True,
                     download_name=found.filename, max_age=0)
