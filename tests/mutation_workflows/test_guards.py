"""The workflow's guards one by one, on plain objects: each refusal's code, fields and
message (what SPEC 4 calls "a clear message", shown to the user as is), each boundary
(equal is allowed, one cent more is not), and the values a guard leaves for the effects.

Amounts and dates are worked out by hand in each test; times are in UTC, shown in Paris
(UTC+2 in October, UTC+1 in December).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from workflows.engine import Context, GuardFailed
from workflows.guards import GUARDS, report_gap

NOW = datetime(2026, 10, 12, 8, 30, tzinfo=UTC)  # 10:30 in Paris


def _ctx(subject, data=None, now=NOW):
    return Context(subject=subject, actor=None, trigger="t", data=dict(data or {}),
                   now=now, spec=None)


def _refused(name, subject, data=None, now=NOW) -> GuardFailed:
    with pytest.raises(GuardFailed) as refused:
        GUARDS[name](_ctx(subject, data, now))
    return refused.value


def _app(**values):
    defaults = dict(requested_cents=10_000_00, proposed_cents=0, granted_cents=0,
                    paid_cents=0, state="granted", completion_deadline=None)
    return SimpleNamespace(**{**defaults, **values})


# -- the call's dates ----------------------------------------------------------------------

def test_call_open_between_its_dates():
    call = SimpleNamespace(opens_at=NOW, closes_at=NOW + timedelta(days=1))
    app = SimpleNamespace(call=call)
    GUARDS["call_open"](_ctx(app))  # opening instant: open
    early = _refused("call_open", app, now=NOW - timedelta(seconds=1))
    assert (early.code, early.message) == ("call_not_open", "L'appel ouvre le 12/10/2026 à 10:30.")
    late = _refused("call_open", app, now=NOW + timedelta(days=1))  # closing instant: closed
    assert (late.code, late.message) == (
        "call_closed", "L'appel est clos depuis le 13/10/2026 à 10:30 (heure de Paris).")


def test_a_comment_is_required_and_blank_is_none():
    for data in ({}, {"comment": "   "}, {"comment": None}):
        refused = _refused("comment_required", _app(), data)
        assert (refused.code, refused.message, refused.fields) == (
            "comment_required", "Un message (motivation) est obligatoire.",
            {"comment": ["Un message est obligatoire."]})
    GUARDS["comment_required"](_ctx(_app(), {"comment": "Motif"}))


def test_completion_deadline():
    app = _app(call=SimpleNamespace(completion_days=15))
    ctx = _ctx(app)
    GUARDS["completion_deadline"](ctx)  # default: the call's 15 days
    assert ctx.values["deadline"] > NOW + timedelta(days=14)
    assert ctx.values["deadline"] < NOW + timedelta(days=16)
    ctx = _ctx(app, {"deadline": "2026-10-20"})
    GUARDS["completion_deadline"](ctx)
    assert ctx.values["deadline"].date() == date(2026, 10, 20)
    past = _refused("completion_deadline", app, {"deadline": "2026-10-01"})
    assert (past.code, past.message, past.fields) == (
        "invalid_data", "L'échéance de réponse doit être dans le futur.",
        {"deadline": ["Échéance passée."]})
    bad = _refused("completion_deadline", app, {"deadline": "demain"})
    assert bad.code == "invalid_data" and bad.message.startswith("Échéance invalide : ")
    assert list(bad.fields) == ["deadline"]


def test_before_completion_deadline():
    deadline = datetime(2026, 12, 1, 22, 59, tzinfo=UTC)  # 23:59 in Paris
    GUARDS["before_completion_deadline"](_ctx(_app(completion_deadline=None)))
    GUARDS["before_completion_deadline"](_ctx(_app(completion_deadline=deadline),
                                              now=deadline))  # the last minute counts
    late = _refused("before_completion_deadline", _app(completion_deadline=deadline),
                    now=deadline + timedelta(seconds=1))
    assert (late.code, late.message) == (
        "deadline_passed", "Le délai pour compléter le dossier a expiré le 01/12/2026 à 23:59.")


def test_jury_assigned():
    GUARDS["jury_assigned"](_ctx(SimpleNamespace(call=SimpleNamespace(jury=[1]), reviews=[])))
    GUARDS["jury_assigned"](_ctx(SimpleNamespace(call=SimpleNamespace(jury=[]), reviews=[1])))
    refused = _refused("jury_assigned", SimpleNamespace(call=SimpleNamespace(jury=[]),
                                                        reviews=[]))
    assert (refused.code, refused.message) == ("no_jury",
                                               "Aucun juré n'est désigné pour cet appel.")


# -- amounts ---------------------------------------------------------------------------------

def test_proposed_amount():
    ctx = _ctx(_app(requested_cents=8_000_00))
    GUARDS["proposed_amount"](ctx)
    assert ctx.values["amount"] == 8_000_00  # the request, by default
    ctx = _ctx(_app(requested_cents=8_000_00, proposed_cents=5_000_00))
    GUARDS["proposed_amount"](ctx)
    assert ctx.values["amount"] == 5_000_00  # the jury's proposal, when there is one
    ctx = _ctx(_app(requested_cents=8_000_00), {"amount_cents": 8_000_00})
    GUARDS["proposed_amount"](ctx)
    assert ctx.values["amount"] == 8_000_00  # the whole request is allowed
    over = _refused("proposed_amount", _app(requested_cents=8_000_00),
                    {"amount_cents": 8_000_01})
    assert (over.code, over.fields) == ("amount_exceeds_request",
                                        {"amount_cents": ["Supérieur à la demande."]})
    assert over.message.replace("\u202f", " ").replace("\xa0", " ") == (
        "Le montant proposé dépasse le montant demandé (8 000,00 €).")
    zero = _refused("proposed_amount", _app(), {"amount_cents": 0})
    assert (zero.code, zero.message, zero.fields) == (
        "invalid_data", "Le montant proposé doit être positif.",
        {"amount_cents": ["Montant positif attendu."]})
    typed = _refused("proposed_amount", _app(), {"amount_cents": "12"})
    assert typed.code == "invalid_data" and list(typed.fields) == ["amount_cents"]
    assert typed.message.startswith("Montant invalide : ")


DECISION = {"body": " Bureau ", "reference": "DEL-2026-117", "date": "2026-10-12"}


def test_decision_recorded():
    ctx = _ctx(_app(requested_cents=8_000_00), {"amount_cents": 8_000_00,
                                                "decision": DECISION})
    GUARDS["decision_recorded"](ctx)
    assert ctx.values["amount"] == 8_000_00
    assert ctx.values["decision"] == {"body": "Bureau", "reference": "DEL-2026-117",
                                      "decided_on": date(2026, 10, 12)}
    over = _refused("decision_recorded", _app(requested_cents=8_000_00),
                    {"amount_cents": 8_000_01, "decision": DECISION})
    assert (over.code, over.fields) == ("amount_exceeds_request",
                                        {"amount_cents": ["Supérieur à la demande."]})
    assert over.message.replace("\u202f", " ").replace("\xa0", " ") == (
        "Le montant accordé dépasse le montant demandé (8 000,00 €).")
    zero = _refused("decision_recorded", _app(), {"amount_cents": 0, "decision": DECISION})
    assert (zero.code, zero.message, zero.fields) == (
        "invalid_data", "Le montant accordé doit être positif.",
        {"amount_cents": ["Montant positif attendu."]})
    missing = _refused("decision_recorded", _app(), {"amount_cents": 1})
    assert (missing.code, missing.message, missing.fields) == (
        "invalid_data", "La délibération (instance, référence, date) est obligatoire.",
        {"decision": ["Obligatoire."]})
    for field, label in (("body", "L'instance de décision"),
                         ("reference", "La référence de la délibération"),
                         ("date", "La date de décision")):
        refused = _refused("decision_recorded", _app(), {
            "amount_cents": 1, "decision": {**DECISION, field: "  "}})
        assert (refused.code, refused.message, refused.fields) == (
            "invalid_data", f"{label} est obligatoire.",
            {f"decision.{field}": [f"{label} est obligatoire."]})
    bad_date = _refused("decision_recorded", _app(), {
        "amount_cents": 1, "decision": {**DECISION, "date": "12/10/2026"}})
    assert bad_date.message.startswith("Date invalide : ")
    assert list(bad_date.fields) == ["decision.date"]


def test_payment_valid_never_more_than_left_to_pay():
    app = _app(granted_cents=10_000_00, paid_cents=6_000_00)
    data = {"kind": "balance", "amount_cents": 4_000_00, "paid_on": "2027-02-10",
            "mandate": "M" * 80}
    ctx = _ctx(app, data)
    GUARDS["payment_valid"](ctx)  # exactly what is left
    assert ctx.values["payment"] == {"kind": "balance", "amount_cents": 4_000_00,
                                     "paid_on": date(2027, 2, 10), "mandate": "M" * 60}
    ctx = _ctx(app, {**data, "mandate": None})
    GUARDS["payment_valid"](ctx)
    assert ctx.values["payment"]["mandate"] == ""
    over = _refused("payment_valid", app, {**data, "amount_cents": 4_000_01})
    assert (over.code, over.fields) == ("overpayment",
                                        {"amount_cents": ["Supérieur au reste à payer."]})
    assert over.message.replace("\u202f", " ").replace("\xa0", " ") == (
        "Versement refusé : 4 000,01 € dépasse le reste à payer "
        "(4 000,00 € sur 10 000,00 € accordés).")
    kind = _refused("payment_valid", app, {**data, "kind": "don"})
    assert (kind.code, kind.message, kind.fields) == (
        "invalid_data", "Nature du versement inconnue (avance, acompte ou solde).",
        {"kind": ["Valeur inconnue."]})
    zero = _refused("payment_valid", app, {**data, "amount_cents": 0})
    assert (zero.message, zero.fields) == ("Le montant du versement doit être positif.",
                                           {"amount_cents": ["Montant positif attendu."]})
    misdated = _refused("payment_valid", app, {**data, "paid_on": "02/11/2026"})
    assert misdated.code == "invalid_data" and list(misdated.fields) == ["paid_on"]
    assert misdated.message.startswith("Date invalide : ")
    undated = _refused("payment_valid", app, {**data, "paid_on": ""})
    assert (undated.message, undated.fields) == (
        "La date du versement est obligatoire.",
        {"paid_on": ["La date du versement est obligatoire."]})


def test_a_convention_above_the_threshold():
    call = SimpleNamespace(convention_threshold_cents=23_000_00)
    GUARDS["convention_if_required"](_ctx(_app(call=call, granted_cents=23_000_00)))
    GUARDS["convention_if_required"](_ctx(_app(call=call, granted_cents=23_000_01,
                                               state="contracted")))
    refused = _refused("convention_if_required", _app(call=call, granted_cents=23_000_01))
    assert refused.code == "convention_required"
    assert refused.message.replace("\u202f", " ").replace("\xa0", " ") == (
        "Une convention signée est obligatoire au-delà de 23 000,00 € avant tout versement.")


# -- the report ------------------------------------------------------------------------------

def test_report_gap():
    assert report_gap(0, 0) is None
    assert report_gap(0, 5) == Decimal(1)
    assert report_gap(10_000, 8_500) == Decimal("-0.15")
    assert report_gap(10_000, 12_000) == Decimal("0.2")


def _reporting(charges=10_000_00, threshold=Decimal("0.15")):
    return SimpleNamespace(total=lambda side: charges if side == "charges" else 0,
                           call=SimpleNamespace(report_gap_threshold=threshold))


def _report(charges=10_000_00, **extra):
    return {"realised": {"charges": {"64": charges}, "products": {"74_epci": charges}},
            "narrative": " Douze ateliers. ", "beneficiaries_reached": 55, **extra}


def test_report_valid():
    ctx = _ctx(_reporting(), _report(8_500_00))  # −15 %: at the threshold, no explanation
    GUARDS["report_valid"](ctx)
    assert ctx.values["report"] == {
        "realised": {"charges": {"64": 8_500_00}, "products": {"74_epci": 8_500_00}},
        "narrative": "Douze ateliers.", "beneficiaries_reached": 55, "gap_explanation": ""}
    gap = _refused("report_valid", _reporting(), _report(8_499_00))  # beyond 15 %
    assert (gap.code, gap.fields) == ("gap_explanation_required",
                                      {"gap_explanation": ["Obligatoire."]})
    assert gap.message == (
        "L'écart entre le prévisionnel et le réalisé (-15%) dépasse 15% : expliquez-le.")
    GUARDS["report_valid"](_ctx(_reporting(), _report(8_499_00, gap_explanation="Salles.")))
    unbalanced = _report()
    unbalanced["realised"]["products"]["74_epci"] -= 1
    refused = _refused("report_valid", _reporting(), unbalanced)
    assert (refused.code, refused.message, refused.fields) == (
        "budget_unbalanced", "Le compte rendu n'est pas équilibré (charges ≠ produits).",
        {"realised": ["Non équilibré."]})
    for reached in (-1, True, "55"):
        refused = _refused("report_valid", _reporting(), _report(beneficiaries_reached=reached))
        assert (refused.message, refused.fields) == (
            "Nombre de bénéficiaires invalide.",
            {"beneficiaries_reached": ["Entier positif attendu."]})
    ctx = _ctx(_reporting(), {k: v for k, v in _report().items()
                              if k != "beneficiaries_reached"})
    GUARDS["report_valid"](ctx)
    assert ctx.values["report"]["beneficiaries_reached"] == 0
    silent = _refused("report_valid", _reporting(), _report(narrative="  "))
    assert (silent.message, silent.fields) == ("Décrivez les actions réalisées.",
                                               {"narrative": ["Obligatoire."]})
    unknown = _refused("report_valid", _reporting(), {
        **_report(), "realised": {"charges": {"99": 1}, "products": {}}})
    assert (unknown.message, unknown.fields) == (
        "Ligne budgétaire inconnue : 99.", {"realised.charges.99": ["Ligne inconnue."]})
    shapeless = _refused("report_valid", _reporting(), {**_report(), "realised": []})
    assert (shapeless.message, shapeless.fields) == (
        "Budget réalisé attendu : {charges: {...}, products: {...}}.",
        {"realised": ["Format invalide."]})
    side = _refused("report_valid", _reporting(), {
        **_report(), "realised": {"charges": ["64"], "products": {}}})
    assert side.fields == {"realised.charges": ["Format invalide."]}
    negative = _refused("report_valid", _reporting(), {
        **_report(), "realised": {"charges": {"64": -1}, "products": {}}})
    assert list(negative.fields) == ["realised.charges.64"]
    assert negative.message.startswith("Ligne 64 : ")
