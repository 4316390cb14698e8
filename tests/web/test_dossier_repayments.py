"""The repayments on the dossier page: the money trail shows them to whoever sees the
file; a finance officer claims one with a form pre-filled with the proposal, and records
its receipt; refusals keep what was typed. Figures by hand: 12 000 € granted on 17 000 €
of charges, paid in full, 15 300 € realised: 10 800 € justified, 1 200 € to claim."""

from __future__ import annotations

import html as html_lib

import pytest

from aap.extensions import db
from aap.models import Application, Repayment
from aap.services import repayments, workflow
from tests.web.test_instruction_access import any_token

E = 100
UNDER_SPENT = {"charges": {"62": 2_700 * E, "64": 12_600 * E},
               "products": {"74_epci": 10_800 * E, "74_state": 2_700 * E, "75": 1_800 * E}}


@pytest.fixture
def approved(world):
    app = world.bring_to(world.application(requested_cents=12_000 * E), "granted")
    app = workflow.record_payment(app, world.users["finance"], {
        "kind": "advance", "amount_cents": 12_000 * E, "paid_on": "2026-11-02"})
    app = world.fire(app, "submit_report", {
        "realised": UNDER_SPENT, "beneficiaries_reached": 50, "narrative": "Neuf ateliers."})
    return world.fire(app, "approve_report")


def page(client, app) -> str:
    response = client.get(f"/dossiers/{app.id}")
    assert response.status_code == 200
    return html_lib.unescape(response.text)


def claim(client, app, **fields):
    data = {"repayment-csrf_token": any_token(client)}
    data.update({f"repayment-{k}": v for k, v in fields.items()})
    response = client.post(f"/dossiers/{app.id}/reversements", data=data)
    response.page = html_lib.unescape(response.text)
    return response


def stored() -> list[tuple]:
    db.session.rollback()
    return [(r.amount_cents, r.reference, r.reason, r.received_on)
            for r in db.session.query(Repayment).order_by(Repayment.id)]


def test_the_claim_form_is_pre_filled_with_the_proposal(client, log_in, world, approved):
    log_in(world.users["finance"])
    text = page(client, approved)
    assert 'id="reversements"' in text
    assert 'name="repayment-amount" type="text" value="1\u202f200,00"' in text
    assert "trop-perçu de 1\u202f200,00\xa0€" in text
    assert "Le compte rendu justifie 10\u202f800,00\xa0€ sur 12\u202f000,00\xa0€" in text


def test_finance_claims_then_records_the_receipt(client, log_in, world, approved):
    log_in(world.users["finance"])
    response = claim(client, approved, amount="1 200", reference="TR-2027-9",
                     claimed_on="2027-09-15", reason="Sous-réalisation.")
    assert response.status_code == 302 and response.location.endswith("#reversements")
    assert stored() == [(1_200 * E, "TR-2027-9", "Sous-réalisation.", None)]
    text = page(client, approved)
    assert "Titre de reversement émis" in text  # the timeline
    assert "15/09/2027" in text and "TR-2027-9" in text
    repayment_id = db.session.query(Repayment.id).scalar()
    url = f"/dossiers/{approved.id}/reversements/{repayment_id}/encaissement"
    token = any_token(client)
    early = client.post(url, data={f"received-{repayment_id}-csrf_token": token,
                                   f"received-{repayment_id}-received_on": "2027-09-01"})
    assert early.status_code == 422
    early_page = html_lib.unescape(early.text)
    assert "L'encaissement ne peut précéder le titre de reversement" in early_page
    assert 'value="2027-09-01"' in early_page  # what was typed
    done = client.post(url, data={f"received-{repayment_id}-csrf_token": token,
                                  f"received-{repayment_id}-received_on": "2027-10-01"})
    assert done.status_code == 302
    assert stored()[0][3].isoformat() == "2027-10-01"
    again = client.post(url, data={f"received-{repayment_id}-csrf_token": token,
                                   f"received-{repayment_id}-received_on": "2027-10-02"})
    assert again.status_code == 409
    assert "déjà encaissé" in html_lib.unescape(again.text)


@pytest.mark.parametrize(("fields", "status", "message", "kept"), [
    ({"amount": "douze", "reason": "Motif gardé"}, 422,
     "Montant invalide : tapez par exemple 12 500 ou 12 500,50.", 'value="douze"'),
    ({"amount": "12 000,01", "reason": "Motif gardé"}, 422,
     "dépasse ce qui peut encore être reversé (12\u202f000,00\xa0€", 'value="12 000,01"'),
    ({"amount": "100", "reason": "   ", "reference": "TR-garde"}, 422,
     "Le motif du reversement est obligatoire.", 'value="TR-garde"'),
])
def test_a_refused_claim_keeps_what_was_typed(client, log_in, world, approved, fields,
                                              status, message, kept):
    log_in(world.users["finance"])
    response = claim(client, approved, **fields)
    assert response.status_code == status
    assert message in response.page
    assert kept in response.page
    assert 'role="alert"' in response.page
    assert '<details class="action" id="action-repayment" open>' in response.page
    assert stored() == []


def test_the_applicant_sees_the_repayments_but_no_form(client, log_in, world, approved):
    repayments.claim(approved, world.users["finance"], {
        "amount_cents": 1_200 * E, "reason": "Sous-réalisation.", "reference": "TR-1"})
    log_in(world.users["applicant"])
    text = page(client, db.session.get(Application, approved.id))
    assert "Reversements" in text and "TR-1" in text and "en attente" in text
    assert "repayment-amount" not in text and "encaissement" not in text


def test_only_finance_may_post(client, log_in, world, approved):
    log_in(world.users["instructor"])
    assert claim(client, approved, amount="100", reason="x").status_code == 403
    assert stored() == []


def test_no_form_before_the_use_of_the_money_is_known(client, log_in, world):
    app = world.bring_to(world.application(), "in_progress")
    log_in(world.users["finance"])
    assert 'id="reversements"' not in page(client, app)
    assert claim(client, app, amount="100", reason="x").status_code == 409
