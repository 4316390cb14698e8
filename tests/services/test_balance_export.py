"""The balance-sheet workbook (SPEC 6), read back with openpyxl, against a hand computation.

A call of 2026 with 100 000 € in two envelopes, Nord 60 000 € and Sud 40 000 €, scored by
one juror on the default grid (pertinence ×2, faisabilité ×1, each out of 5; scale 20):

====  =====  ===========  ==========================================================
app   env.   requested    what happens
====  =====  ===========  ==========================================================
A     Nord   20 000,55    scored 5/5 (20), granted in full, convention CONV-A,
                          16 000,44 paid (M-A1): 4 000,11 left to pay
B     Sud    10 000,33    scored 3/3 (12), granted, paid 8 000,11 (M-B1) + 2 000,22
                          (M-B2), report under-spent (charges 12 000 of 15 000,33),
                          closed with 1 500,07 claimed back (TR-2026-001)
C     Nord    5 000,01    scored 4/2 (13,333), proposed 5 000,01 (Istres)
D     Sud     7 000,09    submitted
E     Sud     3 000,00    draft (never in the workbook)
====  =====  ===========  ==========================================================

Ranks: A 1, C 2, B 3 (by score); D has none.
Call: requested 42 000,98; proposed 5 000,01; granted 30 000,88; paid 26 000,77; left to
pay 4 000,11; repaid 1 500,07; committed 20 000,55 + (10 000,33 − 1 500,07) = 28 500,81;
available 100 000 − 28 500,81 = 71 499,19.
Nord: proposed 5 000,01, granted 20 000,55, paid 16 000,44, left 4 000,11, available
39 999,45. Sud: granted 10 000,33, paid 10 000,33, repaid 1 500,07, available
40 000 − 8 500,26 = 31 499,74.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from aap.extensions import db
from aap.models import Application, Call
from aap.services import allocation, money, reviews, workflow
from aap.services.calls import set_jury
from aap.services.exports import balance
from tests.factories import make_application, make_call, make_organisation, path_to
from tests.helpers import count_queries

SHEETS = ["Synthèse", "Attributions", "Par territoire", "Par domaine", "Par motif",
          "Versements", "Comptes rendus"]


def _cents(value) -> int:
    """A euro amount read back from the workbook, in cents (exact to the cent)."""
    cents = round(value * 100)
    assert abs(value * 100 - cents) < 1e-6, value
    return cents


def _advance(world, app: Application, target: str, data: dict | None = None) -> Application:
    for trigger in path_to(target, start=app.state):
        app = world.fire(app, trigger, (data or {}).get(trigger))
    assert app.state == target
    return app


def _score(world, app: Application, pertinence: int, faisabilite: int) -> None:
    reviews.save_review(world.users["juror"], app, {
        "scores": {"pertinence": pertinence, "faisabilite": faisabilite}, "submit": True})


def _pay(world, app: Application, cents: int, kind: str, on: str, mandate: str):
    return workflow.record_payment(app, world.users["finance"], {
        "kind": kind, "amount_cents": cents, "paid_on": on, "mandate": mandate})


@pytest.fixture
def year(world):
    """The call of the module's table, and a call of 2025 that a 2026 export leaves out."""
    call = make_call(world.fund, title="AAP 2026 égalité",
                     envelopes=[("nord", "Nord", 60_000_00), ("sud", "Sud", 40_000_00)])
    set_jury(call, [world.users["juror"].id])
    org = make_organisation([world.users["applicant"]], name="Maison des Droits",
                            siret="73282932000074", rna="W133000111")
    nord, sud = call.envelope("nord").id, call.envelope("sud").id
    a = make_application(call, org, requested_cents=20_000_55, envelope_id=nord,
                         domains=["emploi", "logement"], territories=["Marseille", "Aubagne"])
    b = make_application(call, world.org, requested_cents=10_000_33, envelope_id=sud,
                         domains=["sante"], grounds=["sexe"], territories=["Marseille"])
    c = make_application(call, world.org, requested_cents=5_000_01, envelope_id=nord,
                         domains=["education", "emploi"], territories=["Istres"])
    d = make_application(call, world.org, requested_cents=7_000_09, envelope_id=sud,
                         territories=["Aubagne"])
    e = make_application(call, world.org, requested_cents=3_000_00, envelope_id=sud)
    for app in (a, b, c, d):
        world.fire(app, "submit")
    for app, (p, f) in ((a, (5, 5)), (b, (3, 3)), (c, (4, 2))):
        _advance(world, app, "in_review")
        _score(world, app, p, f)
    a = _advance(world, a, "granted")
    a = world.fire(a, "sign_convention", {"convention": {
        "reference": "CONV-A", "signed_on": "2026-10-20",
        "schedule": [{"kind": "advance", "share": "0.8"}, {"kind": "balance", "share": "0.2"}]}})
    a = _pay(world, a, 16_000_44, "advance", "2026-11-02", "M-A1")
    b = _advance(world, b, "granted")
    b = _pay(world, b, 8_000_11, "advance", "2026-11-03", "M-B1")
    b = _pay(world, b, 2_000_22, "balance", "2026-12-01", "M-B2")
    b = world.fire(b, "submit_report", {
        "realised": {"charges": {"62": 3_000_00, "64": 9_000_00},
                     "products": {"74_epci": 10_000_33, "74_state": 1_999_67}},
        "beneficiaries_reached": 40, "narrative": "Huit ateliers sur dix.",
        "gap_explanation": "Deux ateliers annulés."})
    b = world.fire(b, "approve_report")
    b = world.fire(b, "close", {"repayment": {
        "amount_cents": 1_500_07, "reference": "TR-2026-001", "claimed_on": "2027-01-15",
        "reason": "Ateliers non tenus."}})
    c = _advance(world, c, "proposed")
    old = make_call(world.fund, title="AAP 2025", fiscal_year=2025)
    set_jury(old, [world.users["juror"].id])
    f = _advance(world, make_application(old, world.org, requested_cents=9_000_00), "granted")
    db.session.expire_all()
    return {"call": db.session.get(Call, call.id), "old": db.session.get(Call, old.id),
            "apps": {k: db.session.get(Application, v.id)
                     for k, v in dict(a=a, b=b, c=c, d=d, e=e, f=f).items()}}


def _book(calls, data_only: bool = True):
    return load_workbook(io.BytesIO(balance.build_balance(calls)), data_only=data_only)


def _rows(sheet, header_row: int = 1) -> list[dict]:
    """The data rows as dicts (header → value), up to the totals line or an empty line."""
    rows = sheet.iter_rows(min_row=header_row, values_only=True)
    headers = next(rows)
    out = []
    for row in rows:
        if row[0] in (None, "Total"):
            break
        out.append(dict(zip(headers, row, strict=True)))
    return out


def _by(rows: list[dict], key: str) -> dict:
    return {row[key]: row for row in rows}


def test_every_sheet_has_its_name_a_frozen_header_a_filter_and_fitted_widths(year):
    book = _book([year["call"]])
    assert book.sheetnames == SHEETS
    for name in SHEETS:
        sheet = book[name]
        header = 2 if name.startswith("Par ") else 1
        assert sheet.freeze_panes == f"A{header + 1}", name
        assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith(f"A{header}:"), name
    attributions = book["Attributions"]
    assert attributions.auto_filter.ref == "A1:Y5"  # four applications, no totals line
    headers = [c.value for c in attributions[1]]
    assert "Montant accordé (€)" in headers
    for wanted in ("Organisation", "SIRET", "RNA", "Intitulé du projet", "Territoires",
                   "Domaines", "Score", "Rang", "Montant demandé (€)", "Versé (€)",
                   "Reste à verser (€)", "Délibération", "Date de décision", "Convention",
                   "Imputation budgétaire"):
        assert wanted in headers, wanted
    organisation = headers.index("Organisation") + 1
    letter = attributions.cell(1, organisation).column_letter
    assert attributions.column_dimensions[letter].width >= len("Maison des Droits")
    for name in ("Synthèse", "Par territoire", "Par domaine"):
        assert book[name]._charts, f"{name}: a native chart"


def test_amounts_are_euros_with_a_euro_format(year):
    book = _book([year["call"]])
    sheet = book["Attributions"]
    headers = [c.value for c in sheet[1]]
    granted = sheet.cell(2, headers.index("Montant accordé (€)") + 1)
    assert isinstance(granted.value, int | float)
    assert "€" in granted.number_format and "0.00" in granted.number_format
    decided = sheet.cell(2, headers.index("Date de décision") + 1)
    assert decided.is_date and decided.value.date() == date(2026, 10, 12)


def test_attributions_one_row_per_submitted_application_with_score_and_rank(year):
    apps = year["apps"]
    rows = _by(_rows(_book([year["call"]])["Attributions"]), "Référence")
    assert apps["e"].reference is None  # the draft has no reference and no row
    assert set(rows) == {apps[k].reference for k in "abcd"}
    a = rows[apps["a"].reference]
    assert (a["Organisation"], a["SIRET"], a["RNA"]) == (
        "Maison des Droits", "73282932000074", "W133000111")
    assert a["Territoires"] == "Marseille, Aubagne"
    assert a["Domaines"] == "Emploi, Logement"
    assert a["Enveloppe"] == "Nord" and a["État"] == "En cours (versement effectué)"
    assert (a["Score"], a["Rang"]) == (20, 1)
    assert [_cents(a[h]) for h in ("Montant demandé (€)", "Montant accordé (€)", "Versé (€)",
                                   "Reste à verser (€)", "Reversé (€)")] == [
        20_000_55, 20_000_55, 16_000_44, 4_000_11, 0]
    assert (a["Délibération"], a["Convention"]) == ("DEL-2026-117", "CONV-A")
    assert a["Convention signée le"] == datetime(2026, 10, 20)
    assert a["Imputation budgétaire"] == "65 / 65748 / 552 / D110"
    c = rows[apps["c"].reference]
    assert c["Score"] == pytest.approx(13.333) and c["Rang"] == 2
    assert _cents(c["Montant proposé (€)"]) == 5_000_01
    assert (c[balance.GRANTED], c["Versé (€)"], c["Reste à verser (€)"]) == (None, None, None)
    b = rows[apps["b"].reference]
    assert (b["Score"], b["Rang"]) == (12, 3)
    assert _cents(b["Reste à verser (€)"]) == 0 and _cents(b["Reversé (€)"]) == 1_500_07
    d = rows[apps["d"].reference]
    assert (d["Score"], d["Rang"], d["Délibération"]) == (None, None, None)
    assert (d["Montant proposé (€)"], d[balance.GRANTED]) == (None, None)


def test_ranks_are_the_one_ranking_ties_included(world):
    """Equal scores are ordered by the replayable draw, as the ranking page orders them."""
    apps = [world.bring_to(world.application(), "in_review") for _ in range(4)]
    for app, (p, f) in zip(apps, [(3, 3), (4, 2), (3, 3), (5, 5)], strict=True):
        _score(world, app, p, f)
    rows = _by(_rows(_book([world.call])["Attributions"]), "Référence")
    ranks = allocation.ranking(world.call, [a.id for a in apps])
    assert {a.reference: rows[a.reference]["Rang"] for a in apps} == {
        a.reference: ranks[a.id] for a in apps}
    assert rows[apps[3].reference]["Rang"] == 1 and rows[apps[1].reference]["Rang"] == 2
    assert {rows[apps[0].reference]["Rang"], rows[apps[2].reference]["Rang"]} == {3, 4}


def test_attributions_totals_reconcile_to_the_cent(year):
    sheet = _book([year["call"]])["Attributions"]
    headers = [c.value for c in sheet[1]]
    total = dict(zip(headers, next(sheet.iter_rows(min_row=6, max_row=6, values_only=True)),
                     strict=True))
    assert total["Appel"] == "Total"
    by_hand = {"Montant demandé (€)": 42_000_98, "Montant proposé (€)": 5_000_01,
               "Montant accordé (€)": 30_000_88, "Versé (€)": 26_000_77,
               "Reste à verser (€)": 4_000_11, "Reversé (€)": 1_500_07}
    assert {h: _cents(total[h]) for h in by_hand} == by_hand
    figures = money.for_call(year["call"])
    assert _cents(total["Montant accordé (€)"]) == figures.granted_cents
    assert _cents(total["Versé (€)"]) == figures.paid_cents
    assert _cents(total["Reste à verser (€)"]) == figures.left_to_pay_cents
    assert _cents(total["Reversé (€)"]) == figures.repaid_cents
    formulas = _book([year["call"]], data_only=False)["Attributions"]
    granted = headers.index("Montant accordé (€)") + 1
    letter = formulas.cell(1, granted).column_letter
    assert formulas.cell(6, granted).value == f"=SUBTOTAL(109,{letter}2:{letter}5)"


def _figures(row: dict) -> dict[str, int]:
    return {h: _cents(row[h]) for h in ("Budget (€)", "Proposé (€)", "Montant accordé (€)",
                                        "Versé (€)", "Reste à verser (€)", "Reversé (€)",
                                        "Disponible (€)")}


def test_the_summary_per_call_and_envelope_against_the_hand_figures(year):
    call = year["call"]
    rows = _rows(_book([call])["Synthèse"])
    assert [(r["Niveau"], r["Enveloppe"]) for r in rows] == [
        ("Appel", "Ensemble de l'appel"), ("Enveloppe", "Nord"), ("Enveloppe", "Sud"),
        ("Total du dispositif", None), ("Total de l'exercice 2026", None)]
    whole, nord, sud = rows[:3]
    assert (whole["Dispositif"], whole["Attribuant"], whole["SIRET de l'attribuant"]) == (
        "Fonds d'initiative PMLCD", "Métropole Aix-Marseille-Provence", "20005478100022")
    assert [whole[h] for h in ("Chapitre", "Nature", "Fonction", "Sous-politique")] == [
        "65", "65748", "552", "D110"]
    assert (whole["Appel"], whole["Exercice"]) == ("AAP 2026 égalité", 2026)
    assert _figures(whole) == {
        "Budget (€)": 100_000_00, "Proposé (€)": 5_000_01, "Montant accordé (€)": 30_000_88,
        "Versé (€)": 26_000_77, "Reste à verser (€)": 4_000_11, "Reversé (€)": 1_500_07,
        "Disponible (€)": 71_499_19}
    assert _figures(nord) == {
        "Budget (€)": 60_000_00, "Proposé (€)": 5_000_01, "Montant accordé (€)": 20_000_55,
        "Versé (€)": 16_000_44, "Reste à verser (€)": 4_000_11, "Reversé (€)": 0,
        "Disponible (€)": 39_999_45}
    assert _figures(sud) == {
        "Budget (€)": 40_000_00, "Proposé (€)": 0, "Montant accordé (€)": 10_000_33,
        "Versé (€)": 10_000_33, "Reste à verser (€)": 0, "Reversé (€)": 1_500_07,
        "Disponible (€)": 31_499_74}
    f = money.for_call(call)
    assert list(_figures(whole).values()) == [
        f.budget_cents, f.proposed_cents, f.granted_cents, f.paid_cents, f.left_to_pay_cents,
        f.repaid_cents, f.available_cents]
    assert _figures(rows[4]) == _figures(whole)  # one call: the year is the call


def test_the_summary_counts_submitted_applications_per_state(year):
    rows = _rows(_book([year["call"]])["Synthèse"])
    whole, nord, sud = rows[:3]
    assert "Brouillon" not in whole  # drafts are the applicant's own work
    counted = ("Déposé", "Proposé au financement", "En cours (versement effectué)", "Clos")
    assert [whole[s] for s in counted] == [1, 1, 1, 1] and whole["Dossiers déposés"] == 4
    assert [nord[s] for s in counted] == [0, 1, 1, 0] and nord["Dossiers déposés"] == 2
    assert [sud[s] for s in counted] == [1, 0, 0, 1] and sud["Dossiers déposés"] == 2
    assert whole["Subvention accordée"] == 0
    fund_total, year_total = rows[3:]
    assert [fund_total[s] for s in counted] == [year_total[s] for s in counted] == [1, 1, 1, 1]
    assert fund_total["Dossiers déposés"] == year_total["Dossiers déposés"] == 4


def test_a_year_sums_its_calls_and_leaves_other_years_out(year, world):
    calls = balance.calls_for_year(world.users["finance"], 2026)
    assert [c.id for c in calls] == [world.call.id, year["call"].id]
    rows = _rows(_book(calls)["Synthèse"])
    assert [r["Niveau"] for r in rows] == [
        "Appel", "Appel", "Enveloppe", "Enveloppe", "Total du dispositif",
        "Total de l'exercice 2026"]
    total = _figures(rows[-1])
    assert total["Budget (€)"] == 200_000_00 and total["Disponible (€)"] == 171_499_19
    assert total["Montant accordé (€)"] == 30_000_88  # not the 9 000 € of 2025
    f = money.total(money.for_calls(calls).values())
    assert (total["Montant accordé (€)"], total["Versé (€)"], total["Reste à verser (€)"]) == (
        f.granted_cents, f.paid_cents, f.left_to_pay_cents)
    references = {r["Référence"] for r in _rows(_book(calls)["Attributions"])}
    assert year["apps"]["f"].reference not in references


def test_only_exporters_get_calls(year, world):
    assert balance.calls_for_year(world.users["instructor"], 2025) == [year["old"]]
    for role in ("applicant", "juror", "admin"):
        assert balance.calls_for_year(world.users[role], 2026) == [], role
    assert [c.id for c in balance.every_call_of_year(2025)] == [year["old"].id]


def test_pivots_count_each_value_once_and_say_that_totals_overlap(year):
    book = _book([year["call"]])
    territory = book["Par territoire"]
    assert "recoupent" in territory["A1"].value
    rows = _by(_rows(territory, header_row=2), "Territoire")

    def cells(row):
        return [row["Dossiers"], row["Dossiers subventionnés"],
                _cents(row["Montant demandé (€)"]), _cents(row["Montant accordé (€)"]),
                _cents(row["Versé (€)"])]

    assert cells(rows["Marseille"]) == [2, 2, 30_000_88, 30_000_88, 26_000_77]
    assert cells(rows["Aubagne"]) == [2, 1, 27_000_64, 20_000_55, 16_000_44]
    assert cells(rows["Istres"]) == [1, 0, 5_000_01, 0, 0]
    overall = "Ensemble des dossiers, sans double compte"
    assert cells(rows[overall]) == [4, 2, 42_000_98, 30_000_88, 26_000_77]
    domains = _by(_rows(book["Par domaine"], header_row=2), "Domaine")
    assert cells(domains["Emploi"]) == [3, 1, 32_000_65, 20_000_55, 16_000_44]
    assert cells(domains["Logement"]) == [1, 1, 20_000_55, 20_000_55, 16_000_44]
    assert cells(domains["Santé"]) == [1, 1, 10_000_33, 10_000_33, 10_000_33]
    assert cells(domains["Éducation"]) == [1, 0, 5_000_01, 0, 0]
    assert sum(domains[d]["Dossiers"] for d in ("Emploi", "Logement", "Santé",
                                                 "Éducation")) == 6  # 4 applications
    grounds = _by(_rows(book["Par motif"], header_row=2), "Motif de discrimination")
    assert cells(grounds["Origine"]) == [3, 1, 32_000_65, 20_000_55, 16_000_44]
    assert cells(grounds["Sexe"]) == [1, 1, 10_000_33, 10_000_33, 10_000_33]
    assert "recoupent" in book["Par motif"]["A1"].value


def test_payments_and_repayments_with_their_mandate_or_claim(year):
    apps = year["apps"]
    sheet = _book([year["call"]])["Versements"]
    rows = _rows(sheet)
    listed = [(r["Référence"], r["Opération"], r["Nature"], r["Mandat ou titre de recette"],
               r["Date"].date(), _cents(r["Versé (€)"] or 0), _cents(r["Reversé (€)"] or 0))
              for r in rows]
    a, b = apps["a"].reference, apps["b"].reference
    assert sorted(listed) == sorted([
        (a, "Versement", "Avance", "M-A1", date(2026, 11, 2), 16_000_44, 0),
        (b, "Versement", "Avance", "M-B1", date(2026, 11, 3), 8_000_11, 0),
        (b, "Versement", "Solde", "M-B2", date(2026, 12, 1), 2_000_22, 0),
        (b, "Reversement", None, "TR-2026-001", date(2027, 1, 15), 0, 1_500_07)])
    repayment = next(r for r in rows if r["Opération"] == "Reversement")
    assert repayment["Motif"] == "Ateliers non tenus." and repayment["Encaissé le"] is None
    total = next(sheet.iter_rows(min_row=6, max_row=6, values_only=True))
    assert total[0] == "Total"
    assert (_cents(total[7]), _cents(total[8])) == (26_000_77, 1_500_07)


def test_reports_show_forecast_against_realised_with_the_gaps(year):
    rows = _rows(_book([year["call"]])["Comptes rendus"])
    assert [r["Référence"] for r in rows] == [
        year["apps"]["b"].reference]
    b = rows[0]
    assert _cents(b["Montant accordé (€)"]) == 10_000_33
    # forecast: 62 3 000 + 64 (10 000,33 + 2 000); products 10 000,33 + 3 000 + 2 000
    assert [_cents(b[h]) for h in ("Charges prévues (€)", "Charges réalisées (€)",
                                   "Écart charges (€)", "Produits prévus (€)",
                                   "Produits réalisés (€)", "Écart produits (€)")] == [
        15_000_33, 12_000_00, -3_000_33, 15_000_33, 12_000_00, -3_000_33]
    assert b["Écart charges (%)"] == pytest.approx(-300_033 / 1_500_033)
    assert (b["Bénéficiaires prévus"], b["Bénéficiaires atteints"],
            b["Écart bénéficiaires"]) == (60, 40, -20)
    assert b["Explication des écarts"] == "Deux ateliers annulés."
    assert b["État"] == "Clos" and b["Organisation"] == year["apps"]["b"].organisation.name


def test_a_file_target_and_progress(year, tmp_path):
    seen = []
    target = tmp_path / "bilan.xlsx"
    balance.write_balance(target, [year["call"]], progress=lambda d, t: seen.append((d, t)))
    assert load_workbook(target).sheetnames == SHEETS
    # 4 applications, 3 payments and 1 repayment, 1 report
    assert seen[-1] == (9, 9)


def test_an_empty_selection_still_gives_the_sheets(db):
    book = load_workbook(io.BytesIO(balance.build_balance([])))
    assert book.sheetnames == SHEETS
    assert book["Attributions"]["P1"].value == "Montant accordé (€)"


def test_text_is_written_as_text_never_as_a_formula(world):
    org = make_organisation([world.users["applicant"]], name="=HYPERLINK(\"http://x\",\"clic\")")
    world.fire(make_application(world.call, org, title="=1+1"), "submit")
    content = balance.build_balance([world.call])
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = archive.namelist()
        xml = "".join(archive.read(n).decode() for n in names if n.startswith("xl/worksheets/"))
    assert "<f>1+1</f>" not in xml and "<f>HYPERLINK" not in xml
    row = _rows(load_workbook(io.BytesIO(content))["Attributions"])[0]
    assert row["Intitulé du projet"] == "=1+1"


def test_the_queries_do_not_grow_with_the_applications(world):
    call = world.call

    def queries() -> int:
        db.session.expire_all()
        calls = list(db.session.scalars(select(Call).where(Call.id == call.id)))
        with count_queries() as statements:
            balance.build_balance(calls)
        return len(statements)

    for _ in range(2):
        world.bring_to(world.application(), "in_progress")
    few = queries()
    for _ in range(5):
        world.bring_to(world.application(), "report_submitted")
    assert queries() == few
