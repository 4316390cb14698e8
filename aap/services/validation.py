"""Whether an application may be submitted: every problem at once, per field (French)."""

from __future__ import annotations

from decimal import Decimal

from aap.models import Application
from aap.money import format_eur
from aap.vocabulary import DOMAINS, GROUNDS

Problems = dict[str, list[str]]


def _add(problems: Problems, field: str, message: str) -> None:
    problems.setdefault(field, []).append(message)


def _check_text(app: Application, problems: Problems) -> None:
    for field, label in (("title", "Le titre"), ("summary", "Le résumé")):
        if not (getattr(app, field) or "").strip():
            _add(problems, field, f"{label} est obligatoire.")
    if not app.domains:
        _add(problems, "domains", "Choisissez au moins un domaine.")
    elif set(app.domains) - set(DOMAINS):
        _add(problems, "domains", "Domaine inconnu.")
    if not app.grounds:
        _add(problems, "grounds", "Choisissez au moins un motif de discrimination.")
    elif set(app.grounds) - set(GROUNDS):
        _add(problems, "grounds", "Motif de discrimination inconnu.")
    if not app.territories:
        _add(problems, "territories", "Indiquez au moins un territoire (commune ou QPV).")
    if app.beneficiaries <= 0:
        _add(problems, "beneficiaries", "Indiquez le nombre de bénéficiaires attendus.")


def _check_dates(app: Application, problems: Problems) -> None:
    if app.starts_on is None:
        _add(problems, "starts_on", "La date de début est obligatoire.")
    if app.ends_on is None:
        _add(problems, "ends_on", "La date de fin est obligatoire.")
    if app.starts_on and app.ends_on and app.ends_on < app.starts_on:
        _add(problems, "ends_on", "La date de fin précède la date de début.")


def _check_envelope(app: Application, problems: Problems) -> None:
    if app.call.envelopes and app.envelope_id is None:
        _add(problems, "envelope", "Choisissez l'enveloppe (territoire ou axe) du projet.")


def _check_budget(app: Application, problems: Problems) -> None:
    charges, products = app.total("charges"), app.total("products")
    if charges <= 0:
        _add(problems, "budget", "Le budget prévisionnel ne comporte aucune charge.")
    elif charges != products:
        _add(problems, "budget",
             f"Le budget n'est pas équilibré : charges {format_eur(charges)}, "
             f"produits {format_eur(products)}.")
    owner_line = app.call.fund.owner_product_line
    on_owner_line = app.budget()["products"].get(owner_line, 0)
    if app.requested_cents and on_owner_line < app.requested_cents:
        _add(problems, "budget",
             f"La subvention demandée ({format_eur(app.requested_cents)}) doit figurer "
             f"dans les produits, ligne {owner_line}.")


def _check_request(app: Application, problems: Problems) -> None:
    call, requested = app.call, app.requested_cents
    if requested <= 0:
        _add(problems, "requested_cents", "Indiquez le montant demandé.")
        return
    if call.min_request_cents and requested < call.min_request_cents:
        _add(problems, "requested_cents",
             "Le montant demandé est inférieur au minimum de "
             f"{format_eur(call.min_request_cents)}.")
    if call.max_request_cents and requested > call.max_request_cents:
        _add(problems, "requested_cents",
             f"Le montant demandé dépasse le maximum de {format_eur(call.max_request_cents)}.")
    charges = app.total("charges")
    if call.max_share_of_cost and charges > 0:
        share = Decimal(requested) / Decimal(charges)
        if share > call.max_share_of_cost:
            _add(problems, "requested_cents",
                 f"Le montant demandé représente {share:.0%} du coût du projet "
                 f"(maximum {call.max_share_of_cost:.0%}).")


def submission_problems(app: Application) -> Problems:
    problems: Problems = {}
    for check in (_check_text, _check_dates, _check_envelope, _check_budget, _check_request):
        check(app, problems)
    return problems
