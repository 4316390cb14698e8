"""Repayments (*reversements*, claimed by a *titre de recette*): money paid and not used or
not justified, claimed back from the beneficiary (SPEC 3 and 7.1).

Rules:

- only a finance officer claims a repayment or records that it was received;
- a claim is possible once the report is approved (``report_approved``), on a closed
  dossier (a check after the fact may still find money not used: the authority may claim
  it back after closing), and on a cancelled grant: three states where the money's use is
  known. Elsewhere the claim is refused (409 ``invalid_state``);
- never more than what was paid less what is already claimed (422
  ``repayment_exceeds_paid``), and a reason is required (a *titre de recette* states it);
- a claim on a cancelled or closed grant frees what it claims at once (the grant then
  commits what was paid less what was claimed back, see :mod:`aap.services.money`); a
  claim while the grant is open (``report_approved``) is settled by ``close``, which
  counts it as "repayment claimed";
- claims and receipts are audited (``repayment_claimed``, ``repayment_received``) in the
  transaction that records them, under the call's lock then the application's, and the
  applicant's members are mailed.

What the authority proposes to claim (:func:`proposal`), pre-filled on the finance forms:

- after an approved report, the part of the payments that the report does not justify.
  The grant is justified *pro rata* of the realised charges: justified = granted ×
  realised charges ÷ provisional charges, rounded to the cent, never more than granted.
  The proposal is what was paid less what is already claimed, beyond the justified
  amount; never negative, never more than paid. Example: 12 000 € granted on 17 000 €
  of provisional charges, 15 300 € realised (10 % under-spending): justified =
  12 000 × 15 300 / 17 000 = 10 800 €. With 12 000 € paid the proposal is 1 200 €;
  with only the 80 % advance paid (9 600 €) it is nothing, and 1 200 € of balance is due;
- after a cancellation, everything paid and not yet claimed back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from aap.database import is_sqlite, write_transaction
from aap.errors import Conflict, NotFound, ValidationFailed
from aap.extensions import db
from aap.models import Application, Repayment, User
from aap.models.accounts import Role
from aap.money import format_eur
from aap.services import audit, notifications, policies
from aap.timeutil import now, parse_date, to_paris
from workflows.application import PHASES
from workflows.engine import GuardFailed, NotVisible, RoleNotAllowed, StateNotAllowed

#: Where a repayment may be claimed: the money's use is known.
CLAIM_STATES = PHASES["claimable"]
#: Where the report tells what the grant justifies.
REPORTED_STATES = PHASES["justified"]
#: Grants that commit only what was paid less what was claimed back.
SETTLED_STATES = PHASES["settled"]
REFERENCE_MAX = 60
REASON_MAX = 10_000
EXCEEDS = "repayment_exceeds_paid"


def today() -> date:
    return to_paris(now()).date()


# -- the figures ---------------------------------------------------------------------------

def claimable_cents(app: Application) -> int:
    """What may still be claimed back: paid less already claimed."""
    return max(app.paid_cents - app.repaid_cents, 0)


def pro_rata(granted: int, provisional: int, realised: int) -> int:
    """The part of a grant that realised charges justify: granted × realised ÷
    provisional, rounded half up to the cent, at most the grant (integers only)."""
    if provisional <= 0:
        return granted
    return min(granted, (2 * granted * realised + provisional) // (2 * provisional))


def justified_cents(app: Application) -> int | None:
    """What the approved report justifies of the grant; None without a report."""
    if app.report is None:
        return None
    realised = sum(line.amount_cents for line in app.report.lines if line.side == "charges")
    return pro_rata(app.granted_cents, app.total("charges"), realised)


@dataclass(frozen=True)
class Proposal:
    """What to claim back (``amount_cents``, possibly 0), and why."""

    amount_cents: int
    reason: str
    paid_cents: int
    claimed_cents: int
    justified_cents: int | None = None

    @property
    def balance_due_cents(self) -> int:
        """After an approved report: what is still to be paid of the justified amount."""
        if self.justified_cents is None:
            return 0
        return max(self.justified_cents - (self.paid_cents - self.claimed_cents), 0)


def proposal(app: Application) -> Proposal | None:
    """What the authority should claim back now (see the module's rule), or None where no
    claim is possible."""
    if app.state not in CLAIM_STATES:
        return None
    paid, claimed = app.paid_cents, app.repaid_cents
    net = max(paid - claimed, 0)
    if app.state == "cancelled":
        return Proposal(net, f"Subvention annulée : reversement des sommes versées "
                             f"({format_eur(net)}).", paid, claimed)
    justified = justified_cents(app)
    if justified is None:
        return Proposal(0, "", paid, claimed)
    amount = max(net - justified, 0)
    realised = sum(line.amount_cents for line in app.report.lines if line.side == "charges")
    reason = (f"Sous-réalisation : {format_eur(realised)} de dépenses réalisées sur "
              f"{format_eur(app.total('charges'))} prévues ; subvention justifiée au prorata "
              f"{format_eur(justified)} sur {format_eur(app.granted_cents)} accordés, "
              f"{format_eur(net)} versés : trop-perçu de {format_eur(amount)}.")
    return Proposal(amount, reason, paid, claimed, justified)


# -- checks --------------------------------------------------------------------------------

def check_claim(app: Application, data: dict, prefix: str = "") -> dict:
    """The claim's values, checked against the application as it is now (call it under
    the locks). Raises 409 outside :data:`CLAIM_STATES`, 422 for bad data."""
    if app.state not in CLAIM_STATES:
        from workflows import get_workflow

        label = get_workflow(app.call.workflow).label(app.state)
        raise StateNotAllowed(
            f"Aucun reversement ne peut être demandé dans l'état « {label} » : il faut un "
            "compte rendu approuvé, un dossier clos ou une subvention annulée.")
    problems: dict[str, list[str]] = {}
    amount = data.get("amount_cents")
    if isinstance(amount, bool) or not isinstance(amount, int):
        problems[f"{prefix}amount_cents"] = ["Montant en centimes (nombre entier) attendu."]
    elif amount <= 0:
        problems[f"{prefix}amount_cents"] = ["Le montant à reverser doit être positif."]
    reason = str(data.get("reason") or "").strip()
    if not reason:
        problems[f"{prefix}reason"] = ["Le motif du reversement est obligatoire."]
    elif len(reason) > REASON_MAX:
        problems[f"{prefix}reason"] = [f"{REASON_MAX} caractères au maximum."]
    reference = str(data.get("reference") or "").strip()
    if len(reference) > REFERENCE_MAX:
        problems[f"{prefix}reference"] = [f"{REFERENCE_MAX} caractères au maximum."]
    claimed_on = data.get("claimed_on")
    try:
        claimed_on = today() if claimed_on in (None, "") else parse_date(claimed_on)
    except ValueError as exc:
        problems[f"{prefix}claimed_on"] = [f"Date invalide : {exc}."]
    if problems:
        raise ValidationFailed("Le reversement est incomplet ou invalide.", fields=problems)
    left = claimable_cents(app)
    if amount > left:
        message = (f"Reversement refusé : {format_eur(amount)} dépasse ce qui peut encore "
                   f"être reversé ({format_eur(left)} : {format_eur(app.paid_cents)} versés, "
                   f"{format_eur(app.repaid_cents)} déjà réclamés).")
        raise GuardFailed(message, code=EXCEEDS,
                          fields={f"{prefix}amount_cents": [message]})
    return {"amount_cents": amount, "reason": reason, "reference": reference,
            "claimed_on": claimed_on}


def _check_actor(app: Application, actor: User, what: str) -> None:
    if not policies.can_see_application(actor, app):
        raise NotVisible("Dossier introuvable.")
    if not policies.acts_as(actor, app, Role.FINANCE):
        raise RoleNotAllowed(f"Seul un agent des finances {what}.")


# -- writes --------------------------------------------------------------------------------

def record_claim(app: Application, actor: User, values: dict) -> Repayment:
    """Write a checked claim in the caller's transaction: the row, the audit event, the
    mail to the applicant's members, and what a settled grant commits."""
    repayment = Repayment(created_by_id=getattr(actor, "id", None), **values)
    app.repayments.append(repayment)
    db.session.flush()
    if app.state in SETTLED_STATES:
        app.committed_cents = max(app.paid_cents - app.repaid_cents, 0)
    audit.record_action(app, actor, "repayment_claimed", comment=values["reason"], data={
        "repayment_id": repayment.id, "amount_cents": repayment.amount_cents,
        "reference": repayment.reference, "claimed_on": repayment.claimed_on})
    notifications.queue(notifications.audience("applicant", app),
                        "mail/repayment_claimed.txt", application=app, repayment=repayment)
    return repayment


def _locked(application_id: int) -> Application:
    from aap.services.workflow import _locked as lock_call_then_application

    return lock_call_then_application(application_id)


def claim(application: Application, actor: User, data: dict) -> Repayment:
    """Claim a repayment (finance): ``{amount_cents, reason, reference?, claimed_on?}``.
    The checks run under the call's lock then the application's, so two officers
    claiming at once never claim more than was paid."""
    _check_actor(application, actor, "émet un titre de reversement")
    with write_transaction():
        app = _locked(application.id)
        repayment = record_claim(app, actor, check_claim(app, data))
    return repayment


def get(application: Application, repayment_id: int) -> Repayment:
    repayment = db.session.get(Repayment, repayment_id)
    if repayment is None or repayment.application_id != application.id:
        raise NotFound("Reversement introuvable.")
    return repayment


def mark_received(repayment: Repayment, actor: User, received_on: object) -> Repayment:
    """Record that a claimed repayment was received (finance), once (409 after)."""
    application = repayment.application
    _check_actor(application, actor, "enregistre l'encaissement d'un reversement")
    repayment_id = repayment.id
    with write_transaction():
        app = _locked(application.id)
        query = select(Repayment).where(Repayment.id == repayment_id)
        if not is_sqlite():
            query = query.with_for_update()
        row = db.session.execute(query.execution_options(populate_existing=True)).scalar_one()
        if row.received_on is not None:
            raise Conflict(f"Ce reversement est déjà encaissé (le "
                           f"{row.received_on:%d/%m/%Y}).")
        try:
            day = today() if received_on in (None, "") else parse_date(received_on)
        except ValueError as exc:
            raise ValidationFailed(f"Date invalide : {exc}.",
                                   fields={"received_on": [f"Date invalide : {exc}."]}) from exc
        if day < row.claimed_on:
            message = (f"L'encaissement ne peut précéder le titre de reversement (émis le "
                       f"{row.claimed_on:%d/%m/%Y}).")
            raise ValidationFailed(message, fields={"received_on": [message]})
        row.received_on = day
        audit.record_action(app, actor, "repayment_received", data={
            "repayment_id": row.id, "amount_cents": row.amount_cents,
            "reference": row.reference, "received_on": day})
        notifications.queue(notifications.audience("applicant", app),
                            "mail/repayment_received.txt", application=app, repayment=row)
    return row
