"""Decisions on the web (issue 9, items 5 and 6): the deliberation page and its result,
the decision annex, the banner proposing the first waitlisted application when money is
freed, the convention panel and its PDF, and the two thresholds of the call form."""

from __future__ import annotations

import html as html_lib
import io
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from aap.extensions import db
from aap.models import Application, Call
from tests.services.test_deliberations import budget, proposed, waitlisted
from tests.web.test_instruction_access import any_token
from tests.web.test_instruction_calls import form_data

E = 100
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def text(html: str) -> str:
    """The page as read: entities decoded, narrow and non-breaking spaces as spaces."""
    return re.sub(r"[\u00a0\u202f]", " ", html_lib.unescape(html))


def log_out(client) -> None:
    client.post("/deconnexion", data={"csrf_token": any_token(client)})


def post(client, url, data):
    response = client.post(url, data={"csrf_token": any_token(client), **data})
    response.page = text(response.text)
    return response


def fresh(app: Application) -> Application:
    db.session.rollback()
    return db.session.get(Application, app.id)


def form_fields(page: str, form_id_fragment: str) -> tuple[str, dict]:
    """The action and the inputs of the first form whose action contains the fragment."""
    match = re.search(r'<form method="post" action="([^"]*' + re.escape(form_id_fragment)
                      + r'[^"]*)"[^>]*>(.*?)</form>', page, re.S)
    assert match, f"no form posting to {form_id_fragment}"
    inputs = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                             match.group(2)))
    inputs.update(re.findall(r'<input id="[^"]*" name="([^"]+)" type="hidden" value="([^"]*)"',
                             match.group(2)))
    return html_lib.unescape(match.group(1)), {k: html_lib.unescape(v)
                                               for k, v in inputs.items()}


@pytest.fixture
def three(world):
    """Budget 10 000 €: A 4 000 € (rank 1), B 5 000 € (rank 2), C 3 000 € (rank 3), all
    proposed: 12 000 € proposed for 10 000 € available."""
    budget(world, 10_000)
    return (proposed(world, 4000, 5, 4), proposed(world, 5000, 4, 4),
            proposed(world, 3000, 3, 4))


def test_the_deliberation_page_lists_the_proposals_best_first_with_the_budget(
        client, world, log_in, three):
    a, b, c = three
    log_in(world.users["instructor"])
    page = text(client.get(f"/instruction/appels/{world.call.id}/deliberation").text)
    positions = [page.index(x.reference) for x in (a, b, c)]
    assert positions == sorted(positions)
    assert "10 000,00 €" in page and "12 000,00 €" in page  # available, proposed
    assert "dépassent le budget disponible de 2 000,00 €" in page
    for x in three:  # every proposal ticked by default
        assert re.search(rf'value="{x.id}" id="[^"]+" checked', page)
    call_page = client.get(f"/instruction/appels/{world.call.id}").text
    assert f"/instruction/appels/{world.call.id}/deliberation" in call_page
    assert "Délibération (3 dossiers proposés)" in text(call_page)


def test_only_instructors_open_the_deliberation_page(client, world, log_in, three):
    log_in(world.users["finance"])
    assert client.get(f"/instruction/appels/{world.call.id}/deliberation").status_code == 403
    response = post(client, f"/instruction/appels/{world.call.id}/deliberation",
                    {"ids": [three[0].id], "body": "Bureau", "reference": "D-1",
                     "date": "2026-10-12"})
    assert response.status_code == 403
    assert fresh(three[0]).state == "proposed"


def test_a_deliberation_grants_the_ticked_and_reports_each_refusal(client, world, log_in,
                                                                    three):
    a, b, c = three
    log_in(world.users["instructor"])
    response = post(client, f"/instruction/appels/{world.call.id}/deliberation",
                    {"ids": [c.id, a.id, b.id], "body": "Bureau de la Métropole",
                     "reference": "DEL 2026/117", "date": "2026-10-12"})
    assert response.status_code == 200
    page = response.page
    # A and B take 9 000 €; C finds 1 000 € left
    assert "2 subventions accordées" in page and "1 refus" in page
    assert "Budget insuffisant : 3 000,00 € demandés, 1 000,00 € disponibles sur l'appel." in page
    assert "9 000,00 €" in page
    assert (fresh(a).state, fresh(b).state, fresh(c).state) == ("granted", "granted",
                                                                "proposed")
    annex_url = f"/instruction/appels/{world.call.id}/deliberations/DEL%202026/117/annexe.xlsx"
    assert annex_url in response.text
    for role in ("instructor", "finance"):
        log_out(client)
        log_in(world.users[role])
        download = client.get(annex_url)
        assert download.status_code == 200 and download.mimetype == XLSX
        sheet = load_workbook(io.BytesIO(download.data), data_only=True)["Annexe"]
        assert sheet["A1"].value.startswith("Annexe à la délibération DEL 2026/117 du 12/10/2026")
        assert round(sheet["F6"].value * 100) == 9000 * E  # the total row
    assert client.get(f"/instruction/appels/{world.call.id}/deliberations/NOPE/annexe.xlsx"
                      ).status_code == 404


def test_a_refused_deliberation_keeps_what_was_typed_and_ticked(client, world, log_in, three):
    a, b, _ = three
    log_in(world.users["instructor"])
    url = f"/instruction/appels/{world.call.id}/deliberation"
    response = post(client, url, {"ids": [b.id], "body": "", "reference": "DEL-ABC-9",
                                  "date": ""})
    assert response.status_code == 422
    assert 'value="DEL-ABC-9"' in response.text
    assert re.search(rf'value="{b.id}" id="[^"]+" checked', response.text)
    assert not re.search(rf'value="{a.id}" id="[^"]+" checked', response.text)
    assert "L'instance de décision est obligatoire." in response.page
    assert "La date de la délibération est obligatoire." in response.page
    response = post(client, url, {"body": "Bureau", "reference": "DEL-1", "date": "2026-10-12"})
    assert response.status_code == 422 and "Cochez au moins un dossier." in response.page
    response = post(client, url, {"ids": [a.id], "body": "Bureau", "reference": "DEL-1",
                                  "date": "12/10/2026"})
    assert response.status_code == 422 and 'value="12/10/2026"' in response.text
    assert {fresh(x).state for x in three} == {"proposed"}


def test_freed_money_shows_a_banner_that_promotes_the_first_waitlisted(client, world, log_in):
    """Budget 10 000 €: A 4 000 € and B 5 000 € proposed, C 3 000 € then D 2 500 €
    waitlisted: 1 000 € left is under half of either. B withdraws: 6 000 € left, C
    (rank 1 of the waitlist) fits whole."""
    budget(world, 10_000)
    proposed(world, 4000, 5, 4)
    b = proposed(world, 5000, 4, 4)
    c = waitlisted(world, 3000, 3, 4)
    d = waitlisted(world, 2500, 3, 3)
    log_in(world.users["instructor"])
    call_url = f"/instruction/appels/{world.call.id}"
    assert "Des fonds sont disponibles" not in client.get(call_url).text
    world.fire(b, "withdraw", {})
    page = text(client.get(call_url).text)
    assert "Des fonds sont disponibles pour la liste d'attente" in page
    assert "Il reste 6 000,00 € sur l'appel" in page
    assert f"{c.reference} — " in page and "pour 3 000,00 €." in page
    dossier = text(client.get(f"/dossiers/{c.id}").text)
    assert "Ce dossier est le premier de la liste d'attente" in dossier
    assert "Des fonds sont disponibles" not in client.get(f"/dossiers/{d.id}").text
    action, fields = form_fields(client.get(call_url).text, f"/dossiers/{c.id}/actions/promote")
    assert text(fields["promote-amount"]) == "3 000,00"
    response = client.post(action, data=fields)
    assert response.status_code == 302
    c = fresh(c)
    assert (c.state, c.proposed_cents) == ("proposed", 3000 * E)
    # 10 000 - 4 000 - 3 000 = 3 000 € left: D's 2 500 € now fit
    page = text(client.get(call_url).text)
    assert f"{d.reference} — " in page and "pour 2 500,00 €." in page


def test_the_dossier_says_when_a_convention_is_required_and_gives_it(client, world, log_in):
    app = world.bring_to(world.application(requested_cents=25_000_00), "granted")
    small = world.bring_to(world.application(requested_cents=5_000_00), "granted")
    for role in ("instructor", "finance", "applicant"):
        log_out(client)
        log_in(world.users[role])
        page = text(client.get(f"/dossiers/{app.id}").text)
        assert "Obligatoire : le montant accordé (25 000,00 €) dépasse le seuil de l'appel " \
               "(23 000,00 €)" in page
        assert "Pas encore signée." in page and f"/dossiers/{app.id}/convention.pdf" in page
        response = client.get(f"/dossiers/{app.id}/convention.pdf")
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        assert response.data.startswith(b"%PDF")
        assert "Facultative" in text(client.get(f"/dossiers/{small.id}").text)
    log_out(client)
    log_in(world.users["juror"])
    assert "convention.pdf" not in client.get(f"/dossiers/{app.id}").text
    assert client.get(f"/dossiers/{app.id}/convention.pdf").status_code == 403
    log_out(client)
    log_in(world.users["foreign_applicant"])
    assert client.get(f"/dossiers/{app.id}/convention.pdf").status_code == 404


def test_no_convention_before_the_grant(client, world, log_in):
    app = world.bring_to(world.application(requested_cents=25_000_00), "proposed")
    log_in(world.users["instructor"])
    assert "convention.pdf" not in client.get(f"/dossiers/{app.id}").text
    assert client.get(f"/dossiers/{app.id}/convention.pdf").status_code == 409


def test_the_call_form_sets_the_two_thresholds(client, world, log_in):
    log_in(world.users["instructor"])
    url = f"/instruction/appels/{world.call.id}/modifier"
    page = client.get(url).text
    assert re.search(r'name="convention_threshold"[^>]*value="23.000,00"', page)
    assert re.search(r'name="report_gap_threshold"[^>]*value="15"', page)
    data = form_data(world, fiscal_year="2026", convention_threshold="30 000",
                     report_gap_threshold="150", opens_at="2026-01-01T09:00",
                     closes_at="2027-06-30T12:00")
    refused = post(client, url, data)
    assert refused.status_code == 422 and 'value="150"' in refused.text
    response = post(client, url, {**data, "report_gap_threshold": "12,5".replace(",", ".")})
    assert response.status_code == 302, response.page
    db.session.rollback()
    call = db.session.get(Call, world.call.id)
    assert (call.convention_threshold_cents, call.report_gap_threshold) == (
        30_000_00, Decimal("0.125"))
    new = post(client, "/instruction/appels/nouveau", form_data(world, title="Appel neuf"))
    assert new.status_code == 302
    db.session.rollback()
    created = db.session.scalars(db.select(Call).where(Call.title == "Appel neuf")).one()
    assert (created.convention_threshold_cents, created.report_gap_threshold) == (
        23_000_00, Decimal("0.15"))
