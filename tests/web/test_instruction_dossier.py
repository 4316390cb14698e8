"""The file seen by staff: actions panel, refusals in French with the form kept, the
workflow's inputs (motivation, deadline, amount, decision, convention, payment),
attachments downloaded through an access check, the reviews summary."""

from __future__ import annotations

import html as html_lib
import io
import re

import pytest

from aap.extensions import db
from aap.models import Application
from aap.services import attachments, reviews
from tests.web.test_instruction_access import any_token

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def act(client, app, trigger, **fields):
    token = any_token(client)
    data = {f"{trigger}-csrf_token": token}
    data.update({f"{trigger}-{k}": v for k, v in fields.items()})
    response = client.post(f"/dossiers/{app.id}/actions/{trigger}", data=data)
    response.page = html_lib.unescape(response.text)
    return response


def switch(client, log_in, user):
    client.post("/deconnexion", data={"csrf_token": any_token(client)})
    log_in(user)


def state_of(app) -> str:
    db.session.rollback()
    return db.session.get(Application, app.id).state


@pytest.mark.parametrize(("state", "role", "expected"), [
    ("submitted", "instructor", ["request_completion", "declare_eligible",
                                 "declare_ineligible"]),
    ("eligible", "instructor", ["open_review"]),
    ("in_review", "instructor", ["close_review"]),
    ("reviewed", "instructor", ["propose", "waitlist", "reject"]),
    ("proposed", "instructor", ["reject", "grant"]),
    ("granted", "instructor", ["sign_convention", "cancel"]),
    ("granted", "finance", ["pay"]),
    ("in_progress", "finance", ["payment"]),
    ("submitted", "finance", []),
    ("submitted", "applicant", ["withdraw"]),
    ("in_review", "juror", []),
])
def test_actions_panel_lists_what_the_user_may_do_now(client, world, log_in, state, role,
                                                      expected):
    app = world.bring_to(world.application(), state)
    log_in(world.users[role])
    html = client.get(f"/dossiers/{app.id}").text
    shown = [t for t in ("request_completion", "declare_eligible", "declare_ineligible",
                         "open_review", "close_review", "propose", "waitlist", "reject",
                         "grant", "sign_convention", "cancel", "pay", "payment", "withdraw",
                         "submit_report") if f'id="action-{t}"' in html]
    assert sorted(shown) == sorted(expected)
    assert ("Actions possibles" in html) == bool(expected)


def test_ineligible_needs_a_motivation_and_keeps_the_form(client, world, log_in):
    app = world.bring_to(world.application(), "submitted")
    log_in(world.users["instructor"])
    response = act(client, app, "declare_ineligible", comment="   ")
    assert response.status_code == 422
    assert "Un message (motivation) est obligatoire." in response.page
    assert 'id="action-declare_ineligible" open' in response.text
    assert 'href="#declare_ineligible-comment"' in response.text  # linked to its field
    assert state_of(app) == "submitted"
    response = act(client, app, "declare_ineligible", comment="Hors champ de l'appel.")
    assert response.status_code == 302
    assert state_of(app) == "ineligible"
    page = html_lib.unescape(client.get(f"/dossiers/{app.id}").text)
    assert "Déclarer irrecevable : c'est fait." in page
    assert "Hors champ de l'appel." in page  # in the timeline


def test_completion_request_with_message_and_deadline(client, world, log_in):
    app = world.bring_to(world.application(), "submitted")
    log_in(world.users["instructor"])
    response = act(client, app, "request_completion", comment="Joindre les statuts.",
                   deadline="2000-01-01")
    assert response.status_code == 422
    assert "L'échéance de réponse doit être dans le futur." in response.page
    assert 'value="2000-01-01"' in response.text  # the form is kept
    response = act(client, app, "request_completion", comment="Joindre les statuts.",
                   deadline="not a date")
    assert response.status_code == 422 and "Joindre les statuts." in response.page
    response = act(client, app, "request_completion", comment="Joindre les statuts.",
                   deadline="2099-03-15")
    assert response.status_code == 302
    db.session.rollback()
    saved = db.session.get(Application, app.id)
    assert saved.state == "incomplete" and saved.completion_message == "Joindre les statuts."
    assert saved.completion_deadline.isoformat().startswith("2099-03-15T22:59:59")


def test_stale_state_is_409_with_a_french_message(client, world, log_in):
    app = world.bring_to(world.application(), "eligible")
    log_in(world.users["instructor"])
    response = act(client, app, "declare_eligible")
    assert response.status_code == 409
    assert "« Déclarer recevable » est impossible dans l'état « Recevable »." in response.page


def test_grant_convention_and_payments(client, world, log_in):
    app = world.bring_to(world.application(requested_cents=30_000_00), "proposed")
    log_in(world.users["instructor"])
    response = act(client, app, "grant", amount="40 000", decision_body="Bureau",
                   decision_reference="DEL-1", decision_date="2026-10-12")
    assert response.status_code == 422
    assert "dépasse le montant demandé" in response.page
    assert 'value="40 000"' in response.text and 'value="DEL-1"' in response.text
    response = act(client, app, "grant", amount="abc")
    assert response.status_code == 422 and "Montant invalide" in response.page
    response = act(client, app, "grant", amount="30 000", decision_body="Bureau",
                   decision_reference="DEL-1", decision_date="")
    assert response.status_code == 422 and "La date de décision est obligatoire." in response.page
    response = act(client, app, "grant", amount="30 000", decision_body="Bureau",
                   decision_reference="DEL-1", decision_date="2026-10-12")
    assert response.status_code == 302 and state_of(app) == "granted"

    response = act(client, app, "sign_convention", convention_reference="CONV-1",
                   convention_signed_on="2026-10-20", advance_share="80",
                   instalment_share="0", balance_share="30")
    assert response.status_code == 422 and "Échéancier invalide" in response.page
    response = act(client, app, "sign_convention", convention_reference="CONV-1",
                   convention_signed_on="2026-10-20", advance_share="80",
                   instalment_share="0", balance_share="20")
    assert response.status_code == 302 and state_of(app) == "contracted"

    switch(client, log_in, world.users["finance"])
    response = act(client, app, "pay", kind="advance", amount="24 000",
                   paid_on="2026-11-02", mandate="M-1")
    assert response.status_code == 302 and state_of(app) == "in_progress"
    response = act(client, app, "payment", kind="balance", amount="7 000",
                   paid_on="2026-12-02", mandate="M-2")
    assert response.status_code == 422 and "Versement refusé" in response.page
    response = act(client, app, "payment", kind="balance", amount="6 000",
                   paid_on="2026-12-02", mandate="M-2")
    assert response.status_code == 302
    page = html_lib.unescape(client.get(f"/dossiers/{app.id}").text)
    assert "M-2" in page
    assert re.search(r"30\s000,00\s€ / 30\s000,00\s€", page)


def test_close_review_force_with_reason(client, world, log_in):
    app = world.bring_to(world.application(), "in_review")
    log_in(world.users["instructor"])
    response = act(client, app, "close_review")
    assert response.status_code == 422 and "Évaluations manquantes" in response.page
    response = act(client, app, "close_review", force="y")
    assert response.status_code == 422 and "exige un motif" in response.page
    assert act(client, app, "close_review", force="y", comment="Jury oral.").status_code == 302
    assert state_of(app) == "reviewed"


def test_reviews_summary_for_staff_only(client, world, log_in):
    app = world.bring_to(world.application(), "in_review")
    reviews.save_review(world.users["juror"], app,
                        {"scores": {"pertinence": 5, "faisabilite": 5}, "submit": True})
    reviews.save_review(world.users["juror2"], app,
                        {"scores": {"pertinence": 0, "faisabilite": 0}, "submit": True})
    log_in(world.users["instructor"])
    page = html_lib.unescape(client.get(f"/dossiers/{app.id}").text)
    assert "Évaluations du jury" in page and "10 / 20" in page
    assert "À discuter" in page  # 20 and 0: strong disagreement
    switch(client, log_in, world.users["applicant"])
    assert "Évaluations du jury" not in client.get(f"/dossiers/{app.id}").text


@pytest.mark.parametrize(("role", "status"), [
    ("instructor", 200), ("finance", 200), ("admin", 200), ("applicant", 200),
    ("foreign_applicant", 404), ("juror", 200), ("outside_juror", 404),
])
def test_attachments_are_downloaded_through_an_access_check(client, world, log_in, role,
                                                            status):
    app = world.application()
    item = attachments.add_attachment(world.users["applicant"], app.id, "statutes",
                                      attachments.Upload("statuts.pdf", io.BytesIO(PDF)))
    world.bring_to(app, "in_review")
    log_in(world.users[role])
    url = f"/dossiers/{app.id}/pieces/{item.id}"
    if status == 200:
        page = client.get(f"/dossiers/{app.id}").text
        assert f'href="{url}"' in page and "statuts.pdf" in page
    response = client.get(url)
    assert response.status_code == status
    if status == 200:
        assert response.data == PDF
        assert "attachment" in response.headers["Content-Disposition"]


def test_an_attachment_of_another_file_is_404(client, world, log_in):
    app = world.application()
    item = attachments.add_attachment(world.users["applicant"], app.id, "rib",
                                      attachments.Upload("rib.pdf", io.BytesIO(PDF)))
    other = world.bring_to(world.application(), "submitted")
    world.bring_to(app, "submitted")
    log_in(world.users["instructor"])
    assert client.get(f"/dossiers/{other.id}/pieces/{item.id}").status_code == 404
    assert client.get(f"/dossiers/{app.id}/pieces/999999").status_code == 404
