"""Who may see and act on what. Every permission is also checked on the object.

Authorities (SPEC 2): a staff role is held platform-wide or in one authority. Staff of an
authority read and act on its funds, calls and applications; staff of a parent authority
*read* their descendants' (never act: 403); anything else is invisible (404). A fund with
no authority is platform-wide: only platform-wide staff see it. The scopes below are the
one place that says so; the list queries are built from them, so views and templates
never filter by authority themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import g, has_app_context
from sqlalchemy import ColumnElement, Select, event, exists, false, or_, select, true
from sqlalchemy.orm import Session

from aap.database import READ_MEMO
from aap.errors import Forbidden, Hidden, NotFound, ValidationFailed
from aap.extensions import db
from aap.models import (
    AllocationRun,
    Application,
    Authority,
    Call,
    Fund,
    JuryMember,
    Membership,
    Review,
    User,
)
from aap.models.accounts import AUTHORITY_ROLES, Role, UserRole

STAFF_ROLES = (Role.INSTRUCTOR, Role.FINANCE, Role.ADMIN)


# -- authorities -----------------------------------------------------------------------------

def authority_parents() -> dict[int, int | None]:
    """Every authority's parent, read once per request (the table is small)."""
    cached = g.get("_authority_parents") if has_app_context() else None
    if cached is None:
        cached = dict(db.session.execute(select(Authority.id, Authority.parent_id)).all())
        if has_app_context():
            g._authority_parents = cached
    return cached


def forget_authorities() -> None:
    """Drop the request's copy of the authority tree (after creating or moving one)."""
    if has_app_context():
        g.pop("_authority_parents", None)


def with_descendants(ids: frozenset[int]) -> frozenset[int]:
    """``ids`` and every authority below them."""
    parents = authority_parents()
    found = set(ids)
    changed = True
    while changed:
        below = {a for a, parent in parents.items() if parent in found and a not in found}
        found |= below
        changed = bool(below)
    return frozenset(found)


def ancestors(authority_id: int | None) -> list[int]:
    """The authorities above ``authority_id``, nearest first."""
    parents, out = authority_parents(), []
    current = parents.get(authority_id) if authority_id is not None else None
    while current is not None and current not in out:
        out.append(current)
        current = parents.get(current)
    return out


@dataclass(frozen=True)
class Scope:
    """Where a user holds some roles: everywhere (``platform``), or in ``acting``
    authorities, whose descendants it may read (``reading``)."""

    platform: bool
    acting: frozenset[int]
    reading: frozenset[int]

    def reads(self, authority_id: int | None) -> bool:
        return self.platform or (authority_id is not None and authority_id in self.reading)

    def acts(self, authority_id: int | None) -> bool:
        return self.platform or (authority_id is not None and authority_id in self.acting)

    def condition(self, column, *, acting: bool = False) -> ColumnElement[bool]:
        """A SQL condition on an ``authority_id`` column: what this scope reads (or acts on)."""
        if self.platform:
            return true()
        ids = self.acting if acting else self.reading
        return column.in_(sorted(ids)) if ids else false()

    @property
    def empty(self) -> bool:
        return not self.platform and not self.acting


def scope(user: User | None, *roles: str) -> Scope:
    """Where ``user`` holds one of ``roles``."""
    if user is None:
        return Scope(False, frozenset(), frozenset())
    held = user.role_authorities(*roles)
    acting = frozenset(a for a in held if a is not None)
    return Scope(None in held, acting, with_descendants(acting) if acting else acting)


def fund_authority(fund_id: int) -> int | None:
    return db.session.scalar(select(Fund.authority_id).where(Fund.id == fund_id))


def call_authority(call: Call) -> int | None:
    """The authority that runs the call (through its fund); ``None``: platform-wide."""
    fund = call.__dict__.get("fund")  # already loaded: no query
    return fund.authority_id if fund is not None else fund_authority(call.fund_id)


def application_authority(application: Application) -> int | None:
    call = application.__dict__.get("call")
    if call is not None:
        return call_authority(call)
    return db.session.scalar(select(Fund.authority_id).join(Call, Call.fund_id == Fund.id)
                             .where(Call.id == application.call_id))


def calls_in(scope_: Scope, *, acting: bool = False) -> Select:
    """The ids of the calls a scope reads (or acts on), as a subquery."""
    query = select(Call.id)
    if scope_.platform:
        return query
    return query.join(Fund, Fund.id == Call.fund_id).where(
        scope_.condition(Fund.authority_id, acting=acting))


def application_in(scope_: Scope, *, counting: bool = False) -> ColumnElement[bool]:
    """Whether an application's call is in what a scope reads. For a page, a correlated
    EXISTS: SQLite then walks the applications in the list's order and stops at the page,
    where ``call_id IN (…)`` made it read and sort every application of a parent's
    children. For a count, which reads them all anyway, ``call_id IN (…)``: the calls are
    looked up once, not once per application (half the cost on 100 000 applications)."""
    if counting:
        return Application.call_id.in_(calls_in(scope_))
    return exists().where(Call.id == Application.call_id, Fund.id == Call.fund_id,
                          scope_.condition(Fund.authority_id))


def funds_in(scope_: Scope, *, acting: bool = False) -> ColumnElement[bool]:
    return scope_.condition(Fund.authority_id, acting=acting)


def visible_funds(user: User | None, *roles: str) -> Select:
    """The funds that staff with ``roles`` read (all staff roles by default)."""
    return select(Fund).where(funds_in(scope(user, *(roles or STAFF_ROLES_AND_JUROR))))


def can_act_on_fund(user: User | None, fund: Fund, role: str) -> bool:
    return scope(user, role).acts(fund.authority_id)


def staff_calls(user: User | None, *roles: str) -> Select:
    """The calls that staff with ``roles`` read (their authorities and descendants)."""
    return select(Call).where(Call.id.in_(calls_in(scope(user, *roles))))


def can_read_call(user: User | None, call: Call, *roles: str) -> bool:
    """Whether staff with one of ``roles`` read this call (else it is 404 to them)."""
    return scope(user, *(roles or STAFF_ROLES_AND_JUROR)).reads(call_authority(call))


def can_act_on_call(user: User | None, call: Call, role: str) -> bool:
    """Whether ``user`` acts on this call as ``role`` (a parent authority only reads)."""
    return scope(user, role).acts(call_authority(call))


def is_manager_of(user: User | None, authority_id: int) -> bool:
    """Admins manage every authority; a manager manages its own (not its children)."""
    if user is None:
        return False
    return user.has_role(Role.ADMIN) or authority_id in user.role_authorities(Role.MANAGER)


STAFF_ROLES_AND_JUROR = (*STAFF_ROLES, Role.JUROR)


def is_member(user: User, organisation_id: int) -> bool:
    return _remembered(("member", user.id, organisation_id), lambda: db.session.scalar(
        select(exists().where(
            Membership.user_id == user.id, Membership.organisation_id == organisation_id
        ))
    ) or False)


def _remembered(key: tuple, ask: Callable[[], bool]) -> bool:
    """``ask()``, kept for the session's transaction: an application's checks ask the same
    membership or assignment several times per request (visibility, each trigger's role,
    the audience of a score). Forgotten at any flush, at the transaction's end and when a
    write transaction begins (the checks under its locks ask again), and not used while
    changes are pending (a membership or a conflict being recorded)."""
    session = db.session()
    memo = session.info.setdefault(READ_MEMO, {})
    if session.new or session.deleted or session.dirty or key not in memo:
        memo[key] = ask()
    return memo[key]


@event.listens_for(Session, "after_flush")
@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, *_args) -> None:
    session.info.pop(READ_MEMO, None)


def organisation_ids(user: User) -> list[int]:
    return list(db.session.scalars(
        select(Membership.organisation_id).where(Membership.user_id == user.id)
    ))


def is_assigned_juror(user: User, application: Application) -> bool:
    """Assigned and not recused; a juror never sees a draft."""
    if application.state == "draft":
        return False
    return _remembered(("juror", user.id, application.id), lambda: db.session.scalar(
        select(exists().where(
            Review.application_id == application.id,
            Review.juror_id == user.id,
            Review.conflict.is_(False),
        ))
    ) or False)


def can_see_application(user: User | None, application: Application) -> bool:
    """Members see their organisation's applications; staff see them once submitted (a
    draft is the applicant's own work); jurors see what they are assigned, unrecused."""
    if user is None:
        return False
    if user.has_role(Role.APPLICANT) and is_member(user, application.organisation_id):
        return True
    if user.has_role(*STAFF_ROLES) and application.state != "draft" and scope(
            user, *STAFF_ROLES).reads(application_authority(application)):
        return True
    return user.has_role(Role.JUROR) and is_assigned_juror(user, application)


def reads_as_staff(user: User | None, application: Application, *roles: str) -> bool:
    """Whether ``user`` reads the application as staff holding one of ``roles`` (staff
    roles by default) in its authority, a parent, or platform-wide; never a draft."""
    if user is None or application.state == "draft":
        return False
    return scope(user, *(roles or STAFF_ROLES)).reads(application_authority(application))


def acts_as(user: User, application: Application, role: str) -> bool:
    """Whether the user holds ``role`` *for this application*: an applicant must be a
    member of its organisation, a juror assigned and unrecused, and staff must hold the
    role platform-wide or in the application's own authority (a parent only reads)."""
    if not user.has_role(role):
        return False
    if role == Role.APPLICANT:
        return is_member(user, application.organisation_id)
    if role == Role.JUROR:
        return is_assigned_juror(user, application)
    return scope(user, role).acts(application_authority(application))


def visible_applications(user: User, *, counting: bool = False) -> Select:
    """The applications a user may list, as a query (role-scoped, no per-row checks);
    ``counting`` gives the same rows in the form that is cheaper to count."""
    query = select(Application)
    conditions = []
    staff = scope(user, *STAFF_ROLES)
    if staff.platform:
        conditions.append(Application.state != "draft")
    elif not staff.empty:
        conditions.append((Application.state != "draft")
                          & application_in(staff, counting=counting))
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
    if not can_see_application(user, application):
        raise Hidden("Dossier introuvable.")
    if may_read_all_reviews(user, application):
        return reviews
    own = next((r for r in reviews if r.juror_id == user.id and not r.conflict), None)
    if own is None or not user.has_role(Role.JUROR):
        raise Forbidden("Les évaluations sont réservées au jury et à l'instruction.")
    if not own.submitted:
        return [own]
    return [r for r in reviews if r is own or (r.submitted and not r.conflict)]


def may_read_all_reviews(user: User, application: Application | None = None,
                         call: Call | None = None) -> bool:
    """Whether the user reads every juror's review of this application (or call): an
    instructor of its authority or a parent. With no object: an instructor somewhere."""
    if not user.has_role(Role.INSTRUCTOR):
        return False
    if application is not None:
        return scope(user, Role.INSTRUCTOR).reads(application_authority(application))
    if call is not None:
        return scope(user, Role.INSTRUCTOR).reads(call_authority(call))
    return True


#: The roles that export money and open data (SPEC 7.1: finance, instructor).
EXPORT_ROLES = (Role.FINANCE, Role.INSTRUCTOR)


def may_export(user: User | None) -> bool:
    """Whether the user may export workbooks, open data and indicators at all."""
    return user is not None and user.has_role(*EXPORT_ROLES)


def exportable_calls(user: User | None) -> Select:
    """The calls whose exports (balance sheet, SCDL, indicators) the user may read, as a
    query: the calls of the authorities where it is finance or instructor, and of their
    descendants (every call when platform-wide); none for the others. The web pages, the
    API, the CLI and the background jobs all call it."""
    if not may_export(user):
        return select(Call).where(false())
    return staff_calls(user, *EXPORT_ROLES)


def may_export_call(user: User | None, call) -> bool:
    """Whether the user may read the exports of this one call (checked on the object)."""
    if not may_export(user):
        return False
    return db.session.scalar(
        select(exists().where(Call.id == call.id, Call.id.in_(
            exportable_calls(user).with_only_columns(Call.id))))) or False


# -- objects loaded by id under SPEC 2's rules --------------------------------------------
#
# Another authority's object is 404 (it does not exist for that user); a parent
# authority's staff read their descendants' objects and get 403 on any action; the
# authority's own staff and the platform-wide ones act. The views and the API load every
# fund, call and allocation run through these, never with ``db.session.get`` alone.

#: The roles whose holders read a call as staff (its authority's, or a parent's).
CALL_STAFF = STAFF_ROLES
#: The roles whose holders see an authority's calls (and its descendants') in the API.
CALL_LIST_STAFF = (*STAFF_ROLES, Role.MANAGER, Role.JUROR)
READ_ONLY = ("Cet appel relève d'une collectivité rattachée à la vôtre : vous pouvez le "
             "consulter, pas agir dessus.")
READ_ONLY_APPLICATION = ("Ce dossier relève d'une collectivité rattachée à la vôtre : vous "
                         "pouvez le consulter, pas agir dessus.")


def readable_call(user: User | None, call_id: int, *roles: str) -> Call:
    """The call, if ``user`` reads it as one of ``roles`` (staff roles by default)."""
    call = db.session.get(Call, call_id)
    if call is None:
        raise NotFound("Appel introuvable.")
    if not can_read_call(user, call, *(roles or CALL_STAFF)):
        raise Hidden("Appel introuvable.")
    return call


def require_acting_on_call(user: User | None, call: Call, role: str) -> None:
    """403 unless ``user`` acts on ``call`` as ``role`` (a parent authority only reads)."""
    if not can_act_on_call(user, call, role):
        raise Forbidden(READ_ONLY)


def call_to_act_on(user: User | None, call_id: int, role: str) -> Call:
    """The call ``user`` acts on as ``role``: 404 unless it reads it, 403 when it only
    reads it (a descendant's call)."""
    call = readable_call(user, call_id, role)
    require_acting_on_call(user, call, role)
    return call


def readable_run(user: User | None, run_id: int, role: str = Role.INSTRUCTOR,
                 call_id: int | None = None) -> AllocationRun:
    """An allocation run whose call ``user`` reads as ``role`` (of ``call_id`` if given)."""
    run = db.session.get(AllocationRun, run_id)
    if run is None or (call_id is not None and run.call_id != call_id) or not scope(
            user, role).reads(_call_authority_by_id(run.call_id)):
        raise NotFound("Répartition introuvable.")
    return run


def _call_authority_by_id(call_id: int) -> int | None:
    return db.session.scalar(select(Fund.authority_id).join(Call, Call.fund_id == Fund.id)
                             .where(Call.id == call_id))


def may_fire(user: User, application: Application, trigger: str) -> bool:
    """Whether ``user`` holds one of the trigger's roles *for this application* (the state
    aside): what a page checks before reading the trigger's form."""
    from workflows import get_workflow

    roles = get_workflow(application.call.workflow).roles_for(trigger)
    return any(acts_as(user, application, role) for role in roles)


def funds_to_act_on(user: User | None, role: str = Role.INSTRUCTOR) -> Select:
    """The funds on which ``user`` configures calls as ``role``: its authorities' own (a
    parent does not create calls in its children's funds); all when platform-wide."""
    return select(Fund).where(funds_in(scope(user, role), acting=True))


def authorities_acted_in(user: User | None, role: str = Role.INSTRUCTOR) -> list[Authority]:
    """The authorities where ``user`` acts as ``role`` (every one when platform-wide)."""
    scope_ = scope(user, role)
    query = select(Authority).order_by(Authority.name)
    if not scope_.platform:
        query = query.where(Authority.id.in_(sorted(scope_.acting)) if scope_.acting
                            else false())
    return list(db.session.scalars(query))


def fund_for_new_call(user: User | None, fund_id: int | None) -> Fund:
    """The fund a new call goes into, named in a body: unknown or invisible is the
    ``fund_id`` field's error (422), a descendant's fund is 403."""
    fund = db.session.get(Fund, fund_id) if fund_id is not None else None
    if fund is None or not scope(user, Role.INSTRUCTOR).reads(fund.authority_id):
        raise ValidationFailed("Dispositif inconnu.", fields={"fund_id": ["Dispositif inconnu."]})
    if not can_act_on_fund(user, fund, Role.INSTRUCTOR):
        raise Forbidden("Ce dispositif relève d'une collectivité rattachée à la vôtre : "
                        "vous ne pouvez pas y créer d'appel.")
    return fund


# -- calls in the API: applicants see them all (they are platform-wide) --------------------

def listed_calls(user: User | None) -> Select:
    """The calls ``GET /calls`` lists to ``user``: every call to an applicant (applicants
    are platform-wide, SPEC 2); to staff, managers and jurors their authorities' and their
    descendants' calls (every call when the role is platform-wide); to a juror also the
    calls whose jury it sits on."""
    if user is None:
        return select(Call).where(false())
    if user.has_role(Role.APPLICANT):
        return select(Call)
    conditions = []
    staff = scope(user, *CALL_LIST_STAFF)
    if not staff.empty:
        conditions.append(Call.id.in_(calls_in(staff)))
    if user.has_role(Role.JUROR):
        conditions.append(Call.id.in_(select(JuryMember.call_id)
                                      .where(JuryMember.user_id == user.id)))
    return select(Call).where(or_(*conditions) if conditions else false())


def can_see_call(user: User | None, call: Call) -> bool:
    """``GET /calls/{id}``: the rule of :func:`listed_calls`, on one call."""
    if user is None:
        return False
    if user.has_role(Role.APPLICANT):
        return True
    if scope(user, *CALL_LIST_STAFF).reads(call_authority(call)):
        return True
    return user.has_role(Role.JUROR) and any(m.user_id == user.id for m in call.jury)


def visible_call(user: User | None, call_id: int) -> Call:
    call = db.session.get(Call, call_id)
    if call is None:
        raise NotFound("Appel introuvable.")
    if not can_see_call(user, call):
        raise Hidden("Appel introuvable.")
    return call


# -- juries: chosen among the authority's jurors (SPEC 2) ------------------------------------

def _juror_condition(authority_id: int | None) -> ColumnElement[bool]:
    held_where = UserRole.authority_id.is_(None)
    if authority_id is not None:
        held_where = or_(held_where, UserRole.authority_id == authority_id)
    return exists().where(UserRole.user_id == User.id, UserRole.role == Role.JUROR,
                          held_where)


def eligible_jurors(call: Call) -> Select:
    """The active users who may sit on the call's jury: jurors platform-wide or in the
    call's own authority (not a parent's, not a child's)."""
    return (select(User).where(User.active.is_(True), _juror_condition(call_authority(call)))
            .order_by(User.name, User.email))


def ineligible_jurors(call: Call, users: list[User]) -> list[User]:
    """Those of ``users`` who hold the juror role neither platform-wide nor in the call's
    authority."""
    authority_id = call_authority(call)
    return [u for u in users if not _holds_juror_for(u, authority_id)]


def _holds_juror_for(user: User, authority_id: int | None) -> bool:
    held = user.role_authorities(Role.JUROR)
    return None in held or (authority_id is not None and authority_id in held)


#: The roles whose holders read an authority's figures (where they hold them, and below).
FIGURE_READERS = (*AUTHORITY_ROLES, Role.ADMIN)


def readable_authority(user: User | None, authority_id: int,
                       roles: Iterable[str] = FIGURE_READERS) -> Authority:
    """The authority whose figures ``user`` asks for, if one of ``roles`` held there, in an
    ancestor or platform-wide lets it read them. Forbidden for a user with none of the
    roles anywhere (checked first: the object is not looked up); NotFound for an unknown
    authority or one the user does not read (another authority is not shown to exist)."""
    roles = tuple(roles)
    if user is None or not user.has_role(*roles):
        raise Forbidden("Les chiffres des collectivités sont réservés à leurs agents.")
    authority = db.session.get(Authority, authority_id)
    if authority is None:
        raise NotFound("Collectivité introuvable.")
    if not scope(user, *roles).reads(authority.id):
        raise Hidden("Collectivité introuvable.")
    return authority
