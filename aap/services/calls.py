"""Funds and calls: configuration, jury."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select

from aap.database import lock, write_transaction
from aap.errors import ValidationFailed
from aap.extensions import db
from aap.models import (
    Application,
    AuditEvent,
    Call,
    Criterion,
    Decision,
    Envelope,
    Fund,
    JuryMember,
    Review,
    User,
)
from aap.models.accounts import Role
from aap.services import identifiers
from aap.timeutil import PARIS, now, to_paris
from aap.vocabulary import N_
from workflows.application import PHASES


def create_fund(data: dict, actor: User | None = None) -> Fund:
    """A new fund of ``data["authority_id"]`` (platform-wide when absent). An ``actor``
    must be an instructor of that authority (403; a parent's instructor only reads), and
    only a platform-wide instructor may leave it out (422); ``None``: the operator."""
    authority_id = _fund_authority(data.get("authority_id"), actor)
    try:
        siret = identifiers.clean_siret(data.get("owner_siret", ""))
    except ValueError as exc:
        raise ValidationFailed(str(exc), fields={"owner_siret": [str(exc)]}) from exc
    imputation = data.get("imputation") or {}
    fund = Fund(
        authority_id=authority_id,
        name=data["name"].strip(), owner_name=data["owner_name"].strip(), owner_siret=siret,
        imputation_chapter=imputation.get("chapter", "65"),
        imputation_nature=imputation.get("nature", "65748"),
        imputation_function=imputation.get("function", ""),
        imputation_subpolicy=imputation.get("subpolicy", ""),
        owner_product_line=data.get("owner_product_line") or "74_epci",
        notification_ue=bool(data.get("notification_ue", False)),
    )
    db.session.add(fund)
    db.session.commit()
    return fund


def _fund_authority(authority_id: int | None, actor: User | None) -> int | None:
    """The fund's authority, checked against what ``actor`` instructs."""
    from aap.errors import Forbidden
    from aap.models import Authority
    from aap.services import policies

    if authority_id is not None and db.session.get(Authority, authority_id) is None:
        raise ValidationFailed("Collectivité inconnue.",
                               fields={"authority_id": ["Collectivité inconnue."]})
    if actor is None:
        return authority_id
    instructing = policies.scope(actor, Role.INSTRUCTOR)
    if authority_id is None and not instructing.platform:
        message = "Précisez la collectivité du dispositif."
        raise ValidationFailed(message, fields={"authority_id": [message]})
    if not instructing.acts(authority_id):
        raise Forbidden("Vous n'instruisez pas pour cette collectivité.")
    return authority_id


def _check_call(data: dict) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    if data["closes_at"] <= data["opens_at"]:
        fields["closes_at"] = ["La clôture doit suivre l'ouverture."]
    envelopes = data.get("envelopes") or []
    if sum(e["budget_cents"] for e in envelopes) > data["budget_cents"]:
        fields["envelopes"] = ["Les enveloppes dépassent le budget de l'appel."]
    if len({e["key"] for e in envelopes}) != len(envelopes):
        fields.setdefault("envelopes", []).append("Clés d'enveloppe en double.")
    grid = data.get("grid") or []
    if len({c["key"] for c in grid}) != len(grid):
        fields["grid"] = ["Clés de critère en double."]
    rules = data.get("rules") or {}
    low, high = rules.get("min_request_cents"), rules.get("max_request_cents")
    if low is not None and high is not None and low > high:
        fields["rules"] = ["Le minimum dépasse le maximum."]
    gap = data.get("report_gap_threshold")
    if gap is not None and not Decimal(0) <= Decimal(str(gap)) <= Decimal(1):
        fields["report_gap_threshold"] = ["Part entre 0 et 1 attendue (0,15 pour 15 %)."]
    threshold = data.get("convention_threshold_cents")
    if threshold is not None and threshold < 0:
        fields["convention_threshold_cents"] = ["Le seuil ne peut pas être négatif."]
    return fields


#: A convention is required above this grant (décret n° 2001-495: 23 000 €); a final
#: report whose spending differs from the budget by more than this share is explained.
CONVENTION_THRESHOLD_CENTS = 23_000_00
REPORT_GAP_THRESHOLD = Decimal("0.15")


def create_call(data: dict) -> Call:
    fund = db.session.get(Fund, data["fund_id"])
    if fund is None:
        raise ValidationFailed("Dispositif inconnu.", fields={"fund_id": ["Dispositif inconnu."]})
    if fields := _check_call(data):
        raise ValidationFailed("L'appel comporte des erreurs.", fields=fields)
    rules = data.get("rules") or {}
    call = Call(
        fund=fund, title=data["title"].strip(), description=data.get("description", ""),
        fiscal_year=data["fiscal_year"], opens_at=data["opens_at"], closes_at=data["closes_at"],
        budget_cents=data["budget_cents"],
        min_request_cents=rules.get("min_request_cents"),
        max_request_cents=rules.get("max_request_cents"),
        max_share_of_cost=rules.get("max_share_of_cost"),
        scale=data.get("scale", 20), min_total=Decimal(str(data.get("min_total", 0))),
        min_reviews=data.get("min_reviews", 1), overflow=data.get("overflow", "partial"),
        partial_min_share=Decimal(str(data.get("partial_min_share", "0.5"))),
        convention_threshold_cents=_or(data.get("convention_threshold_cents"),
                                       CONVENTION_THRESHOLD_CENTS),
        report_gap_threshold=Decimal(str(_or(data.get("report_gap_threshold"),
                                             REPORT_GAP_THRESHOLD))),
        envelopes=[Envelope(**e) for e in data.get("envelopes") or []],
        criteria=[
            Criterion(key=c["key"], label=c["label"], weight=Decimal(str(c.get("weight", 1))),
                      max_score=c["max"], position=i)
            for i, c in enumerate(data.get("grid") or [])
        ],
    )
    db.session.add(call)
    db.session.commit()
    return call


def _check_jurors_of_authority(call: Call, users: list[User]) -> None:
    """422 naming each juror who is a juror elsewhere only (another authority)."""
    from aap.services import policies

    outsiders = policies.ineligible_jurors(call, users)
    if not outsiders:
        return
    authority = call.fund.authority
    where = f"de « {authority.name} »" if authority else "de toute la plateforme"
    messages = [f"{_who(u)} n'est pas juré·e {where}." for u in outsiders]
    names = ", ".join(u.display_name for u in outsiders)
    verb = "n'en fait" if len(outsiders) == 1 else "n'en font"
    raise ValidationFailed(f"Le jury se choisit parmi les jurés {where} : {names} {verb} "
                           "pas partie.", fields={"juror_ids": messages},
                           code="juror_outside_authority")


def _who(user: User) -> str:
    return f"{user.name} ({user.email})" if user.name else user.email


def _or(value, default):
    return default if value is None else value


def set_jury(call: Call, juror_ids: list[int]) -> list[JuryMember]:
    """Make ``juror_ids`` the call's jury: each one a juror platform-wide or in the call's
    authority (SPEC 2: a jury is chosen among the authority's jurors)."""
    users = db.session.scalars(select(User).where(User.id.in_(juror_ids))).all()
    found = {u.id: u for u in users}
    bad = [i for i in juror_ids if i not in found or not found[i].has_role(Role.JUROR)]
    if bad:
        raise ValidationFailed(
            "Ces utilisateurs n'existent pas ou ne sont pas jurés.",
            fields={"juror_ids": [f"Non juré : {i}" for i in bad]},
        )
    _check_jurors_of_authority(call, [found[i] for i in dict.fromkeys(juror_ids)])
    wanted = set(juror_ids)
    call.jury = [m for m in call.jury if m.user_id in wanted]
    present = {m.user_id for m in call.jury}
    call.jury.extend(JuryMember(user_id=i) for i in juror_ids if i not in present)
    db.session.commit()
    return call.jury


# ---------------------------------------------------------------------------------------
# Editing a call once applications exist, and cloning last year's call.
# ---------------------------------------------------------------------------------------

#: The fields of a call as the forms and ``update_call`` name them.
CALL_FIELDS = (
    "fund_id", "title", "description", "fiscal_year", "opens_at", "closes_at",
    "budget_cents", "envelopes", "rules", "grid", "scale", "min_total", "min_reviews",
    "overflow", "partial_min_share", "disagreement_threshold", "completion_days",
    "convention_threshold_cents", "report_gap_threshold",
)
#: States reached through the ranking (a proposal, a waitlist, a decision): the
#: allocation parameters have been used by then.
RANKED_STATES = PHASES["allocated"]

REASON_APPLICATIONS = N_(
    "Des dossiers existent pour cet appel : le changer les rattacherait à un autre "
    "dispositif ou exercice (références, imputation budgétaire).")
REASON_SUBMITTED = N_(
    "Des dossiers ont été déposés sous ces règles : les changer serait inéquitable.")
REASON_OPENING = N_(
    "Des dossiers ont été déposés : l'ouverture ne peut plus être déplacée.")
REASON_REVIEWS = N_(
    "L'évaluation a commencé : la grille et l'échelle ne peuvent plus changer.")
REASON_RANKED = N_(
    "Le classement a déjà servi à des propositions ou des décisions : ses paramètres ne "
    "peuvent plus changer.")


@dataclass(frozen=True)
class CallUsage:
    """What already depends on a call (what makes some of its fields unsafe to change)."""

    applications: int
    submitted: int
    reviews: int
    ranked: int
    committed_cents: int
    envelope_use: dict[int, tuple[int, int]]  # envelope id -> (applications, committed)


def usage(call: Call) -> CallUsage:
    if call.id is None:
        return CallUsage(0, 0, 0, 0, 0, {})
    row = db.session.execute(
        select(func.count(Application.id),
               func.count(Application.id).filter(Application.state != "draft"),
               func.count(Application.id).filter(Application.state.in_(RANKED_STATES)),
               func.coalesce(func.sum(Application.committed_cents), 0))
        .where(Application.call_id == call.id)).one()
    reviews = db.session.scalar(
        select(func.count(Review.id)).join(Application, Application.id == Review.application_id)
        .where(Application.call_id == call.id)) or 0
    decided = db.session.scalar(
        select(func.count(Decision.id)).join(Application, Application.id == Decision.application_id)
        .where(Application.call_id == call.id)) or 0
    per_envelope = db.session.execute(
        select(Application.envelope_id, func.count(Application.id),
               func.coalesce(func.sum(Application.committed_cents), 0))
        .where(Application.call_id == call.id, Application.envelope_id.is_not(None))
        .group_by(Application.envelope_id))
    return CallUsage(applications=row[0], submitted=row[1], reviews=reviews,
                     ranked=max(row[2], decided), committed_cents=int(row[3]),
                     envelope_use={e: (n, int(c)) for e, n, c in per_envelope})


def editable_fields(call: Call, used: CallUsage | None = None) -> dict[str, str | None]:
    """Each field of the call: ``None`` when it may be changed, else why it may not.

    Fields that stay editable may still be limited in value (``update_call`` says so):
    the closing date can only be extended once applications were submitted, the budget
    and the envelopes never fall under what is committed, and an envelope chosen by
    applications is never removed nor renamed.
    """
    used = used or usage(call)
    locks: dict[str, str | None] = dict.fromkeys(CALL_FIELDS)
    if used.applications:
        locks["fund_id"] = locks["fiscal_year"] = REASON_APPLICATIONS
    if used.submitted:
        locks["opens_at"] = REASON_OPENING
        locks["rules"] = REASON_SUBMITTED
    if used.reviews:
        locks["grid"] = locks["scale"] = REASON_REVIEWS
    if used.ranked:
        for name in ("min_total", "min_reviews", "overflow", "partial_min_share",
                     "disagreement_threshold"):
            locks[name] = REASON_RANKED
    return locks


def current_values(call: Call) -> dict:
    """The call in the shape of ``create_call``'s data (and of ``update_call``'s)."""
    return {
        "fund_id": call.fund_id, "title": call.title, "description": call.description or "",
        "fiscal_year": call.fiscal_year, "opens_at": call.opens_at, "closes_at": call.closes_at,
        "budget_cents": call.budget_cents,
        "envelopes": [{"key": e.key, "label": e.label, "budget_cents": e.budget_cents}
                      for e in call.envelopes],
        "rules": {"min_request_cents": call.min_request_cents,
                  "max_request_cents": call.max_request_cents,
                  "max_share_of_cost": call.max_share_of_cost},
        "grid": [{"key": c.key, "label": c.label, "weight": c.weight, "max": c.max_score}
                 for c in call.criteria],
        "scale": call.scale, "min_total": call.min_total, "min_reviews": call.min_reviews,
        "overflow": call.overflow, "partial_min_share": call.partial_min_share,
        "disagreement_threshold": call.disagreement_threshold,
        "completion_days": call.completion_days,
        "convention_threshold_cents": call.convention_threshold_cents,
        "report_gap_threshold": call.report_gap_threshold,
    }


def _normal(name: str, value):
    """Values compared the same way whatever their type (Decimal vs str, list order)."""
    if value is None:
        return None
    if name in ("min_total", "partial_min_share", "disagreement_threshold",
                "report_gap_threshold"):
        return Decimal(str(value)).normalize()
    if name == "rules":
        return {k: (Decimal(str(v)).normalize() if k == "max_share_of_cost" and v is not None
                    else v) for k, v in (value or {}).items()}
    if name == "grid":
        return [(c["key"], c["label"], Decimal(str(c.get("weight", 1))).normalize(),
                 int(c["max"])) for c in value or []]
    if name == "envelopes":
        return sorted((e["key"], e["label"], int(e["budget_cents"])) for e in value or [])
    if name == "description":
        return value or ""
    return value


def _value_problems(call: Call, data: dict, used: CallUsage) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    if used.submitted and "closes_at" in data and data["closes_at"] < call.closes_at:
        fields["closes_at"] = [N_("Des dossiers ont été déposés : la clôture ne peut être "
                                  "que prolongée, pas avancée.")]
    if "budget_cents" in data and data["budget_cents"] < used.committed_cents:
        fields["budget_cents"] = [N_("Le budget ne peut pas descendre sous le montant déjà "
                                     "engagé par des subventions accordées.")]
    if "envelopes" in data:
        wanted = {e["key"]: e for e in data["envelopes"] or []}
        for envelope in call.envelopes:
            n, committed = used.envelope_use.get(envelope.id, (0, 0))
            if not n:
                continue
            if envelope.key not in wanted:
                fields.setdefault("envelopes", []).append(
                    N_("Une enveloppe choisie par des dossiers ne peut être ni supprimée ni "
                       "renommée.") + f" ({envelope.key})")
            elif wanted[envelope.key]["budget_cents"] < committed:
                fields.setdefault("envelopes", []).append(
                    N_("Une enveloppe ne peut pas descendre sous ce qu'elle a déjà engagé.")
                    + f" ({envelope.key})")
    return fields


def update_call(call: Call, data: dict, actor: User | None = None) -> Call:
    """Change a call, refusing what is unsafe once applications, reviews or decisions
    exist (see ``editable_fields``); every refusal is given per field, in French.

    ``data`` has the shape of ``create_call``'s (any subset of ``CALL_FIELDS``). Fields
    given with their current value are accepted even when locked. The call row is locked
    while checking, so that a budget cut cannot race a grant.
    """
    if actor is not None:
        from aap.services import policies

        policies.require_acting_on_call(actor, call, Role.INSTRUCTOR)
    call_id = call.id
    with write_transaction():
        call = db.session.execute(
            lock(select(Call).where(Call.id == call_id), Call)
            .execution_options(populate_existing=True)).unique().scalar_one()
        before = current_values(call)
        data = {k: v for k, v in data.items() if k in CALL_FIELDS}
        changed = [k for k, v in data.items() if _normal(k, v) != _normal(k, before[k])]
        used = usage(call)
        locks = editable_fields(call, used)
        fields = {name: [locks[name]] for name in changed if locks.get(name)}
        merged = {**before, **data}
        fields.update({k: v for k, v in _value_problems(call, data, used).items()
                       if k not in fields})
        for name, messages in _check_call(merged).items():
            fields.setdefault(name, messages)
        if "fund_id" in changed and not _may_move_to(actor, data["fund_id"]):
            fields.setdefault("fund_id", ["Dispositif inconnu."])
        if fields:
            raise ValidationFailed("L'appel ne peut pas être modifié ainsi.", fields=fields)
        _apply_call(call, {k: data[k] for k in changed})
        if changed:
            db.session.add(AuditEvent(
                at=now(), actor_id=getattr(actor, "id", None), object_type="call",
                object_id=call.id, action="call_edit", data={"fields": sorted(changed)}))
    return call


def _may_move_to(actor: User | None, fund_id: int) -> bool:
    """A call moves only to a fund its editor configures (any fund without an actor)."""
    from aap.services import policies

    fund = db.session.get(Fund, fund_id)
    if fund is None:
        return False
    return actor is None or policies.can_act_on_fund(actor, fund, Role.INSTRUCTOR)


def _apply_call(call: Call, values: dict) -> None:
    for name, value in values.items():
        if name == "rules":
            call.min_request_cents = value.get("min_request_cents")
            call.max_request_cents = value.get("max_request_cents")
            share = value.get("max_share_of_cost")
            call.max_share_of_cost = Decimal(str(share)) if share is not None else None
        elif name == "envelopes":
            existing = {e.key: e for e in call.envelopes}
            kept = []
            for row in value or []:
                envelope = existing.get(row["key"]) or Envelope(key=row["key"])
                envelope.label, envelope.budget_cents = row["label"], row["budget_cents"]
                kept.append(envelope)
            call.envelopes = kept
        elif name == "grid":
            existing = {c.key: c for c in call.criteria}
            kept = []
            for i, row in enumerate(value or []):
                criterion = existing.get(row["key"]) or Criterion(key=row["key"])
                criterion.label, criterion.max_score = row["label"], row["max"]
                criterion.weight, criterion.position = Decimal(str(row.get("weight", 1))), i
                kept.append(criterion)
            call.criteria = kept
        elif name in ("min_total", "partial_min_share", "disagreement_threshold",
                      "report_gap_threshold"):
            setattr(call, name, Decimal(str(value)))
        elif name in ("title", "description"):
            setattr(call, name, (value or "").strip())
        else:
            setattr(call, name, value)


def _next_year(moment: datetime) -> datetime:
    """The same wall-clock time in Paris a year later (29 February becomes the 28th)."""
    local = to_paris(moment)
    try:
        shifted = local.replace(year=local.year + 1)
    except ValueError:
        shifted = local.replace(year=local.year + 1, day=28)
    return shifted.replace(tzinfo=PARIS).astimezone(UTC)


def clone_values(call: Call) -> dict:
    """Last year's call as the data of next year's: the next fiscal year, the dates a
    year later (Paris time), the same budget, envelopes, rules, grid and jury; no
    application is copied."""
    values = current_values(call)
    year = call.fiscal_year + 1
    values.update(
        fiscal_year=year,
        title=call.title.replace(str(call.fiscal_year), str(year)),
        opens_at=_next_year(call.opens_at), closes_at=_next_year(call.closes_at),
        juror_ids=[m.user_id for m in call.jury],
    )
    return values
