"""Named guards of the application workflow. A guard raises ``GuardFailed`` with a
code and a French reason, and may leave parsed values in ``ctx.values`` for effects."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from aap.extensions import db
from aap.models import Convention, Review
from aap.models.finance import PAYMENT_KINDS
from aap.money import format_eur, parse_cents
from aap.services import budget, repayments
from aap.services.validation import submission_problems
from aap.timeutil import days_from, parse_date, parse_deadline, to_paris
from aap.vocabulary import BUDGET_LINES
from workflows.engine import Context, GuardFailed, WorkflowError

#: The reason of a repayment claimed with ``close`` when none is given.
CLOSING_REPAYMENT = "Clôture du dossier : somme versée non utilisée ou non justifiée."

GUARDS: dict[str, Callable[[Context], None]] = {}


def guard(func: Callable[[Context], None]) -> Callable[[Context], None]:
    GUARDS[func.__name__] = func
    return func


def _amount(ctx: Context, field: str = "amount_cents") -> int:
    return parse_cents_field(ctx.data.get(field), field)


def _need(ctx: Context, source: dict, field: str, label: str, prefix: str = "") -> str:
    value = source.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        name = f"{prefix}{field}"
        raise GuardFailed(f"{label} est obligatoire.", code="invalid_data",
                          fields={name: [f"{label} est obligatoire."]})
    return value.strip() if isinstance(value, str) else value


def _date(value: object, field: str):
    try:
        return parse_date(value)
    except ValueError as exc:
        raise GuardFailed(f"Date invalide : {exc}.", code="invalid_data",
                          fields={field: [str(exc)]}) from exc


def _check_available(ctx: Context, amount: int) -> None:
    app = ctx.subject
    available = budget.available_cents(app.call)
    if amount > available:
        raise GuardFailed(
            f"Budget insuffisant : {format_eur(amount)} demandés, "
            f"{format_eur(available)} disponibles sur l'appel.",
            code="budget_exceeded", fields={"amount_cents": ["Budget insuffisant."]},
        )
    if app.envelope_id is not None and app.call.pool_leftovers:
        left = budget.available_in_envelopes(app.call)
        if amount > left:
            raise GuardFailed(
                f"Enveloppes insuffisantes : {format_eur(amount)} demandés, "
                f"{format_eur(left)} disponibles dans l'ensemble des enveloppes (reliquats "
                "mis en commun).",
                code="budget_exceeded", fields={"amount_cents": ["Enveloppes insuffisantes."]},
            )
    elif app.envelope_id is not None:
        left = budget.available_cents(app.call, app.envelope_id)
        if amount > left:
            raise GuardFailed(
                f"Enveloppe « {app.envelope.label} » insuffisante : {format_eur(amount)} "
                f"demandés, {format_eur(left)} disponibles.",
                code="budget_exceeded", fields={"amount_cents": ["Enveloppe insuffisante."]},
            )


@guard
def call_open(ctx: Context) -> None:
    call = ctx.subject.call
    if ctx.now < call.opens_at:
        raise GuardFailed(
            f"L'appel ouvre le {to_paris(call.opens_at):%d/%m/%Y à %H:%M}.", code="call_not_open"
        )
    if ctx.now >= call.closes_at:
        raise GuardFailed(
            f"L'appel est clos depuis le {to_paris(call.closes_at):%d/%m/%Y à %H:%M} "
            "(heure de Paris).",
            code="call_closed",
        )


@guard
def application_ready(ctx: Context) -> None:
    problems = submission_problems(ctx.subject)
    if problems:
        raise GuardFailed("Le dossier est incomplet ou invalide.",
                          code="invalid_application", fields=problems)


@guard
def comment_required(ctx: Context) -> None:
    if not ctx.comment:
        raise GuardFailed("Un message (motivation) est obligatoire.", code="comment_required",
                          fields={"comment": ["Un message est obligatoire."]})


@guard
def completion_deadline(ctx: Context) -> None:
    raw = ctx.data.get("deadline")
    if raw in (None, ""):
        deadline = days_from(ctx.now, ctx.subject.call.completion_days)
    else:
        try:
            deadline = parse_deadline(raw)
        except ValueError as exc:
            raise GuardFailed(f"Échéance invalide : {exc}.", code="invalid_data",
                              fields={"deadline": [str(exc)]}) from exc
    if deadline <= ctx.now:
        raise GuardFailed("L'échéance de réponse doit être dans le futur.",
                          code="invalid_data", fields={"deadline": ["Échéance passée."]})
    ctx.values["deadline"] = deadline


@guard
def before_completion_deadline(ctx: Context) -> None:
    deadline = ctx.subject.completion_deadline
    if deadline is not None and ctx.now > deadline:
        raise GuardFailed(
            f"Le délai pour compléter le dossier a expiré le "
            f"{to_paris(deadline):%d/%m/%Y à %H:%M}.",
            code="deadline_passed",
        )


@guard
def jury_assigned(ctx: Context) -> None:
    if not ctx.subject.call.jury and not ctx.subject.reviews:
        raise GuardFailed("Aucun juré n'est désigné pour cet appel.", code="no_jury")


@guard
def reviews_complete_or_forced(ctx: Context) -> None:
    reviews = db.session.scalars(
        select(Review).where(Review.application_id == ctx.subject.id)
    ).all()
    missing = [r.juror.display_name for r in reviews if not r.conflict and not r.submitted]
    if not missing:
        return
    if ctx.data.get("force") is True:
        if not ctx.comment:
            raise GuardFailed("Clore avec des évaluations manquantes exige un motif.",
                              code="comment_required",
                              fields={"comment": ["Motif obligatoire."]})
        ctx.values["missing_reviews"] = missing
        return
    raise GuardFailed(
        f"Évaluations manquantes : {', '.join(missing)}.", code="reviews_missing"
    )


@guard
def proposed_amount(ctx: Context) -> None:
    app = ctx.subject
    if "amount_cents" in ctx.data:
        amount = _amount(ctx)
    else:
        amount = app.proposed_cents or app.requested_cents
    if amount <= 0:
        raise GuardFailed("Le montant proposé doit être positif.", code="invalid_data",
                          fields={"amount_cents": ["Montant positif attendu."]})
    if amount > app.requested_cents:
        raise GuardFailed(
            f"Le montant proposé dépasse le montant demandé ({format_eur(app.requested_cents)}).",
            code="amount_exceeds_request", fields={"amount_cents": ["Supérieur à la demande."]},
        )
    ctx.values["amount"] = amount


@guard
def budget_available_for_proposal(ctx: Context) -> None:
    _check_available(ctx, ctx.values["amount"])


@guard
def decision_recorded(ctx: Context) -> None:
    app = ctx.subject
    amount = _amount(ctx)
    if amount <= 0:
        raise GuardFailed("Le montant accordé doit être positif.", code="invalid_data",
                          fields={"amount_cents": ["Montant positif attendu."]})
    if amount > app.requested_cents:
        raise GuardFailed(
            f"Le montant accordé dépasse le montant demandé ({format_eur(app.requested_cents)}).",
            code="amount_exceeds_request", fields={"amount_cents": ["Supérieur à la demande."]},
        )
    decision = ctx.data.get("decision")
    if not isinstance(decision, dict):
        raise GuardFailed("La délibération (instance, référence, date) est obligatoire.",
                          code="invalid_data", fields={"decision": ["Obligatoire."]})
    ctx.values["decision"] = {
        "body": _need(ctx, decision, "body", "L'instance de décision", "decision."),
        "reference": _need(ctx, decision, "reference", "La référence de la délibération",
                           "decision."),
        "decided_on": _date(_need(ctx, decision, "date", "La date de décision", "decision."),
                            "decision.date"),
    }
    ctx.values["amount"] = amount


@guard
def budget_available(ctx: Context) -> None:
    _check_available(ctx, ctx.values["amount"])


@guard
def convention_recorded(ctx: Context) -> None:
    convention = ctx.data.get("convention")
    if not isinstance(convention, dict):
        raise GuardFailed("La convention (référence, date de signature) est obligatoire.",
                          code="invalid_data", fields={"convention": ["Obligatoire."]})
    reference = _need(ctx, convention, "reference", "La référence de la convention",
                      "convention.")
    signed_on = _date(_need(ctx, convention, "signed_on", "La date de signature",
                            "convention."), "convention.signed_on")
    schedule = _schedule(convention.get("schedule") or [{"kind": "advance", "share": 1}])
    taken = db.session.scalar(select(Convention.id).where(Convention.reference == reference))
    if taken:
        raise GuardFailed("Cette référence de convention est déjà utilisée.",
                          code="duplicate_reference",
                          fields={"convention.reference": ["Référence déjà utilisée."]})
    ctx.values["convention"] = {"reference": reference, "signed_on": signed_on,
                                "schedule": schedule}


def _schedule(rows: object) -> list[dict]:
    bad = GuardFailed("Échéancier invalide : des tranches {kind, share} dont la somme vaut 1.",
                      code="invalid_data", fields={"convention.schedule": ["Invalide."]})
    if not isinstance(rows, list) or not rows:
        raise bad
    out = []
    for row in rows:
        if not isinstance(row, dict) or row.get("kind") not in PAYMENT_KINDS:
            raise bad
        try:
            share = Decimal(str(row.get("share")))
        except InvalidOperation as exc:
            raise bad from exc
        if not Decimal(0) < share <= Decimal(1):
            raise bad
        out.append({"kind": row["kind"], "share": str(share)})
    if sum(Decimal(r["share"]) for r in out) != Decimal(1):
        raise bad
    return out


@guard
def payment_valid(ctx: Context) -> None:
    """The payment's data, and never more than granted (less repayments, if any)."""
    app = ctx.subject
    kind = ctx.data.get("kind")
    if kind not in PAYMENT_KINDS:
        raise GuardFailed("Nature du versement inconnue (avance, acompte ou solde).",
                          code="invalid_data", fields={"kind": ["Valeur inconnue."]})
    amount = _amount(ctx)
    if amount <= 0:
        raise GuardFailed("Le montant du versement doit être positif.", code="invalid_data",
                          fields={"amount_cents": ["Montant positif attendu."]})
    paid_on = _date(_need(ctx, ctx.data, "paid_on", "La date du versement"), "paid_on")
    left = app.granted_cents - app.paid_cents
    if amount > left:
        raise GuardFailed(
            f"Versement refusé : {format_eur(amount)} dépasse le reste à payer "
            f"({format_eur(left)} sur {format_eur(app.granted_cents)} accordés).",
            code="overpayment", fields={"amount_cents": ["Supérieur au reste à payer."]},
        )
    ctx.values["payment"] = {"kind": kind, "amount_cents": amount, "paid_on": paid_on,
                             "mandate": str(ctx.data.get("mandate") or "")[:60]}


@guard
def convention_if_required(ctx: Context) -> None:
    app = ctx.subject
    threshold = app.call.convention_threshold_cents
    if app.granted_cents > threshold and app.state != "contracted":
        raise GuardFailed(
            f"Une convention signée est obligatoire au-delà de "
            f"{format_eur(threshold)} avant tout versement.",
            code="convention_required",
        )


def _lines(raw: object, field: str) -> dict[str, dict[str, int]]:
    if not isinstance(raw, dict):
        raise GuardFailed("Budget réalisé attendu : {charges: {...}, products: {...}}.",
                          code="invalid_data", fields={field: ["Format invalide."]})
    out: dict[str, dict[str, int]] = {}
    for side, allowed in BUDGET_LINES.items():
        lines = raw.get(side) or {}
        if not isinstance(lines, dict):
            raise GuardFailed("Lignes budgétaires invalides.", code="invalid_data",
                              fields={f"{field}.{side}": ["Format invalide."]})
        out[side] = {}
        for code, value in lines.items():
            if code not in allowed:
                raise GuardFailed(f"Ligne budgétaire inconnue : {code}.", code="invalid_data",
                                  fields={f"{field}.{side}.{code}": ["Ligne inconnue."]})
            try:
                out[side][code] = parse_cents(value)
            except ValueError as exc:
                raise GuardFailed(f"Ligne {code} : {exc}.", code="invalid_data",
                                  fields={f"{field}.{side}.{code}": [str(exc)]}) from exc
    return out


def report_gap(provisional: int, realised: int) -> Decimal | None:
    if provisional == 0:
        return None if realised == 0 else Decimal(1)
    return (Decimal(realised) - Decimal(provisional)) / Decimal(provisional)


@guard
def report_valid(ctx: Context) -> None:
    realised = _lines(ctx.data.get("realised"), "realised")
    narrative = str(ctx.data.get("narrative") or "").strip()
    if not narrative:
        raise GuardFailed("Décrivez les actions réalisées.", code="invalid_data",
                          fields={"narrative": ["Obligatoire."]})
    reached = ctx.data.get("beneficiaries_reached", 0)
    if isinstance(reached, bool) or not isinstance(reached, int) or reached < 0:
        raise GuardFailed("Nombre de bénéficiaires invalide.", code="invalid_data",
                          fields={"beneficiaries_reached": ["Entier positif attendu."]})
    if sum(realised["charges"].values()) != sum(realised["products"].values()):
        raise GuardFailed("Le compte rendu n'est pas équilibré (charges ≠ produits).",
                          code="budget_unbalanced", fields={"realised": ["Non équilibré."]})
    explanation = str(ctx.data.get("gap_explanation") or "").strip()
    gap = report_gap(ctx.subject.total("charges"), sum(realised["charges"].values()))
    threshold = ctx.subject.call.report_gap_threshold
    if gap is not None and abs(gap) > threshold and not explanation:
        raise GuardFailed(
            f"L'écart entre le prévisionnel et le réalisé ({gap:+.0%}) dépasse "
            f"{threshold:.0%} : expliquez-le.",
            code="gap_explanation_required", fields={"gap_explanation": ["Obligatoire."]},
        )
    ctx.values["report"] = {"realised": realised, "narrative": narrative,
                            "beneficiaries_reached": reached, "gap_explanation": explanation}


@guard
def balance_settled(ctx: Context) -> None:
    """Close only when the balance is paid (the grant in full, or all that the approved
    report justifies), a repayment is claimed (with ``close`` or before it), or the unpaid
    balance is explicitly released (with a reason).

    A repayment claimed with ``close`` follows the rules of ``aap.services.repayments``
    (never more than paid less already claimed, a reason: the comment by default); its
    refusals answer ``invalid_data`` on ``repayment.*`` fields, as they always have."""
    app = ctx.subject
    repayment = ctx.data.get("repayment")
    if isinstance(repayment, dict):
        data = {**repayment,
                "reason": repayment.get("reason") or ctx.comment or CLOSING_REPAYMENT}
        try:
            ctx.values["repayment"] = repayments.check_claim(app, data, prefix="repayment.")
        except WorkflowError as exc:
            if exc.status != 422:
                raise
            raise GuardFailed(exc.message, code="invalid_data", fields=exc.fields) from exc
        return
    if app.paid_cents >= app.granted_cents or app.repayments:
        return
    justified = repayments.justified_cents(app)
    if justified is not None and app.paid_cents >= justified:
        return  # the report justifies less than granted, and that much is paid
    if ctx.data.get("release_unpaid") is True and ctx.comment:
        return
    due = app.granted_cents - app.paid_cents if justified is None else justified - app.paid_cents
    raise GuardFailed(
        f"Solde non versé ({format_eur(due)}) : versez le solde, émettez un titre de "
        "reversement, ou libérez le reliquat avec un motif.",
        code="balance_unsettled",
    )


def parse_cents_field(value: object, field: str) -> int:
    try:
        return parse_cents(value)
    except ValueError as exc:
        raise GuardFailed(f"Montant invalide : {exc}.", code="invalid_data",
                          fields={field: [str(exc)]}) from exc
