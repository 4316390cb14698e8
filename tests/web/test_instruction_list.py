"""The back-office list of a call: filters, sort, search, pagination, bulk actions."""

from __future__ import annotations

import html as html_lib
import re

import pytest

from aap.extensions import db
from aap.models import Application
from tests import factories
from tests.helpers import count_queries
from tests.web.test_instruction_access import any_token


def rows(html: str) -> list[str]:
    return re.findall(r'href="/dossiers/\d+">([^<]+)</a>', html.split("<tbody>", 1)[1])


@pytest.fixture
def listed(world):
    specs = [("Ateliers emploi", 3_000_00, ["emploi"], ["origine"], ["Marseille"]),
             ("Théâtre logement", 9_000_00, ["logement"], ["sexe"], ["Vitrolles"]),
             ("Sport pour toutes", 5_000_00, ["culture_sport"], ["handicap"], ["Aubagne"])]
    apps = {}
    for title, cents, domains, grounds, territories in specs:
        org = factories.make_organisation([world.users["applicant"]], name=f"Asso {title}")
        apps[title] = world.bring_to(factories.make_application(
            world.call, org, title=title, requested_cents=cents, domains=domains,
            grounds=grounds, territories=territories), "submitted")
    world.application(title="Brouillon caché")
    return apps


@pytest.mark.parametrize(("query", "expected"), [
    ("", ["Sport pour toutes", "Théâtre logement", "Ateliers emploi"]),
    ("?sort=requested", ["Théâtre logement", "Sport pour toutes", "Ateliers emploi"]),
    ("?sort=requested&order=asc", ["Ateliers emploi", "Sport pour toutes", "Théâtre logement"]),
    ("?sort=reference", ["Ateliers emploi", "Théâtre logement", "Sport pour toutes"]),
    ("?sort=title&order=desc", ["Théâtre logement", "Sport pour toutes", "Ateliers emploi"]),
    ("?domain=emploi", ["Ateliers emploi"]),
    ("?ground=sexe", ["Théâtre logement"]),
    ("?territory=Aubagne", ["Sport pour toutes"]),
    ("?state=submitted&q=asso+th", ["Théâtre logement"]),
    ("?q=AAP-2026-0001", ["Ateliers emploi"]),
    ("?state=eligible", []),
    # nonsense is ignored, never a 500
    ("?sort=drop+table&order=up&state=nope&domain=x&ground=y&envelope=z&page=abc",
     ["Sport pour toutes", "Théâtre logement", "Ateliers emploi"]),
    ("?q=" + "x" * 5000, []),
])
def test_filters_sort_and_search(client, world, listed, log_in, query, expected):
    log_in(world.users["instructor"])
    response = client.get(f"/instruction/appels/{world.call.id}{query}")
    assert response.status_code == 200
    assert rows(response.text) == expected
    assert "Brouillon caché" not in response.text


@pytest.mark.parametrize(("query", "expected"), [
    # 20 and (2·2 + 1) / 15 · 20 = 6.67, then the unscored one, either way
    ("?sort=score", ["Ateliers emploi", "Théâtre logement", "Sport pour toutes"]),
    ("?sort=score&order=asc", ["Théâtre logement", "Ateliers emploi", "Sport pour toutes"]),
])
def test_sort_by_score(client, world, listed, log_in, query, expected):
    from aap.services import reviews

    for title, (pertinence, faisabilite) in (("Ateliers emploi", (5, 5)),
                                             ("Théâtre logement", (2, 1))):
        app = listed[title]
        for trigger in ("declare_eligible", "open_review"):
            app = world.fire(app, trigger)
        reviews.save_review(world.users["juror"], app, {
            "scores": {"pertinence": pertinence, "faisabilite": faisabilite}, "submit": True})
    log_in(world.users["instructor"])
    response = client.get(f"/instruction/appels/{world.call.id}{query}")
    assert rows(response.text) == expected


def test_sorted_column_says_so(client, world, listed, log_in):
    log_in(world.users["instructor"])
    html = client.get(f"/instruction/appels/{world.call.id}?sort=requested&order=asc").text
    assert 'aria-sort="ascending"' in html
    assert "sort=requested&amp;order=desc" in html  # its header now reverses the order
    assert '<option value="emploi">' in html  # the filters keep their choices


def test_empty_filter_result_says_so(client, world, listed, log_in):
    log_in(world.users["instructor"])
    html = client.get(f"/instruction/appels/{world.call.id}?domain=sante").text
    assert "Aucun dossier ne correspond à ces critères." in html
    assert "Effacer les filtres" in html


def test_pagination_keeps_filters(client, world, log_in):
    org = factories.make_organisation([world.users["applicant"]])
    for i in range(27):
        world.bring_to(factories.make_application(world.call, org, title=f"Projet {i:02d}"),
                       "submitted")
    log_in(world.users["instructor"])
    first = client.get(f"/instruction/appels/{world.call.id}?domain=emploi&sort=reference").text
    assert len(rows(first)) == 25 and "Page 1 sur 2" in first
    assert "domain=emploi&amp;sort=reference&amp;page=2" in first
    second = client.get(
        f"/instruction/appels/{world.call.id}?domain=emploi&sort=reference&order=asc&page=2").text
    assert rows(second) == ["Projet 25", "Projet 26"]


def test_list_costs_the_same_queries_for_3_or_12_rows(client, world, log_in):
    made = iter(range(1000))

    def make(n):
        """Per row, an organisation of its own; besides the call's rows, as many in calls
        (and funds) of their own, for the list of every call."""
        for _ in range(n):
            i = next(made)
            own_call = factories.make_call(factories.make_fund(name=f"Fonds {i}"),
                                           title=f"Appel {i}")
            for call in (world.call, own_call):
                org = factories.make_organisation([world.users["applicant"]],
                                                  name=f"Asso {i} {call.id}")
                world.bring_to(factories.make_application(call, org, title=f"P{i}"),
                               "submitted")

    def cost(url):
        db.session.expire_all()
        with count_queries() as statements:
            response = client.get(url)
        assert response.status_code == 200
        return len(statements)

    log_in(world.users["instructor"])
    make(3)
    urls = [f"/instruction/appels/{world.call.id}",
            f"/instruction/appels/{world.call.id}?sort=score&domain=emploi&q=P",
            "/instruction/?state=submitted"]
    small = [cost(url) for url in urls]
    make(9)
    listed = [len(rows(client.get(url).text)) for url in urls]
    assert listed == [12, 12, 24]  # every row on one page
    assert [cost(url) for url in urls] == small


def _bulk(client, world, ids, trigger, **extra):
    token = any_token(client)
    data = {"csrf_token": token, "ids": [str(i) for i in ids], "trigger": trigger,
            "query": "sort=reference"}
    data.update(extra)
    response = client.post(f"/instruction/appels/{world.call.id}/actions", data=data)
    response.text_unescaped = html_lib.unescape(response.text)
    return response


def test_bulk_action_reports_each_failure(client, world, listed, log_in):
    eligible = listed["Sport pour toutes"]
    world.fire(eligible, "declare_eligible")
    other = factories.make_application(factories.make_call(world.fund, title="Autre"),
                                       world.org)
    # the call's own draft (the other call's application is a draft too: without the
    # call, PostgreSQL may return either, and the same id would be sent twice)
    draft = db.session.scalar(db.select(Application).where(
        Application.state == "draft", Application.call_id == world.call.id))
    log_in(world.users["instructor"])
    ids = [listed["Ateliers emploi"].id, listed["Théâtre logement"].id, eligible.id,
           other.id, draft.id, 999999]
    response = _bulk(client, world, ids, "declare_eligible")
    assert response.status_code == 200
    html = html_lib.unescape(response.text)
    assert "2 dossiers traités" in html and "4 refus" in html
    assert "Impossible dans l'état « Recevable »." in html
    assert html.count("Dossier introuvable dans cet appel.") == 3
    assert "?sort=reference" in html  # back to the list as it was
    db.session.rollback()  # a new snapshot: the requests committed in their own sessions
    states = {a.title: a.state for a in db.session.scalars(
        db.select(Application).where(Application.call_id == world.call.id)).unique()}
    assert states["Ateliers emploi"] == states["Théâtre logement"] == "eligible"


def test_bulk_ineligible_needs_a_motivation_per_file(client, world, listed, log_in):
    log_in(world.users["instructor"])
    ids = [a.id for a in listed.values()]
    html = _bulk(client, world, ids, "declare_ineligible").text_unescaped
    assert "3 refus" in html
    assert html.count("Un message (motivation) est obligatoire.") == 3
    html = _bulk(client, world, ids, "declare_ineligible",
                 comment="Hors du champ de l'appel.").text_unescaped
    assert "3 dossiers traités" in html


def test_bulk_completion_with_deadline_and_close_review_forced(client, world, listed, log_in):
    log_in(world.users["instructor"])
    app = listed["Ateliers emploi"]
    html = _bulk(client, world, [app.id], "request_completion", comment="Statuts ?",
                 deadline="2000-01-01").text_unescaped
    assert "L'échéance de réponse doit être dans le futur." in html
    html = _bulk(client, world, [app.id], "request_completion", comment="Statuts ?",
                 deadline="2099-01-31").text_unescaped
    assert "1 dossier traité" in html
    db.session.rollback()
    assert db.session.get(Application, app.id).completion_deadline.year == 2099

    other = listed["Théâtre logement"]
    for trigger in ("declare_eligible", "open_review"):
        world.fire(other, trigger)
    html = _bulk(client, world, [other.id], "close_review").text_unescaped
    assert "Évaluations manquantes" in html
    html = _bulk(client, world, [other.id], "close_review", force="y").text_unescaped
    assert "exige un motif" in html
    html = _bulk(client, world, [other.id], "close_review", force="y",
                 comment="Jury oral.").text_unescaped
    assert "1 dossier traité" in html


@pytest.mark.parametrize(("data", "message"), [
    ({"trigger": "declare_eligible"}, "Cochez au moins un dossier."),
    ({"ids": ["1"], "trigger": ""}, "Choisissez une action."),
    ({"ids": ["1"], "trigger": "grant"}, "Choisissez une action."),
    ({"ids": ["abc"], "trigger": "declare_eligible"}, "Dossiers sélectionnés"),
    ({"ids": ["1"], "trigger": "request_completion", "deadline": "31/02/2026"},
     "Échéance des compléments"),
])
def test_bulk_form_errors_keep_the_list(client, world, listed, log_in, data, message):
    log_in(world.users["instructor"])
    token = any_token(client)
    response = client.post(f"/instruction/appels/{world.call.id}/actions",
                           data={"csrf_token": token, "query": "domain=emploi", **data})
    assert response.status_code == 422
    assert message in html_lib.unescape(response.text)
    assert rows(response.text) == ["Ateliers emploi"]  # the filtered list is kept
