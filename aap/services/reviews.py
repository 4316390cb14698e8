"""Jurors' reviews: conflicts of interest, scores on the call's grid, submission."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from aap.database import write_transaction
from aap.errors import Conflict, Forbidden, NotFound, ValidationFailed
from aap.extensions import db
from aap.models import Application, Review, ReviewScore, User
from aap.models.accounts import Role
from aap.services import audit, policies, scoring
from aap.timeutil import now


def _own_review(actor: User, application: Application) -> Review:
    review = db.session.scalar(select(Review).where(
        Review.application_id == application.id, Review.juror_id == actor.id))
    if review is None or review.conflict:
        if not policies.can_see_application(actor, application):
            raise NotFound("Dossier introuvable.")
        raise Forbidden("Vous n'êtes pas juré de ce dossier.")
    return review


def _clean_scores(application: Application, raw: dict) -> dict[str, Decimal]:
    grid = {c.key: c for c in application.call.criteria}
    fields: dict[str, list[str]] = {}
    out: dict[str, Decimal] = {}
    for key, value in (raw or {}).items():
        criterion = grid.get(key)
        if criterion is None:
            fields[f"scores.{key}"] = ["Critère inconnu."]
            continue
        try:
            score = Decimal(str(value))
        except InvalidOperation:
            fields[f"scores.{key}"] = ["Nombre attendu."]
            continue
        if isinstance(value, bool) or not Decimal(0) <= score <= criterion.max_score:
            fields[f"scores.{key}"] = [f"Note entre 0 et {criterion.max_score}."]
            continue
        out[key] = score
    if fields:
        raise ValidationFailed("Notes invalides.", fields=fields)
    return out


COMMENT_MAX = 5000


def _clean_comments(application: Application, raw: dict, scores: dict[str, Decimal],
                    kept: set[str]) -> dict[str, str]:
    """Per-criterion comments: known criteria only, each kept with a score (the row that
    holds it), at most ``COMMENT_MAX`` characters."""
    grid = {c.key for c in application.call.criteria}
    fields: dict[str, list[str]] = {}
    out: dict[str, str] = {}
    for key, value in (raw or {}).items():
        text = ("" if value is None else str(value)).strip()
        if key not in grid:
            fields[f"comments.{key}"] = ["Critère inconnu."]
        elif len(text) > COMMENT_MAX:
            fields[f"comments.{key}"] = [f"{COMMENT_MAX} caractères au maximum."]
        elif text and key not in scores and key not in kept:
            fields[f"comments.{key}"] = ["Notez ce critère pour enregistrer son commentaire."]
        else:
            out[key] = text
    if fields:
        raise ValidationFailed("Commentaires invalides.", fields=fields)
    return out


def save_review(actor: User, application: Application, data: dict) -> Review:
    """Save (and optionally submit) the juror's own review. Declaring a conflict recuses
    the juror: the review no longer counts and the application is hidden from them.

    Optional keys (the web form): ``comments`` ({criterion: text}, stored on each score)
    and ``replace_scores`` (scores left out of ``scores`` are removed, as a form that was
    cleared means); without them, earlier scores and comments are kept as they were."""
    if not actor.has_role(Role.JUROR):
        if policies.can_see_application(actor, application):
            raise Forbidden("Seuls les jurés évaluent les dossiers.")
        raise NotFound("Dossier introuvable.")
    review = _own_review(actor, application)
    if application.state != "in_review":
        raise Conflict("Le dossier n'est pas en cours d'évaluation.")
    if review.submitted:
        raise Conflict("Votre évaluation est déjà transmise.")
    scores = {} if data.get("conflict") else _clean_scores(application, data.get("scores") or {})
    replace = bool(data.get("replace_scores"))
    kept = set() if replace else {s.criterion_key for s in review.scores}
    comments = None
    if "comments" in data and not data.get("conflict"):
        comments = _clean_comments(application, data.get("comments") or {}, scores, kept)
    if data.get("submit") and not data.get("conflict"):
        missing = [c.label for c in application.call.criteria
                   if c.key not in scores and c.key not in kept]
        if missing:
            raise ValidationFailed("Notez chaque critère avant de transmettre.",
                                   fields={"scores": [f"Manquant : {m}" for m in missing]})
    with write_transaction():
        review = db.session.get(Review, review.id, populate_existing=True)
        if data.get("conflict"):
            review.conflict = True
            review.conflict_reason = (data.get("comment") or "").strip() or None
            audit.record_action(application, actor, "conflict_declared")
            return review
        review.comment = (data.get("comment") or "").strip()
        existing = {s.criterion_key: s for s in review.scores}
        for key, value in scores.items():
            if key in existing:
                existing[key].score = value
            else:
                existing[key] = ReviewScore(criterion_key=key, score=value, comment="")
                review.scores.append(existing[key])
        if replace:
            for key in set(existing) - set(scores):
                review.scores.remove(existing.pop(key))
        if comments is not None:
            for key, row in existing.items():
                if key in comments or replace:
                    row.comment = comments.get(key, "")
        # The total counts every score the review now holds, kept ones included.
        review.total = scoring.weighted_total(
            application.call, {key: row.score for key, row in existing.items()})
        if data.get("submit"):
            review.submitted, review.submitted_at = True, now()
            audit.record_action(application, actor, "review_submitted",
                                data={"total": str(review.total)})
    return review


def reviews_for(actor: User, application: Application) -> list[Review]:
    """The reviews the actor may read (``policies.readable_reviews``), by id."""
    if not policies.can_see_application(actor, application):
        raise NotFound("Dossier introuvable.")
    reviews = list(db.session.scalars(
        select(Review).where(Review.application_id == application.id).order_by(Review.id)))
    return policies.readable_reviews(actor, application, reviews)
