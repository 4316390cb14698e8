"""The instructor's allocation pages: simulate, read, compare, commit (SPEC 5)."""

from __future__ import annotations

import re

import pytest

from aap.extensions import db
from aap.models import AllocationRun, Application
from aap.services import allocation
from tests.services.test_allocation import E, reviewed
from tests.web.conftest import csrf_token


@pytest.fixture
def three(world):
    world.call.budget_cents = 10_000 * E
    db.session.commit()
    return [reviewed(world, 4000, 5, 4), reviewed(world, 5000, 4, 4),
            reviewed(world, 3000, 3, 4)]


def _form(page_text: str, **changes) -> dict:
    """The simulation form as the page fills it, with ``changes``."""
    data = {"csrf_token": csrf_token(page_text)}
    for name in ("budget", "min_total", "partial_min_share", "grey_zone", "seed",
                 "cap_per_application", "cap_share_of_cost", "cap_per_organisation"):
        match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page_text)
        data[name] = match.group(1) if match else ""
    data.update(overflow="partial", aggregation="mean")
    data.update(changes)
    return data


def test_the_page_starts_from_the_calls_settings(log_in, world, three):
    client = log_in(world.users["instructor"])
    page = client.get(f"/instruction/appels/{world.call.id}/repartition")
    assert page.status_code == 200
    assert "3</span> <span class=\"stat-label\">dossiers évalués à répartir" in page.text
    assert re.search(r'name="budget"[^>]*value="10\s?000,00"', page.text.replace(
        "\u202f", " ").replace("\xa0", " ")), "the budget left is the default"


def test_simulate_then_read_then_commit(log_in, world, three):
    client = log_in(world.users["instructor"])
    url = f"/instruction/appels/{world.call.id}/repartition"
    page = client.get(url)
    response = client.post(url, data=_form(page.text, seed="Loto 7 12 25"))
    assert response.status_code == 302
    db.session.rollback()  # see what the request committed
    run = db.session.scalars(db.select(AllocationRun)).one()
    assert response.headers["Location"].endswith(f"/repartition/{run.id}")
    shown = client.get(response.headers["Location"])
    assert shown.status_code == 200
    assert "Financé" in shown.text and "Liste d'attente" in shown.text
    assert run.digest in shown.text and "Loto 7 12 25" in shown.text
    # the commit needs the confirmation box: refused, nothing moved
    refused = client.post(f"{url}/{run.id}/valider",
                          data={"csrf_token": csrf_token(shown.text)})
    assert refused.status_code == 422 and "Cochez la case pour confirmer" in refused.text
    db.session.rollback()
    assert db.session.get(Application, three[0].id, populate_existing=True).state == "reviewed"
    done = client.post(f"{url}/{run.id}/valider",
                       data={"csrf_token": csrf_token(shown.text), "confirm": "y"})
    assert done.status_code == 302, done.text
    db.session.rollback()
    states = [db.session.get(Application, a.id, populate_existing=True).state for a in three]
    assert states == ["proposed", "proposed", "waitlisted"]
    assert "En vigueur" in client.get(done.headers["Location"]).text


def test_a_bad_amount_keeps_the_form(log_in, world, three):
    client = log_in(world.users["instructor"])
    url = f"/instruction/appels/{world.call.id}/repartition"
    page = client.get(url)
    response = client.post(url, data=_form(page.text, budget="dix mille", seed="s"))
    assert response.status_code == 422
    assert "Montant invalide" in response.text
    assert 'value="dix mille"' in response.text
    assert db.session.scalar(db.select(db.func.count(AllocationRun.id))) == 0


def test_compare_two_runs(log_in, world, three):
    instructor = world.users["instructor"]
    wide = allocation.simulate(world.call, instructor, seed="s")
    tight = allocation.simulate(world.call, instructor,
                                {"budget_cents": 6_000 * E, "overflow": "skip"}, seed="s")
    client = log_in(instructor)
    page = client.get(f"/instruction/appels/{world.call.id}/repartition/comparer",
                      query_string={"a": wide.id, "b": tight.id})
    assert page.status_code == 200
    assert three[1].reference in page.text and "-5\u202f000,00\xa0€" in page.text
    assert "1</span> <span class=\"stat-label\">dossier change de résultat" in page.text


def test_a_stale_simulation_is_refused_with_a_message(log_in, world, three):
    run = allocation.simulate(world.call, world.users["instructor"], seed="s")
    world.fire(three[2], "withdraw", {})
    client = log_in(world.users["instructor"])
    url = f"/instruction/appels/{world.call.id}/repartition/{run.id}"
    page = client.get(url)
    response = client.post(f"{url}/valider", data={"csrf_token": csrf_token(page.text),
                                                   "confirm": "y"})
    assert response.status_code == 409
    assert "Les données ont changé depuis cette simulation" in response.text


@pytest.mark.parametrize("role", ["applicant", "juror", "finance", "admin"])
def test_the_pages_are_for_instructors(log_in, world, three, role):
    run = allocation.simulate(world.call, world.users["instructor"], seed="s")
    client = log_in(world.actor_for(role))
    base = f"/instruction/appels/{world.call.id}/repartition"
    for url in (base, f"{base}/{run.id}", f"{base}/comparer?a={run.id}&b={run.id}"):
        assert client.get(url).status_code == 403, url
    page = client.get("/")
    response = client.post(f"{base}/{run.id}/valider",
                           data={"csrf_token": csrf_token(page.text) if "csrf_token" in
                                 page.text else "", "confirm": "y"})
    assert response.status_code in (400, 403)


def test_a_run_of_another_call_is_404(log_in, world, three):
    from tests import factories

    other = factories.make_call(world.fund)
    run = allocation.simulate(world.call, world.users["instructor"], seed="s")
    client = log_in(world.users["instructor"])
    assert client.get(f"/instruction/appels/{other.id}/repartition/{run.id}").status_code \
        == 404
