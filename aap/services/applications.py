"""Applications: create, edit while draft or incomplete, read, list (role-scoped)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from aap.database import lock, write_transaction
from aap.errors import Conflict, Forbidden, Hidden, NotFound, ValidationFailed
from aap.extensions import db
from aap.models import Application, Call, Organisation, User
from aap.models.accounts import Role
from aap.money import parse_cents
from aap.services import audit, policies, search
from aap.timeutil import now
from aap.vocabulary import BUDGET_LINES, DOMAINS, GROUNDS
from workflows.application import EDITABLE_STATES

TEXT_LIMITS = {"title": 300, "summary": 5000, "objectives": 5000, "target_public": 2000}
LIST_FIELDS = {"domains": DOMAINS, "grounds": GROUNDS}
EDITABLE_FIELDS = (
    *TEXT_LIMITS, "domains", "grounds", "territories", "envelope", "beneficiaries",
    "starts_on", "ends_on", "budget", "requested_cents",
)


def _clean_budget(raw: Any, fields: dict[str, list[str]]) -> dict[str, dict[str, int]]:
    if not isinstance(raw, dict):
        fields["budget"] = ["Budget attendu : {charges: {ligne: centimes}, products: {...}}."]
        return {}
    out: dict[str, dict[str, int]] = {}
    for side, allowed in BUDGET_LINES.items():
        out[side] = {}
        lines = raw.get(side) or {}
        if not isinstance(lines, dict):
            fields[f"budget.{side}"] = ["Format invalide."]
            continue
        for code, value in lines.items():
            if code not in allowed:
                fields[f"budget.{side}.{code}"] = ["Ligne CERFA inconnue."]
                continue
            try:
                cents = parse_cents(value)
            except ValueError as exc:
                fields[f"budget.{side}.{code}"] = [str(exc)]
                continue
            if cents:
                out[side][code] = cents
    return out


def clean(call: Call, data: dict, app: Application | None = None) -> dict:
    """Check the shape of what may be saved in a draft (completeness is checked at submit);
    ``app``'s stored dates stand for those left out of ``data``."""
    fields: dict[str, list[str]] = {}
    out: dict = {}
    for name, limit in TEXT_LIMITS.items():
        if name in data:
            value = (data[name] or "").strip()
            if len(value) > limit:
                fields[name] = [f"{limit} caractères au maximum ({len(value)} saisis)."]
            out[name] = value
    for name, vocabulary in LIST_FIELDS.items():
        if name in data:
            unknown = sorted(set(data[name] or []) - set(vocabulary))
            if unknown:
                fields[name] = [f"Valeur inconnue : {', '.join(unknown)}."]
            out[name] = list(dict.fromkeys(data[name] or []))
    if "territories" in data:
        territories = [t.strip() for t in data["territories"] or [] if t and t.strip()]
        if any(len(t) > 120 for t in territories):
            fields["territories"] = ["Nom de territoire trop long."]
        out["territories"] = list(dict.fromkeys(territories))
    if "envelope" in data:
        key = data["envelope"]
        envelope = call.envelope(key) if key else None
        if key and envelope is None:
            fields["envelope"] = ["Enveloppe inconnue pour cet appel."]
        out["envelope_id"] = envelope.id if envelope else None
    for name in ("beneficiaries", "requested_cents"):
        if name in data and data[name] is not None:
            try:
                out[name] = parse_cents(data[name])
            except ValueError as exc:
                fields[name] = [str(exc).replace("montant", "nombre")
                                if name == "beneficiaries" else str(exc)]
    for name in ("starts_on", "ends_on"):
        if name in data:
            out[name] = data[name]
    if "budget" in data:
        out["budget"] = _clean_budget(data["budget"], fields)
    try:
        check_period(out, app)
    except ValidationFailed as exc:
        fields.update(exc.fields)
    if fields:
        raise ValidationFailed("Le dossier comporte des erreurs.", fields=fields)
    return out


PERIOD_REVERSED = "La date de fin précède la date de début."


def check_period(values: dict, app: Application | None = None) -> None:
    """An action may not end before it starts: the dates given, or those the application
    already holds for the one left out (a PATCH may change one date only)."""
    starts_on = values["starts_on"] if "starts_on" in values else getattr(app, "starts_on", None)
    ends_on = values["ends_on"] if "ends_on" in values else getattr(app, "ends_on", None)
    if starts_on is not None and ends_on is not None and ends_on < starts_on:
        raise ValidationFailed(PERIOD_REVERSED, fields={"ends_on": [PERIOD_REVERSED]})


def _apply(app: Application, values: dict) -> list[str]:
    changed = []
    for name, value in values.items():
        if name == "budget":
            if app.budget() != value:
                app.set_budget(value)
                changed.append(name)
        elif getattr(app, name) != value:
            setattr(app, name, value)
            changed.append(name)
    return changed


def create(actor: User, data: dict) -> Application:
    call = db.session.get(Call, data.get("call_id"))
    organisation = db.session.get(Organisation, data.get("organisation_id"))
    fields = {}
    if call is None:
        fields["call_id"] = ["Appel inconnu."]
    if organisation is None:
        fields["organisation_id"] = ["Organisation inconnue."]
    if fields:
        raise ValidationFailed("Dossier non créé.", fields=fields)
    if not (actor.has_role(Role.APPLICANT) and policies.is_member(actor, organisation.id)):
        raise Forbidden("Vous n'êtes pas membre de cette organisation.")
    if now() >= call.closes_at:
        raise ValidationFailed("Cet appel est clos : plus aucun dossier ne peut être déposé.",
                               code="call_closed")
    values = clean(call, {k: v for k, v in data.items() if k in EDITABLE_FIELDS})
    app = Application(call=call, organisation=organisation, created_by_id=actor.id)
    db.session.add(app)
    _apply(app, values)
    db.session.flush()
    audit.record_action(app, actor, "create", data={"fields": sorted(values)})
    db.session.commit()
    return app


def get_visible(actor: User, application_id: int) -> Application:
    app = db.session.get(Application, application_id)
    if app is None:
        raise NotFound("Dossier introuvable.")
    if not policies.can_see_application(actor, app):
        raise Hidden("Dossier introuvable.")
    return app


def update(actor: User, application_id: int, data: dict) -> Application:
    app = get_visible(actor, application_id)
    if not policies.acts_as(actor, app, Role.APPLICANT):
        raise Forbidden("Seuls les membres de l'organisation modifient le dossier.")
    values = clean(app.call, {k: v for k, v in data.items() if k in EDITABLE_FIELDS}, app)
    with write_transaction():
        app = db.session.execute(
            lock(select(Application).where(Application.id == application_id), Application)
            .execution_options(populate_existing=True)
        ).scalar_one()
        if app.state not in EDITABLE_STATES:
            raise Conflict("Le dossier n'est plus modifiable dans son état actuel.")
        check_period(values, app)  # against the dates as locked
        changed = _apply(app, values)
        if changed:
            audit.record_action(app, actor, "edit", data={"fields": changed})
    return app


@dataclass
class Page:
    items: list[Application]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def list_visible(actor: User, *, call_id: int | None = None, state: str | None = None,
                 page: int = 1, per_page: int = 25) -> Page:
    def filtered(query: Select) -> Select:
        if call_id is not None:
            query = query.where(Application.call_id == call_id)
        return query.where(Application.state == state) if state else query

    query = filtered(policies.visible_applications(actor))
    total = search.count(filtered(policies.visible_applications(actor, counting=True)))
    items = db.session.scalars(
        query.options(selectinload(Application.budget_lines))
        .order_by(Application.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).unique().all()
    return Page(items=list(items), page=page, per_page=per_page, total=total)


def list_own(actor: User, *, page: int = 1, per_page: int = 25) -> Page:
    """The applications of the actor's organisations only (an applicant who also holds a
    staff role sees its own work here, not every submitted application)."""
    from aap.models import Membership

    query = select(Application).where(Application.organisation_id.in_(
        select(Membership.organisation_id).where(Membership.user_id == actor.id)))
    total = search.count(query)
    items = db.session.scalars(
        query.options(selectinload(Application.budget_lines))
        .order_by(Application.updated_at.desc(), Application.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).unique().all()
    return Page(items=list(items), page=page, per_page=per_page, total=total)
