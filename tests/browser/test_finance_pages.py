"""The finance officer in a browser: the finance home of a fiscal year, then a repayment
claimed from the dossier page with the pre-filled form, and its receipt. Screenshots in
``test-artifacts/screenshots/``."""

from __future__ import annotations

from datetime import date

from aap.extensions import db
from aap.services import workflow
from aap.services.calls import set_jury
from tests import factories
from tests.browser.conftest import log_in
from tests.factories import PASSWORD

E = 100
UNDER_SPENT = {"charges": {"62": 2_700 * E, "64": 12_600 * E},
               "products": {"74_epci": 10_800 * E, "74_state": 2_700 * E, "75": 1_800 * E}}


def _year(world):
    call = factories.make_call(world.fund, title="Appel à projets 2026 — égalité des chances",
                               fiscal_year=2026, budget_cents=100_000 * E,
                               envelopes=[("nord", "Marseille Nord", 60_000 * E),
                                          ("aix", "Pays d'Aix", 40_000 * E)])
    set_jury(call, [world.users["juror"].id])
    finance = world.users["finance"]

    def granted(euros, envelope, org_name, **fields):
        org = factories.make_organisation([world.users["applicant"]], name=org_name)
        app = factories.make_application(call, org, requested_cents=euros * E,
                                         envelope_id=call.envelope(envelope).id, **fields)
        return world.bring_to(app, "granted")

    def pay(app, euros, kind="advance", on="2026-11-02"):
        return workflow.record_payment(app, finance, {"kind": kind, "amount_cents": euros * E,
                                                      "paid_on": on})

    world.fire(granted(12_000, "nord", "Maison des jeunes du 13e"), "sign_convention",
               {"convention": {"reference": "CONV-2026-0012", "signed_on": "2026-10-20",
                               "schedule": [{"kind": "advance", "share": "0.8"},
                                            {"kind": "balance", "share": "0.2"}]}})
    pay(granted(5_000, "nord", "Égalité 13", starts_on=date(2024, 9, 1),
                ends_on=date(2025, 1, 31)), 5_000)
    reported = pay(granted(12_000, "aix", "Aix Solidarités"), 12_000)
    reported = world.fire(reported, "submit_report", {
        "realised": UNDER_SPENT, "beneficiaries_reached": 50, "narrative": "Neuf ateliers."})
    reported = world.fire(reported, "approve_report")
    db.session.commit()
    return reported


def test_the_finance_home_and_a_repayment(page, world):
    reported = _year(world)
    log_in(page, world.users["finance"].email, PASSWORD)
    page.goto("/finances/?exercice=2026")
    page.get_by_role("heading", name="Prochains versements dus").wait_for()
    page.shots("finance-home")
    assert page.get_by_role("cell", name="9\u202f600,00\xa0€").count() == 1  # the advance due
    page.goto(f"/dossiers/{reported.id}#reversements")
    page.get_by_text("Émettre un titre de reversement").click()
    assert page.get_by_label("Montant à reverser (€)", exact=True).input_value() == "1\u202f200,00"
    page.get_by_label("Numéro du titre de recette").fill("TR-2026-0042")
    page.shots("repayment-form")
    page.get_by_role("button", name="Émettre le titre de reversement").click()
    page.wait_for_load_state("networkidle")
    page.get_by_role("cell", name="TR-2026-0042").wait_for()
    page.shots("repayment-claimed")
    page.goto("/finances/?exercice=2026")
    page.get_by_role("heading", name="Reversements à encaisser").wait_for()
    page.shots("finance-home-after-claim")
    assert page.get_by_role("cell", name="TR-2026-0042").count() == 1
