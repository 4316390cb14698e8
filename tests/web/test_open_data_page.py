"""The public open-data page (/donnees-ouvertes) and its SCDL download: no login; only
grants whose deliberation is taken (dated today or before, Paris time); never a draft,
an application under instruction, proposed, refused or withdrawn, nor a deliberation
dated in the future; nothing personal beyond what the SCDL file publishes; paginated."""

from __future__ import annotations

import csv
import html as html_lib
import io
import re
from datetime import timedelta

import pytest

from aap.services import open_data
from aap.timeutil import now, to_paris
from tests import factories
from tests.helpers import count_queries
from tests.services.test_scdl_export import HEADER, frictionless_errors

PAGE, CSV = "/donnees-ouvertes", "/donnees-ouvertes/subventions.csv"
OWNER = "Métropole Aix-Marseille-Provence"  # the attribuant: the platform fund's owner
NBSP, NNBSP = "\xa0", "\u202f"


def today():
    return to_paris(now()).date()


def grant(world, org=None, *, euros: int = 5_000, title: str = "Projet financé",
          days_ago: int = 10, territories=("Marseille — QPV Frais Vallon",)):
    """An application granted ``euros`` by a deliberation taken ``days_ago`` days ago
    (negative: in the future)."""
    app = factories.make_application(world.call, org or world.org, requested_cents=euros * 100,
                                     title=title, territories=list(territories))
    for trigger in ("submit", "declare_eligible", "open_review", "close_review", "propose"):
        app = world.fire(app, trigger)
    decided = today() - timedelta(days=days_ago)
    return world.fire(app, "grant", {"amount_cents": euros * 100, "decision": {
        "body": "Bureau de la Métropole", "reference": f"DEL-{decided.isoformat()}",
        "date": decided.isoformat()}})


def text(response) -> str:
    assert response.status_code == 200, response.text[:300]
    return html_lib.unescape(response.text)


def rows(page: str) -> list[list[str]]:
    """The cells of the body rows of the projects table."""
    body = page[page.index('id="projects-title"'):]
    body = body[body.index("<tbody>"):body.index("</tbody>")]
    return [[re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", c)).strip()
             for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


@pytest.fixture
def published(world):
    """Two published grants, and everything that must stay unpublished."""
    other = factories.make_organisation([world.users["applicant"]],
                                        name="Compagnie Théâtre & Cité")
    first = grant(world, euros=12_500, title="Ateliers d'écriture", days_ago=20)
    second = grant(world, other, euros=7_000, title="Théâtre forum", days_ago=5,
                   territories=("Aubagne", "La Ciotat"))
    hidden = {
        "draft": world.application(title="Secret brouillon"),
        "submitted": world.bring_to(world.application(title="Secret déposé"), "submitted"),
        "reviewed": world.bring_to(world.application(title="Secret évalué"), "reviewed"),
        "proposed": world.bring_to(world.application(title="Secret proposé"), "proposed"),
        "rejected": world.bring_to(world.application(title="Secret refusé"), "rejected"),
        "withdrawn": world.bring_to(world.application(title="Secret retiré"), "withdrawn"),
        "future": grant(world, title="Secret délibération à venir", days_ago=-3),
    }
    return first, second, hidden


def test_anyone_reads_the_funded_projects_without_logging_in(client, world, published):
    page = text(client.get(PAGE))
    d5, d20 = (today() - timedelta(days=n) for n in (5, 20))
    assert rows(page) == [
        ["Compagnie Théâtre & Cité", f"Théâtre forum {world.call.title}", OWNER,
         "Aubagne, La Ciotat", f"7{NNBSP}000,00{NBSP}€", d5.strftime("%d/%m/%Y")],
        [world.org.name, f"Ateliers d'écriture {world.call.title}", OWNER,
         "Marseille — QPV Frais Vallon", f"12{NNBSP}500,00{NBSP}€",
         d20.strftime("%d/%m/%Y")],
    ]
    assert "<caption" in page and 'scope="col"' in page and 'scope="row"' in page
    assert f"19{NNBSP}500,00{NBSP}€" in page  # the total granted, by hand


def test_no_draft_pending_refused_withdrawn_or_future_decision_leaks(client, world,
                                                                      published):
    page = text(client.get(PAGE))
    data = client.get(CSV).data.decode()
    for leak in ("Secret", world.org.iban, world.org.legal_representative,
                 world.org.address, "@"):
        assert leak not in page
        assert leak not in data


def test_the_download_is_the_valid_scdl_file_of_the_same_grants(client, world, published):
    response = client.get(CSV)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="subventions.csv"'
    assert response.data.decode().splitlines()[0] == HEADER
    assert frictionless_errors(response.data) == []
    got = sorted((r["nomBeneficiaire"], r["objet"], r["montant"]) for r in
                 csv_rows(response.data))
    assert got == sorted([("Compagnie Théâtre & Cité", "Théâtre forum", "7000.00"),
                          (world.org.name, "Ateliers d'écriture", "12500.00")])


def test_the_page_links_the_download_and_the_footer_links_the_page(client, db):
    page = text(client.get(PAGE))
    assert f'href="{CSV}"' in page
    assert f'href="{PAGE}"' in text(client.get("/"))


def test_an_empty_page_and_an_empty_file(client, world):
    page = text(client.get(PAGE))
    assert "Aucune subvention n'a encore été attribuée." in page
    assert client.get(CSV).data.decode().splitlines() == [HEADER]


def test_the_list_is_paginated(client, world, monkeypatch):
    monkeypatch.setattr(open_data, "PER_PAGE", 2)
    for n in range(3):
        grant(world, title=f"Projet {n}", days_ago=10 + n)  # Projet 0 is the latest
    first = text(client.get(PAGE))
    assert [r[1].split(" Appel")[0] for r in rows(first)] == ["Projet 0", "Projet 1"]
    assert "Page 1 sur 2" in first and 'href="/donnees-ouvertes?page=2"' in first
    second = text(client.get(PAGE, query_string={"page": 2}))
    assert [r[1].split(" Appel")[0] for r in rows(second)] == ["Projet 2"]
    beyond = text(client.get(PAGE, query_string={"page": 99}))
    assert rows(beyond) == rows(second)  # a page past the end shows the last one
    assert len(csv_rows(client.get(CSV).data)) == 3  # the file is never paginated


def test_the_page_costs_the_same_queries_for_one_or_many_grants(client, world):
    grant(world)
    with count_queries() as one:
        text(client.get(PAGE))
    for n in range(4):
        grant(world, factories.make_organisation([world.users["applicant"]]),
              title=f"Projet {n}")
    with count_queries() as five:
        assert len(rows(text(client.get(PAGE)))) == 5
    assert len(five) == len(one)
