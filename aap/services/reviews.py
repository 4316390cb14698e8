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


def save_review(actor: User, application: Application, data: dict) -> Review:
    """Save (and optionally submit) the juror's own review. Declaring a conflict recuses
    the juror: the review no longer counts and the application is hidden from them."""
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
    if data.get("submit") and not data.get("conflict"):
        missing = [c.label for c in application.call.criteria if c.key not in scores]
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
                review.scores.append(ReviewScore(criterion_key=key, score=value))
        review.total = scoring.weighted_total(application.call, scores)
        if data.get("submit"):
            review.submitted, review.submitted_at = True, now()
            audit.record_action(application, actor, "review_submitted",
                                data={"total": str(review.total)})
    return review


def reviews_for(actor: User, application: Application) -> list[Review]:
    """Instructors see all; a juror sees the others' only after submitting its own."""
    if not policies.can_see_application(actor, application):
        raise NotFound("Dossier introuvable.")
    reviews = list(db.session.scalars(
        select(Review).where(Review.application_id == application.id).order_by(Review.id)))
    if actor.has_role(Role.INSTRUCTOR, Role.ADMIN):
        return reviews
    if actor.has_role(Role.JUROR):
        own = next((r for r in reviews if r.juror_id == actor.id), None)
        if own is None:
            raise Forbidden("Vous n'êtes pas juré de ce dossier.")
        return reviews if own.submitted else [own]
    raise Forbidden("Les évaluations sont réservées au jury et à l'instruction.")
