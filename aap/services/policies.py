"""Who may see and act on what. Every permission is also checked on the object."""

from __future__ import annotations

from sqlalchemy import Select, exists, false, or_, select

from aap.extensions import db
from aap.models import Application, Call, Membership, Review, User
from aap.models.accounts import Role

STAFF_ROLES = (Role.INSTRUCTOR, Role.FINANCE, Role.ADMIN)


def is_member(user: User, organisation_id: int) -> bool:
    return db.session.scalar(
        select(exists().where(
            Membership.user_id == user.id, Membership.organisation_id == organisation_id
        ))
    ) or False


def organisation_ids(user: User) -> list[int]:
    return list(db.session.scalars(
        select(Membership.organisation_id).where(Membership.user_id == user.id)
    ))


def is_assigned_juror(user: User, application: Application) -> bool:
    """Assigned and not recused; a juror never sees a draft."""
    if application.state == "draft":
        return False
    return db.session.scalar(
        select(exists().where(
            Review.application_id == application.id,
            Review.juror_id == user.id,
            Review.conflict.is_(False),
        ))
    ) or False


def can_see_application(user: User | None, application: Application) -> bool:
    """Members see their organisation's applications; staff see them once submitted (a
    draft is the applicant's own work); jurors see what they are assigned, unrecused."""
    if user is None:
        return False
    if user.has_role(Role.APPLICANT) and is_member(user, application.organisation_id):
        return True
    if user.has_role(*STAFF_ROLES):
        return application.state != "draft"
    return user.has_role(Role.JUROR) and is_assigned_juror(user, application)


def acts_as(user: User, application: Application, role: str) -> bool:
    """Whether the user holds ``role`` *for this application* (an applicant must be a
    member of its organisation; staff roles are global)."""
    if not user.has_role(role):
        return False
    if role == Role.APPLICANT:
        return is_member(user, application.organisation_id)
    if role == Role.JUROR:
        return is_assigned_juror(user, application)
    return True


def visible_applications(user: User) -> Select:
    """The applications a user may list, as a query (role-scoped, no per-row checks)."""
    query = select(Application)
    conditions = []
    if user.has_role(*STAFF_ROLES):
        conditions.append(Application.state != "draft")
    if user.has_role(Role.APPLICANT):
        conditions.append(Application.organisation_id.in_(
            select(Membership.organisation_id).where(Membership.user_id == user.id)
        ))
    if user.has_role(Role.JUROR):
        conditions.append(Application.id.in_(
            select(Review.application_id).where(
                Review.juror_id == user.id, Review.conflict.is_(False)
            )
        ) & (Application.state != "draft"))
    return query.where(or_(*conditions) if conditions else false())


def readable_reviews(user: User, application: Application, reviews: list[Review]) -> list[Review]:
    """The reviews of ``application`` that ``user`` may read, out of all of them (SPEC 5):
    instructors read every review; an assigned, unrecused juror reads its own and, once it
    has submitted it, the others' *submitted, non-recused* ones, never a draft or a
    recusal. Nobody else reads reviews (admin and finance included, unless they are also
    instructors). Raises NotFound when the application is not visible, Forbidden when
    it is but its reviews are not for this user. The web pages and the API both call it."""
    from aap.errors import Forbidden, NotFound

    if not can_see_application(user, application):
        raise NotFound("Dossier introuvable.")
    if user.has_role(Role.INSTRUCTOR):
        return reviews
    own = next((r for r in reviews if r.juror_id == user.id and not r.conflict), None)
    if own is None or not user.has_role(Role.JUROR):
        raise Forbidden("Les évaluations sont réservées au jury et à l'instruction.")
    if not own.submitted:
        return [own]
    return [r for r in reviews if r is own or (r.submitted and not r.conflict)]


def may_read_all_reviews(user: User) -> bool:
    """Whether the user reads every juror's review of the applications it sees."""
    return user.has_role(Role.INSTRUCTOR)


#: The roles that export money and open data (SPEC 7.1: finance, instructor).
EXPORT_ROLES = (Role.FINANCE, Role.INSTRUCTOR)


def may_export(user: User | None) -> bool:
    """Whether the user may export workbooks, open data and indicators at all."""
    return user is not None and user.has_role(*EXPORT_ROLES)


def exportable_calls(user: User | None) -> Select:
    """The calls whose exports (balance sheet, SCDL, indicators) the user may read, as a
    query: every call for finance and instructors (one authority today), none for the
    others. The web pages, the API, the CLI and the background jobs all call it, so
    narrowing it (per authority) narrows every export at once."""
    query = select(Call)
    return query if may_export(user) else query.where(false())


def may_export_call(user: User | None, call) -> bool:
    """Whether the user may read the exports of this one call (checked on the object)."""
    if not may_export(user):
        return False
    return db.session.scalar(
        select(exists().where(Call.id == call.id, Call.id.in_(
            exportable_calls(user).with_only_columns(Call.id))))) or False
