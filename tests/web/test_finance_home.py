"""The finance home, per fiscal year: each call's figures (budget, committed, paid, left
to pay, repaid, available), the payments due, the final reports overdue, the repayments
to collect, and the granted applications, each linking to its file. Figures by hand."""

from __future__ import annotations

import html as html_lib
import re
from datetime import date, timedelta

import pytest

from aap.extensions import db
from aap.services import repayments, workflow
from aap.services.calls import set_jury
from aap.timeutil import now, to_paris
from tests import factories
from tests.helpers import count_queries

E = 100
NBSP, NNBSP = "\xa0", "\u202f"


def eur(euros: int) -> str:
    """12 000 € as the French pages write it: 12 000,00 €."""
    return f"{euros:,}".replace(",", NNBSP) + f",00{NBSP}€"


def page(client, url: str = "/finances/") -> str:
    response = client.get(url)
    assert response.status_code == 200, response.text[:500]
    return html_lib.unescape(response.text)


def row(text: str, header: str) -> list[str]:
    """The cells of the table row whose first cell contains ``header``."""
    for match in re.finditer(r"<tr[^>]*>(.*?)</tr>", text, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip()
                 for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", match.group(1), re.S)]
        if cells and header in cells[0]:
            return cells
    raise AssertionError(f"no row {header!r}")


def section(text: str, title_id: str) -> str:
    start = text.index(f'id="{title_id}"')
    end = text.find("</section>", start)
    return text[start:end]


def _pay(world, app, euros: int, kind: str = "advance", on: str = "2026-11-02"):
    return workflow.record_payment(app, world.users["finance"], {
        "kind": kind, "amount_cents": euros * E, "paid_on": on})


@pytest.fixture
def year(world):
    """The call of the world (fiscal year 2026), budget 100 000 €, envelopes Nord
    60 000 € and Sud 40 000 €:

    - A (Nord): granted 12 000, convention 80/20 signed 20/10/2026, nothing paid:
      the 9 600 € advance is due since 20/10/2026;
    - B (Nord): granted 5 000 (no convention needed), 5 000 paid, the action ended on
      31/01/2025, no report: the report was due on 31/07/2025;
    - C (Sud): granted 8 000, 8 000 paid, report approved, 1 000 claimed back.

    Call: committed 25 000, paid 13 000, left to pay 12 000, repaid 1 000, available
    75 000. Nord: committed 17 000, paid 5 000, left 12 000, available 43 000. Sud:
    committed 8 000, paid 8 000, left 0, repaid 1 000, available 32 000."""
    call = factories.make_call(world.fund, title="Appel 2026", fiscal_year=2026,
                               budget_cents=100_000 * E,
                               envelopes=[("nord", "Nord", 60_000 * E),
                                          ("sud", "Sud", 40_000 * E)])
    set_jury(call, [world.users["juror"].id])
    nord, sud = call.envelope("nord").id, call.envelope("sud").id

    def granted(euros, envelope, **fields):
        app = factories.make_application(call, world.org, requested_cents=euros * E,
                                         envelope_id=envelope, **fields)
        return world.bring_to(app, "granted")

    a = world.fire(granted(12_000, nord), "sign_convention", {"convention": {
        "reference": "CONV-A", "signed_on": "2026-10-20",
        "schedule": [{"kind": "advance", "share": "0.8"}, {"kind": "balance", "share": "0.2"}]}})
    b = _pay(world, granted(5_000, nord, starts_on=date(2024, 9, 1), ends_on=date(2025, 1, 31)),
             5_000)
    c = _pay(world, granted(8_000, sud), 8_000)
    c = world.fire(world.fire(c, "submit_report"), "approve_report")
    repayments.claim(c, world.users["finance"], {
        "amount_cents": 1_000 * E, "reason": "Atelier annulé.", "reference": "TR-26-7",
        "claimed_on": "2026-11-20"})
    other = factories.make_call(world.fund, title="Appel 2025", fiscal_year=2025,
                                budget_cents=50_000 * E)
    db.session.rollback()
    return {"call": call, "a": a, "b": b, "c": c, "other": other}


def test_the_figures_of_each_call_and_envelope(client, log_in, world, year):
    log_in(world.users["finance"])
    text = page(client, "/finances/?exercice=2026")
    budget = section(text, "budget-title")
    # budget, committed, paid, left to pay, repaid, available
    assert row(budget, "Appel 2026")[1:] == [eur(100_000), eur(25_000), eur(13_000),
                                             eur(12_000), eur(1_000), eur(75_000)]
    assert row(budget, "Nord")[1:] == [eur(60_000), eur(17_000), eur(5_000), eur(12_000),
                                       eur(0), eur(43_000)]
    assert row(budget, "Sud")[1:] == [eur(40_000), eur(8_000), eur(8_000), eur(0),
                                      eur(1_000), eur(32_000)]
    assert "Appel 2025" not in budget  # another fiscal year
    # the world's own call is of 2026 too, with nothing granted: the year's total
    assert row(budget, "Total de l'exercice")[1:] == [
        eur(200_000), eur(25_000), eur(13_000), eur(12_000), eur(1_000), eur(175_000)]


def test_the_year_selector(client, log_in, world, year):
    log_in(world.users["finance"])
    text = page(client, "/finances/?exercice=2025")
    assert row(section(text, "budget-title"), "Appel 2025")[1:] == [
        eur(50_000), eur(0), eur(0), eur(0), eur(0), eur(50_000)]
    assert "Appel 2026" not in text
    assert '<option value="2025" selected>' in text and '<option value="2026">' in text
    assert "Aucune subvention accordée." in text  # the list follows the year
    for bad in ("abc", "1999", "2026x", "-1", "9" * 40):  # never a 500, a year shown
        assert "Consommation des budgets" in page(client, f"/finances/?exercice={bad}")


def test_the_default_year_is_the_current_one(client, log_in, world):
    this_year = to_paris(now()).year
    factories.make_call(world.fund, title="Appel de l'an dernier", fiscal_year=this_year - 1)
    factories.make_call(world.fund, title="Appel de cette année", fiscal_year=this_year)
    log_in(world.users["finance"])
    budget = section(page(client), "budget-title")
    assert "Appel de cette année" in budget and "Appel de l'an dernier" not in budget


def test_the_worklists(client, log_in, world, year):
    log_in(world.users["finance"])
    text = page(client, "/finances/?exercice=2026")
    a, b, c = (db.session.get(type(year["a"]), year[k].id) for k in "abc")
    due = section(text, "due-title")
    assert row(due, a.reference) == [a.reference, world.org.name, "Avance", "20/10/2026",
                                     eur(9_600)]
    assert f'href="/dossiers/{a.id}"' in due
    assert b.reference not in due and c.reference not in due  # paid in full
    reports = section(text, "reports-title")
    late = (to_paris(now()).date() - date(2025, 7, 31)).days
    assert row(reports, b.reference) == [b.reference, world.org.name, "31/01/2025",
                                         "31/07/2025", str(late)]
    assert a.reference not in reports
    outstanding = section(text, "repayments-title")
    assert row(outstanding, c.reference) == [c.reference, world.org.name, "TR-26-7",
                                             "20/11/2026", eur(1_000)]
    grants = section(text, "grants-title")
    # granted, paid, repaid, left to pay
    assert row(grants, c.reference)[3:] == [eur(8_000), eur(8_000), eur(1_000), eur(0)]
    assert row(grants, a.reference)[3:] == [eur(12_000), eur(0), eur(0), eur(12_000)]


def test_a_received_repayment_leaves_the_list_and_a_report_on_time_is_not_late(
        client, log_in, world, year):
    c = year["c"]
    repayments.mark_received(db.session.get(type(c), c.id).repayments[0],
                             world.users["finance"], "2026-11-25")
    soon = to_paris(now()).date() - timedelta(days=30)  # ended a month ago: not late yet
    late_free = factories.make_application(
        year["call"], world.org, requested_cents=2_000 * E, starts_on=soon - timedelta(days=90),
        ends_on=soon, envelope_id=year["call"].envelope("nord").id)
    _pay(world, world.bring_to(late_free, "granted"), 2_000)
    db.session.rollback()
    log_in(world.users["finance"])
    text = page(client, "/finances/?exercice=2026")
    assert "Aucun reversement en attente." in section(text, "repayments-title")
    assert db.session.get(type(c), late_free.id).reference not in section(text,
                                                                          "reports-title")


def test_the_tables_are_accessible(client, log_in, world, year):
    log_in(world.users["finance"])
    text = page(client, "/finances/?exercice=2026")
    tables = re.findall(r"<table.*?</table>", text, re.S)
    assert len(tables) == 5
    for table in tables:
        assert "<caption" in table and 'scope="col"' in table
    assert '<label class="label" for="exercice">' in text


def test_the_page_costs_the_same_queries_whatever_the_number_of_grants(client, log_in,
                                                                        world, year):
    log_in(world.users["finance"])

    def queries() -> int:
        db.session.expire_all()
        with count_queries() as statements:
            page(client, "/finances/?exercice=2026")
        return len(statements)

    few = queries()
    for i in range(4):
        app = factories.make_application(year["call"], factories.make_organisation(
            [world.users["applicant"]], name=f"Asso {i}"), requested_cents=1_000 * E,
            envelope_id=year["call"].envelope("sud").id)
        app = _pay(world, world.bring_to(app, "granted"), 500)
        repayments.claim(world.fire(app, "cancel"), world.users["finance"], {
            "amount_cents": 500 * E, "reason": "Annulé."})
    assert queries() == few


def test_only_finance_sees_it(client, log_in, world):
    log_in(world.users["instructor"])
    assert client.get("/finances/").status_code == 403
