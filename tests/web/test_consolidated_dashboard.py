"""The consolidated dashboard of a parent authority (SPEC 2, 6): its own calls and each
child's side by side, the plan's indicators per line and in all, what the user reads only;
linked from the year's dashboard; its export button gives the authority's workbook.
Hand figures: the tree of ``tests/services/test_consolidation.py``."""

from __future__ import annotations

import html as html_lib
import io
import re

import pytest
from openpyxl import load_workbook

from aap.extensions import db
from tests import factories
from tests.helpers import count_queries
from tests.job_kinds import join_export_threads, wait_for_job
from tests.services.test_consolidation import authority_call, build_tree
from tests.web.conftest import csrf_token

NBSP, NNBSP = "\xa0", "\u202f"


def eur(euros: int) -> str:
    """An amount as the pages write it (French: narrow spaces, two decimals)."""
    return f"{euros:,}".replace(",", NNBSP) + f",00{NBSP}€"


@pytest.fixture
def tree(world, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_DIR", str(tmp_path / "exports"))
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    yield build_tree(world)
    join_export_threads()


def url(authority_id: int, year: int = 2026) -> str:
    return f"/tableaux-de-bord/collectivites/{authority_id}?exercice={year}"


def table(page: str, caption_id: str) -> list[list[str]]:
    """The body rows of the table whose caption has this id, as text."""
    start = page.index(f'id="{caption_id}"')
    body = page[page.index("<tbody>", start):page.index("</tbody>", start)]
    return [[re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", cell)).strip()
             for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def test_the_metropole_and_its_children_side_by_side(tree, log_in):
    client = log_in(factories.make_user(["finance"], authority=tree.metropole))
    page = html_lib.unescape(client.get(url(tree.metropole.id)).text)
    # (line, calls, submitted, funded, budget, granted, paid, available), by hand
    assert table(page, "lines-caption") == [
        ["Métropole Aix-Marseille-Provence (appels propres)", "1", "1", "1",
         eur(100_000), eur(5_000), eur(4_000), eur(95_000)],
        ["Commune de Vitrolles", "1", "1", "1", eur(20_000), eur(3_000), eur(1_000),
         eur(19_000)],
        ["Conseil de territoire Istres Ouest Provence", "2", "2", "2", eur(50_000),
         eur(12_000), eur(2_000), eur(38_000)],
        ["Conseil de territoire Marseille Provence", "1", "0", "0", eur(30_000), eur(0),
         eur(0), eur(30_000)],
        ["Total consolidé", "5", "4", "4", eur(200_000), eur(20_000), eur(7_000),
         eur(182_000)],
    ]
    indicators = table(page, "indicators-caption")
    # submitted, eligible, funded, requested (= granted here), granted, paid
    assert [row[:7] for row in indicators] == [
        ["Métropole Aix-Marseille-Provence (appels propres)", "1", "1", "1", eur(5_000),
         eur(5_000), eur(4_000)],
        ["Commune de Vitrolles", "1", "1", "1", eur(3_000), eur(3_000), eur(1_000)],
        ["Conseil de territoire Istres Ouest Provence", "2", "2", "2", eur(12_000),
         eur(12_000), eur(2_000)],
        ["Conseil de territoire Marseille Provence", "0", "0", "0", eur(0), eur(0), eur(0)],
        ["Ensemble", "4", "4", "4", eur(20_000), eur(20_000), eur(7_000)],
    ]
    assert 'role="img"' in page and "<title id=\"lines-chart-title\">" in page
    assert "Métropole Européenne de Lille" not in page  # another métropole
    assert "AAP 2026 — Commune d'Istres" in page  # a grandchild's call is listed


def test_a_child_with_children_links_to_its_own_consolidation(tree, log_in):
    client = log_in(factories.make_user(["instructor"], authority=tree.metropole))
    page = client.get(url(tree.metropole.id)).text
    assert f'href="/tableaux-de-bord/collectivites/{tree.istres_council.id}?exercice=2026"' \
        in page
    assert f"/tableaux-de-bord/collectivites/{tree.vitrolles.id}" not in page
    council = html_lib.unescape(client.get(url(tree.istres_council.id)).text)
    assert [row[0] for row in table(council, "lines-caption")] == [
        "Conseil de territoire Istres Ouest Provence (appels propres)", "Commune d'Istres",
        "Total consolidé"]


@pytest.mark.parametrize(("roles", "held_in", "target", "status"), [
    (["finance"], "metropole", "istres_council", 200),
    (["instructor"], "istres_council", "istres_council", 200),
    (["instructor"], "istres_council", "metropole", 404),  # a parent
    (["finance"], "lille", "metropole", 404),  # another métropole
    (["finance"], "metropole", "lille", 404),
    (["finance"], None, "lille", 200),  # platform-wide
    (["juror"], "metropole", "metropole", 403),  # no dashboard role
    (["applicant"], None, "metropole", 403),
])
def test_who_sees_it(tree, log_in, roles, held_in, target, status):
    user = factories.make_user(roles, authority=getattr(tree, held_in) if held_in else None)
    response = log_in(user).get(url(getattr(tree, target).id))
    assert response.status_code == status


def test_linked_from_the_year_dashboard(tree, log_in):
    client = log_in(factories.make_user(["finance"], authority=tree.metropole))
    page = html_lib.unescape(client.get("/tableaux-de-bord/?exercice=2026").text)
    links = re.findall(r'href="/tableaux-de-bord/collectivites/(\d+)\?exercice=2026">(.*?)</a>',
                       page)
    assert links == [
        (str(tree.istres_council.id),
         "Conseil de territoire Istres Ouest Provence et ses collectivités rattachées"),
        (str(tree.metropole.id),
         "Métropole Aix-Marseille-Provence et ses collectivités rattachées")]


def test_a_leaf_authority_is_offered_no_consolidation(tree, log_in):
    client = log_in(factories.make_user(["finance"], authority=tree.vitrolles))
    page = client.get("/tableaux-de-bord/?exercice=2026").text
    assert "/tableaux-de-bord/collectivites/" not in page


def test_constant_queries_whatever_the_number_of_children(world, tree, log_in):
    client = log_in(factories.make_user(["finance"], authority=tree.metropole))
    target = url(tree.metropole.id)
    client.get(target)
    with count_queries() as few:
        client.get(target)
    db.session.rollback()
    for n in range(4):
        child = factories.make_authority(f"Commune n°{n}", "commune", tree.metropole)
        authority_call(world, child, 1_000)
    with count_queries() as many:
        page = client.get(target).text
    assert "Commune n°3" in page
    assert len(many) == len(few)


def test_the_export_button_gives_the_consolidated_workbook(tree, log_in):
    client = log_in(factories.make_user(["finance"], authority=tree.metropole))
    page = client.get(url(tree.istres_council.id)).text
    form = re.search(r'<form method="post" action="/exports/"[^>]*>(.*?)</form>', page, re.S)
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"',
                             form.group(1)))
    assert fields == {"csrf_token": csrf_token(page), "kind": "balance_year",
                      "fiscal_year": "2026", "authority_id": str(tree.istres_council.id)}
    response = client.post("/exports/", data=fields)
    assert response.status_code == 303
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    job = wait_for_job(job_id)
    assert job.status == "done", job.error
    assert job.parameters == {"fiscal_year": 2026, "authority_id": tree.istres_council.id}
    data = client.get(f"/exports/{job_id}/fichier").data
    sheet = load_workbook(io.BytesIO(data), data_only=True)["Attributions"]
    references = {row[1] for row in sheet.iter_rows(min_row=2, values_only=True)
                  if row[0] not in (None, "Total")}
    assert references == {tree.grants["istres_council"].reference,
                          tree.grants["istres"].reference}
    listing = html_lib.unescape(client.get("/exports/").text)
    assert ("Bilan de l'exercice 2026 — Conseil de territoire Istres Ouest Provence et ses "
            "collectivités rattachées") in listing
