"""The public pages name who runs each call (SPEC 2, 3): the open calls of the home page
and of the applicant's home show the authority of the call's fund, or the fund's owner for
a platform-wide fund; the open-data page names the attribuant of each grant. Lists cost
no query per call."""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta

import pytest

from aap.services.calls import set_jury
from aap.timeutil import now, to_paris
from tests import factories
from tests.helpers import count_queries


@pytest.fixture
def calls(world):
    """An open call of the métropole, one of a commune below it, and the world's
    platform-wide call (its fund's owner: « Métropole Aix-Marseille-Provence »)."""
    metropole = factories.make_authority("Métropole Européenne de Lille", "metropole")
    commune = factories.make_authority("Commune de Roubaix", "commune", metropole)
    out = {"platform": world.call}
    for key, authority in (("metropole", metropole), ("commune", commune)):
        fund = factories.make_fund(authority_id=authority.id, owner_name="Nom du dispositif")
        out[key] = factories.make_call(fund, title=f"AAP de {authority.name}")
        set_jury(out[key], [world.users["juror"].id])
    return out


def cards(page: str) -> dict[str, str]:
    """Per call card: its title and the meta line under it, as read aloud."""
    found = re.findall(r'<h3 class="card-title">(.*?)</h3>\s*<p class="meta">(.*?)</p>',
                       page, re.S)
    return {html_lib.unescape(title): html_lib.unescape(re.sub(r"<[^>]+>", "", meta)).strip()
            for title, meta in found}


EXPECTED = {
    "AAP de Métropole Européenne de Lille": "Collectivité : Métropole Européenne de Lille",
    "AAP de Commune de Roubaix": "Collectivité : Commune de Roubaix",
}


def test_the_home_page_names_each_call_s_authority(client, world, calls):
    page = client.get("/").text
    found = cards(page)
    assert {k: found[k] for k in EXPECTED} == EXPECTED
    assert found[world.call.title] == "Collectivité : Métropole Aix-Marseille-Provence"
    assert "Nom du dispositif" not in page


def test_the_applicant_home_names_each_call_s_authority(world, calls, log_in):
    page = log_in(world.users["applicant"]).get("/porteur/").text
    found = cards(page)
    assert {k: found[k] for k in EXPECTED} == EXPECTED
    assert found[world.call.title] == "Collectivité : Métropole Aix-Marseille-Provence"


def test_the_home_page_costs_no_query_per_call(client, world, calls):
    client.get("/")
    with count_queries() as few:
        client.get("/")
    more = factories.make_authority("Commune de Tourcoing", "commune")
    for n in range(4):
        fund = factories.make_fund(authority_id=more.id)
        factories.make_call(fund, title=f"AAP n°{n}")
    with count_queries() as many:
        assert "AAP n°3" in client.get("/").text
    assert len(many) == len(few)


def test_the_open_data_page_names_the_attribuant(client, world, calls):
    decided = to_paris(now()).date() - timedelta(days=3)
    for key in ("commune", "platform"):
        app = factories.make_application(calls[key], world.org, title=f"Projet {key}")
        app = world.bring_to(app, "proposed")
        world.fire(app, "grant", {"amount_cents": app.requested_cents, "decision": {
            "body": "Conseil", "reference": f"DEL-{key}", "date": decided.isoformat()}})
    page = html_lib.unescape(client.get("/donnees-ouvertes").text)
    body = page[page.index("<tbody>"):page.index("</tbody>")]
    rows = [[re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c)).strip()
             for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]
    assert sorted((r[1].split(" AAP")[0].split(" Appel")[0], r[2]) for r in rows) == [
        ("Projet commune", "Commune de Roubaix"),
        ("Projet platform", "Métropole Aix-Marseille-Provence")]
    assert ">Attribuant<" in page
