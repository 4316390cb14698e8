"""Jury work: who reviews what (assignment), known conflicts, progress and reminders."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select

from aap.errors import Forbidden, ValidationFailed
from aap.extensions import db
from aap.models import Application, Call, Review, User
from aap.models.accounts import Role
from aap.services import audit, notifications, policies
from workflows.application import PHASES

ASSIGNABLE_STATES = PHASES["assignable"]
MODES = ("all", "envelope", "balanced")


def _assignable(call: Call) -> list[Application]:
    return list(db.session.scalars(
        select(Application).where(Application.call_id == call.id,
                                  Application.state.in_(ASSIGNABLE_STATES))
        .order_by(Application.id)))


def _existing(call: Call) -> dict[int, dict[int, Review]]:
    rows = db.session.scalars(select(Review).join(Application).where(
        Application.call_id == call.id))
    out: dict[int, dict[int, Review]] = {}
    for review in rows:
        out.setdefault(review.application_id, {})[review.juror_id] = review
    return out


def assign(call: Call, actor: User, mode: str, *, per_application: int = 2,
           by_envelope: dict[str, list[int]] | None = None) -> int:
    """Create review assignments for the call's eligible and in-review applications.

    ``all``: the whole jury on every application; ``envelope``: the jurors listed for the
    application's envelope; ``balanced``: ``per_application`` jurors each, least loaded
    first (ties by id), never a juror with a recorded conflict. Existing assignments are
    kept. Returns the number of assignments created.
    """
    policies.require_acting_on_call(actor, call, Role.INSTRUCTOR)
    if mode not in MODES:
        raise ValidationFailed("Mode d'attribution inconnu.", fields={"mode": [*MODES]})
    jury = sorted(m.user_id for m in call.jury)
    if not jury:
        raise ValidationFailed("Désignez d'abord le jury de l'appel.", code="no_jury")
    existing = _existing(call)
    load = Counter({j: 0 for j in jury})
    for reviews in existing.values():
        load.update(j for j, r in reviews.items() if not r.conflict and j in load)
    created = 0
    for app in _assignable(call):
        new = _wanted(app, call, mode, jury, existing.get(app.id, {}), load, per_application,
                      by_envelope or {})
        for juror_id in new:
            db.session.add(Review(application_id=app.id, juror_id=juror_id))
            load[juror_id] += 1
        if new:
            created += len(new)
            audit.record_action(app, actor, "jury_assigned",
                                data={"mode": mode, "juror_ids": new})
    db.session.commit()
    return created


def _wanted(app: Application, call: Call, mode: str, jury: list[int],
            current: dict[int, Review], load: Counter, per_application: int,
            by_envelope: dict[str, list[int]]) -> list[int]:
    if mode == "all":
        return [j for j in jury if j not in current]
    if mode == "envelope":
        key = next((e.key for e in call.envelopes if e.id == app.envelope_id), None)
        return [j for j in by_envelope.get(key or "", []) if j in jury and j not in current]
    active = [j for j, r in current.items() if not r.conflict]
    missing = max(per_application - len(active), 0)
    candidates = sorted((j for j in jury if j not in current), key=lambda j: (load[j], j))
    return candidates[:missing]


def record_conflict(actor: User, application: Application, juror: User, reason: str) -> Review:
    """An instructor records a known conflict: the juror is recused from the application."""
    if not policies.acts_as(actor, application, Role.INSTRUCTOR):
        raise Forbidden(policies.READ_ONLY_APPLICATION)
    if not (reason or "").strip():
        raise ValidationFailed("Précisez la nature du conflit.",
                               fields={"reason": ["Obligatoire."]})
    review = db.session.scalar(select(Review).where(
        Review.application_id == application.id, Review.juror_id == juror.id))
    if review is None:
        review = Review(application_id=application.id, juror_id=juror.id)
        db.session.add(review)
    review.conflict, review.conflict_reason = True, reason.strip()
    audit.record_action(application, actor, "conflict_recorded",
                        data={"juror_id": juror.id}, comment=reason.strip())
    db.session.commit()
    return review


@dataclass
class JurorProgress:
    juror: User
    assigned: int
    submitted: int
    drafts: int
    recused: int

    @property
    def late(self) -> int:
        return self.assigned - self.submitted


def progress(call: Call) -> list[JurorProgress]:
    rows = db.session.execute(
        select(Review, Application.state).join(Application)
        .where(Application.call_id == call.id)).all()
    counts: dict[int, Counter] = {m.user_id: Counter() for m in call.jury}
    for review, state in rows:
        tally = counts.setdefault(review.juror_id, Counter())
        if review.conflict:
            tally["recused"] += 1
            continue
        if state != "in_review" and not review.submitted:
            continue
        tally["assigned"] += 1
        tally["submitted"] += review.submitted
        tally["drafts"] += (not review.submitted and review.total is not None)
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(counts)))}
    return [JurorProgress(users[j], c["assigned"], c["submitted"], c["drafts"], c["recused"])
            for j, c in sorted(counts.items(), key=lambda kv: users[kv[0]].display_name)]


def remind_late(call: Call) -> int:
    """Queue one reminder per juror who still has reviews to submit."""
    reminded = 0
    for row in progress(call):
        if row.late > 0:
            notifications.queue([row.juror], "mail/jury_reminder.txt", call=call,
                                late=row.late)
            reminded += 1
    db.session.commit()
    return reminded
