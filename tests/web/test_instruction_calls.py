"""Call configuration on the web: funds, calls (Paris time), envelopes, grid, locked
fields with their reason, cloning, jury membership."""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from aap.extensions import db
from aap.models import Call, Fund
from tests.web.test_instruction_access import any_token


def form_data(world, **overrides) -> dict:
    data = {
        "fund_id": str(world.fund.id), "title": "Appel 2027", "description": "Présentation",
        "fiscal_year": "2027", "opens_at": "2027-03-01T09:00", "closes_at": "2027-06-30T12:00",
        "budget": "100 000", "envelopes-0-label": "Secteur nord", "envelopes-0-key": "",
        "envelopes-0-budget": "40 000", "envelopes-1-label": "", "envelopes-1-key": "",
        "envelopes-1-budget": "", "min_request": "1 000", "max_request": "30 000",
        "max_share": "80", "grid-0-label": "Pertinence", "grid-0-key": "",
        "grid-0-weight": "2", "grid-0-max": "5", "grid-1-label": "Faisabilité",
        "grid-1-key": "faisa", "grid-1-weight": "1", "grid-1-max": "5", "scale": "20",
        "min_total": "10", "min_reviews": "2", "disagreement_threshold": "4",
        "overflow": "skip", "partial_min_share": "50", "completion_days": "15",
    }
    data.update(overrides)
    return data


def post(client, url, data):
    response = client.post(url, data={"csrf_token": any_token(client), **data})
    response.page = html_lib.unescape(response.text)
    return response


def fresh(call_id: int) -> Call:
    db.session.rollback()
    return db.session.get(Call, call_id)


def test_create_a_fund(client, world, log_in):
    log_in(world.users["instructor"])
    data = {"name": "Fonds 2", "owner_name": "Ville de Vitrolles", "owner_siret": "123",
            "chapter": "65", "nature": "65748", "function": "552", "subpolicy": "",
            "owner_product_line": "74_commune"}
    response = post(client, "/instruction/dispositifs/nouveau", data)
    assert response.status_code == 422 and 'value="Ville de Vitrolles"' in response.text
    assert "SIRET" in response.page
    response = post(client, "/instruction/dispositifs/nouveau",
                    {**data, "owner_siret": "20005478100022"})
    assert response.status_code == 302 and "fund_id=" in response.headers["Location"]
    db.session.rollback()
    fund = db.session.scalars(select(Fund).where(Fund.name == "Fonds 2")).one()
    assert fund.owner_product_line == "74_commune"
    page = client.get(response.headers["Location"]).text
    fund_select = re.search(r'<select[^>]*name="fund_id".*?</select>', page, re.S).group(0)
    options = re.findall(r'<option([^>]*)>', fund_select)
    assert len(options) == 2  # the world's fund and the new one
    assert [o for o in options if "selected" in o.split()] == [f' selected value="{fund.id}"']


def test_create_a_call_in_paris_time(client, world, log_in):
    log_in(world.users["instructor"])
    response = post(client, "/instruction/appels/nouveau", form_data(world))
    assert response.status_code == 302, response.page
    db.session.rollback()
    call = db.session.scalars(select(Call).where(Call.title == "Appel 2027")).one()
    assert call.opens_at == datetime(2027, 3, 1, 8, 0, tzinfo=UTC)  # 09:00 in Paris, winter
    assert call.closes_at == datetime(2027, 6, 30, 10, 0, tzinfo=UTC)  # 12:00, summer
    assert [(e.key, e.label, e.budget_cents) for e in call.envelopes] == [
        ("secteur_nord", "Secteur nord", 40_000_00)]
    assert [(c.key, c.max_score) for c in call.criteria] == [("pertinence", 5), ("faisa", 5)]
    assert float(call.max_share_of_cost) == 0.8 and call.overflow == "skip"
    assert call.min_reviews == 2 and float(call.partial_min_share) == 0.5
    assert response.headers["Location"].endswith(f"/instruction/appels/{call.id}")


@pytest.mark.parametrize(("overrides", "message"), [
    ({"closes_at": "2027-02-01T09:00"}, "La clôture doit suivre l'ouverture."),
    ({"min_request": "50 000"}, "Le minimum dépasse le maximum."),
    ({"envelopes-1-label": "Sud", "envelopes-1-budget": "70 000"},
     "Les enveloppes dépassent le budget de l'appel."),
    ({"grid-1-key": "pertinence"}, "Clés de critère en double."),
    ({"budget": "beaucoup"}, "Montant invalide"),
    ({"opens_at": "demain"}, "Ouverture (heure de Paris)"),
    ({"envelopes-1-budget": "5 000"}, "Le libellé de l'enveloppe est obligatoire."),
    ({"grid-1-max": ""}, "La note maximale est obligatoire."),
    ({"fund_id": "999"}, "Dispositif"),
    ({"max_share": "120"}, "Part maximale du coût du projet"),
    ({"title": ""}, "Titre de l'appel"),
])
def test_bad_input_keeps_the_form(client, world, log_in, overrides, message):
    log_in(world.users["instructor"])
    response = post(client, "/instruction/appels/nouveau", form_data(world, **overrides))
    assert response.status_code == 422
    assert message in response.page
    assert 'value="Secteur nord"' in response.text and "Le formulaire contient des erreurs" \
        in response.page
    db.session.commit()  # a new snapshot: see what the request wrote
    assert db.session.scalars(select(Call.id)).all() == [world.call.id]  # nothing created


def test_edit_shows_locked_fields_with_their_reason(client, world, log_in):
    world.bring_to(world.application(), "in_review")
    log_in(world.users["instructor"])
    page = html_lib.unescape(client.get(f"/instruction/appels/{world.call.id}/modifier").text)
    assert page.count("verrouillé") >= 6
    assert "L'évaluation a commencé : la grille et l'échelle ne peuvent plus changer." in page
    assert "Des dossiers ont été déposés sous ces règles" in page
    assert 'name="fiscal_year"' not in page and 'name="grid-0-label"' not in page
    assert 'name="closes_at"' in page and 'name="budget"' in page


def test_edit_allows_safe_changes_and_ignores_locked_inputs(client, world, log_in):
    world.bring_to(world.application(), "submitted")
    log_in(world.users["instructor"])
    call = world.call
    data = form_data(world, title="Appel prolongé", fiscal_year="2030", budget="120 000",
                     closes_at="2030-01-01T12:00", **{"envelopes-0-label": ""} | {
                         "envelopes-0-budget": ""})
    response = post(client, f"/instruction/appels/{call.id}/modifier", data)
    assert response.status_code == 302, response.page
    saved = fresh(call.id)
    assert saved.title == "Appel prolongé" and saved.budget_cents == 120_000_00
    assert saved.fiscal_year == 2026  # locked: the posted value is ignored
    assert saved.closes_at == datetime(2030, 1, 1, 11, 0, tzinfo=UTC)


def test_edit_refuses_to_shorten_or_cut_under_commitments(client, world, log_in):
    world.bring_to(world.application(requested_cents=20_000_00), "granted")
    log_in(world.users["instructor"])
    call = world.call
    response = post(client, f"/instruction/appels/{call.id}/modifier", form_data(
        world, budget="10 000", closes_at="2000-01-01T00:00",
        **{"envelopes-0-label": "", "envelopes-0-budget": ""}))
    assert response.status_code == 422
    assert "la clôture ne peut être que prolongée" in response.page
    assert "Le budget ne peut pas descendre sous le montant déjà engagé" in response.page
    assert 'value="10 000"' in response.text  # what was typed is kept
    assert fresh(call.id).budget_cents == 100_000_00


def test_clone_prefills_next_year_and_copies_the_jury(client, world, log_in):
    log_in(world.users["instructor"])
    page = client.get(f"/instruction/appels/{world.call.id}/cloner").text
    year = re.search(r'<input[^>]*name="fiscal_year"[^>]*>', page).group(0)
    assert 'value="2027"' in year  # the cloned call's year plus one
    response = post(client, f"/instruction/appels/{world.call.id}/cloner",
                    form_data(world, title="Appel cloné"))
    assert response.status_code == 302
    db.session.rollback()
    clone = db.session.scalars(select(Call).where(Call.title == "Appel cloné")).one()
    assert sorted(m.user_id for m in clone.jury) == sorted(
        [world.users["juror"].id, world.users["juror2"].id])
    assert clone.id != world.call.id


def test_jury_membership(client, world, log_in):
    log_in(world.users["instructor"])
    url = f"/instruction/appels/{world.call.id}/composition-du-jury"
    page = client.get(url).text.split('id="juror-list"', 1)[1]
    assert "Olga Horsjury" in page and "Inès Instructrice" not in page
    response = post(client, url, {"juror_ids": [str(world.users["outside_juror"].id)]})
    assert response.status_code == 302
    assert [m.user_id for m in fresh(world.call.id).jury] == [world.users["outside_juror"].id]
    response = post(client, url, {"juror_ids": [str(world.users["instructor"].id)]})
    assert response.status_code == 422
    response = post(client, url, {"juror_ids": ["abc"]})
    assert response.status_code == 422
    response = post(client, url, {})
    assert response.status_code == 302 and fresh(world.call.id).jury == []
