"""The SCDL subventions export (SPEC 6): validated by frictionless against the official
schema (the copy in ``aap/standards``, compared with the published one when it is at
hand), the schema's custom checks, and each rule of SPEC 6 against values written by hand.

The world's call grants through the deliberation DEL-2026-117 of 12 October 2026
(``tests.factories.trigger_data``); its convention threshold is 23 000 €."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from frictionless import Resource, Schema

from aap.extensions import db
from aap.services import workflow
from aap.services.exports import scdl
from tests import factories
from tests.helpers import count_queries

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "aap" / "standards" / "scdl-subventions-2.1.1.schema.json"
PUBLISHED = ROOT.parent / "shared" / "standards" / "scdl-subventions-2.1.1.schema.json"
HEADER = ("nomAttribuant,idAttribuant,dateConvention,referenceDecision,nomBeneficiaire,"
          "idBeneficiaire,rnaBeneficiaire,objet,montant,nature,conditionsVersement,"
          "datesPeriodeVersement,idRAE,notificationUE,pourcentageSubvention,dispositifAide")
E = 100


def frictionless_errors(data: bytes) -> list:
    """The official schema's verdict on the file (frictionless, Table Schema)."""
    schema = Schema.from_descriptor(json.loads(SCHEMA.read_text(encoding="utf-8")))
    report = Resource(data, schema=schema, format="csv", encoding="utf-8").validate()
    return report.flatten(["rowNumber", "fieldName", "type", "note"])


def parse(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def by_decision_reference(rows: list[dict], reference: str) -> dict:
    return next(r for r in rows if r["referenceDecision"] == reference)


def granted(world, org=None, *, euros: int = 5_000, title: str | None = None,
            decision: str = "2026-10-12", reference: str = "DEL-2026-117",
            call=None):
    """An application of ``org`` granted ``euros`` by the deliberation ``reference``."""
    overrides = {"title": title} if title is not None else {}
    app = factories.make_application(call or world.call, org or world.org,
                                     requested_cents=euros * E, **overrides)
    for trigger in ("submit", "declare_eligible", "open_review", "close_review",
                    "propose"):
        app = world.fire(app, trigger)
    return world.fire(app, "grant", {"amount_cents": euros * E, "decision": {
        "body": "Bureau de la Métropole", "reference": reference, "date": decision}})


def organisation(world, **overrides):
    """An organisation of the world's applicant (who submits its applications)."""
    return factories.make_organisation([world.users["applicant"]], **overrides)


def another_call(world, title: str):
    from aap.services.calls import set_jury

    call = factories.make_call(world.fund, title=title)
    set_jury(call, [world.users["juror"].id])
    return call


def sign(world, app, schedule, signed_on: str = "2026-10-20"):
    return world.fire(app, "sign_convention", {"convention": {
        "reference": f"CONV-{app.id}", "signed_on": signed_on, "schedule": schedule}})


def pay(world, app, euros: int, on: str, kind: str = "advance"):
    return workflow.record_payment(app, world.users["finance"], {
        "kind": kind, "amount_cents": euros * E, "paid_on": on, "mandate": "M-1"})


EIGHTY_TWENTY = [{"kind": "advance", "share": "0.8"}, {"kind": "balance", "share": "0.2"}]
ONE_PAYMENT = [{"kind": "advance", "share": "1"}]


# -- the schema ---------------------------------------------------------------------------

def test_the_columns_are_the_schemas_in_its_order():
    fields = [f["name"] for f in json.loads(SCHEMA.read_text(encoding="utf-8"))["fields"]]
    assert list(scdl.COLUMNS) == fields
    assert ",".join(fields) == HEADER


@pytest.mark.skipif(not PUBLISHED.exists(), reason="the published schema is not at hand")
def test_the_copy_of_the_schema_is_the_published_one():
    assert SCHEMA.read_bytes() == PUBLISHED.read_bytes()


def test_an_empty_export_is_the_header_alone(world):
    data = scdl.build_scdl([world.call])
    assert data == (HEADER + "\r\n").encode()
    assert frictionless_errors(data) == []


# -- demo-like data: every rule of SPEC 6 by hand -----------------------------------------

@pytest.fixture
def year(world):
    """Six grants of the world's call and what must not be published:

    - A: 5 000 €, no convention, not paid;
    - B: 25 000 € (above the 23 000 € threshold), no convention yet, not paid;
    - C: 24 000 €, convention of 20/10/2026 (80 % then 20 %), paid 02/11/2026 and
      15/03/2027;
    - D: 10 000 €, convention of 21/10/2026 (80/20), paid once on 03/11/2026;
    - E: 8 000 €, convention of 22/10/2026 in one payment, paid on 04/11/2026;
    - F: 6 000 €, granted then cancelled;
    - refused, proposed, withdrawn and draft applications, and a grant of another call.
    """
    a = granted(world, euros=5_000, reference="DEL-A")
    b = granted(world, euros=25_000, reference="DEL-B", decision="2026-10-13")
    c = sign(world, granted(world, euros=24_000, reference="DEL-C"), EIGHTY_TWENTY)
    pay(world, c, 19_200, "2026-11-02")
    pay(world, c, 4_800, "2027-03-15", kind="balance")
    d = sign(world, granted(world, euros=10_000, reference="DEL-D"), EIGHTY_TWENTY,
             signed_on="2026-10-21")
    pay(world, d, 8_000, "2026-11-03")
    e = sign(world, granted(world, euros=8_000, reference="DEL-E"), ONE_PAYMENT,
             signed_on="2026-10-22")
    pay(world, e, 8_000, "2026-11-04")
    f = world.fire(granted(world, euros=6_000, reference="DEL-F"), "cancel")
    refused = world.bring_to(world.application(title="Refusé"), "rejected")
    proposed = world.bring_to(world.application(title="Proposé"), "proposed")
    withdrawn = world.bring_to(world.application(title="Retiré"), "withdrawn")
    draft = world.application(title="Brouillon")
    other_call = another_call(world, "Autre appel")
    granted(world, call=other_call, reference="DEL-OTHER")
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f, "hidden": [
        refused, proposed, withdrawn, draft]}


def test_the_export_is_valid_against_the_official_schema(world, year):
    data = scdl.build_scdl([world.call])
    assert frictionless_errors(data) == []
    assert scdl.check_scdl(data) == []


def test_one_row_per_grant_never_a_pending_refused_or_draft_application(world, year):
    rows = parse(scdl.build_scdl([world.call]))
    assert sorted(r["referenceDecision"] for r in rows) == [
        "DEL-A", "DEL-B", "DEL-C", "DEL-D", "DEL-E", "DEL-F"]
    titles = {r["objet"] for r in rows}
    assert not titles & {"Refusé", "Proposé", "Retiré", "Brouillon"}


def test_the_attributing_body_and_the_beneficiary(world, year):
    row = by_decision_reference(parse(scdl.build_scdl([world.call])), "DEL-A")
    assert row["nomAttribuant"] == "Métropole Aix-Marseille-Provence"
    assert row["idAttribuant"] == "20005478100022"
    assert row["nomBeneficiaire"] == world.org.name
    assert row["idBeneficiaire"] == world.org.siret
    assert row["rnaBeneficiaire"] == world.org.rna
    assert row["objet"] == "Ateliers contre les discriminations à l'embauche"
    assert (row["nature"], row["idRAE"], row["notificationUE"],
            row["pourcentageSubvention"], row["dispositifAide"]) == (
        "aide en numéraire", "", "non", "1.00", "")


def test_amount_convention_date_payment_conditions_and_period(world, year):
    """Each SPEC 6 rule, by hand: the amount is the decision's, in euros; the convention
    date is its signature, else the decision's; one planned payment is ``unique``; the
    period is the first and last payments, else the decision date."""
    rows = parse(scdl.build_scdl([world.call]))
    got = {r["referenceDecision"]: (r["montant"], r["dateConvention"],
                                    r["conditionsVersement"], r["datesPeriodeVersement"])
           for r in rows}
    assert got == {
        # no convention: the decision date; one advance below the threshold; not paid
        "DEL-A": ("5000.00", "2026-10-12", "unique", "2026-10-12"),
        # above the threshold: its convention will stagger the payments (80 / 20)
        "DEL-B": ("25000.00", "2026-10-13", "échelonné", "2026-10-13"),
        # signed convention, two payments: the first and last payment dates
        "DEL-C": ("24000.00", "2026-10-20", "échelonné", "2026-11-02/2027-03-15"),
        # staggered, one payment so far: a period (the schema's format when staggered)
        "DEL-D": ("10000.00", "2026-10-21", "échelonné", "2026-11-03/2026-11-03"),
        # a convention in one payment, paid: the date of that payment
        "DEL-E": ("8000.00", "2026-10-22", "unique", "2026-11-04"),
        # cancelled after the grant: still the deliberation's amount and date
        "DEL-F": ("6000.00", "2026-10-12", "unique", "2026-10-12"),
    }


def test_a_convention_without_schedule_is_one_payment(world):
    """Signed without a schedule, the convention stores one advance; one recorded with
    an empty schedule (``[]``, as the finance worklist reads it) is one payment too."""
    signed = sign(world, granted(world, euros=5_000, reference="DEL-SIGNED"), [])
    stored = sign(world, granted(world, euros=5_000, reference="DEL-STORED"), ONE_PAYMENT)
    stored.convention.schedule = []
    db.session.commit()
    assert signed.convention.schedule and stored.convention.schedule == []
    rows = parse(scdl.build_scdl([world.call]))
    assert {r["referenceDecision"]: (r["dateConvention"], r["conditionsVersement"],
                                     r["datesPeriodeVersement"]) for r in rows} == {
        "DEL-SIGNED": ("2026-10-20", "unique", "2026-10-12"),
        "DEL-STORED": ("2026-10-20", "unique", "2026-10-12")}


def test_a_fund_notified_to_the_european_commission_says_oui(world):
    world.fund.notification_ue = True
    db.session.commit()
    granted(world)
    data = scdl.build_scdl([world.call])
    assert parse(data)[0]["notificationUE"] == "oui"
    assert frictionless_errors(data) == []


def test_several_calls_in_one_file_and_only_them(world, year):
    other = another_call(world, "Troisième appel")
    granted(world, call=other, reference="DEL-THIRD")
    rows = parse(scdl.build_scdl([world.call.id, other.id]))
    assert len(rows) == 7
    assert "DEL-OTHER" not in {r["referenceDecision"] for r in rows}


def test_decided_by_keeps_the_deliberations_of_that_day_and_before(world, year):
    rows = parse(scdl.build_scdl([world.call], decided_by=date(2026, 10, 12)))
    assert "DEL-B" not in {r["referenceDecision"] for r in rows}  # decided on the 13th
    assert len(rows) == 5


# -- tricky data ----------------------------------------------------------------------------

def test_commas_quotes_accents_and_line_breaks_stay_one_valid_row_each(world):
    org = organisation(
        world,
        name='Association "Les Amis", du quartier\nNord — Élan\r\nSolidaire')
    granted(world, org, title='Ateliers « égalité », "parité"\net\tmixité ; çà et là')
    data = scdl.build_scdl([world.call])
    assert frictionless_errors(data) == []
    assert data.count(b"\n") == 2  # the header and one row: one line each
    row = parse(data)[0]
    assert row["nomBeneficiaire"] == 'Association "Les Amis", du quartier Nord — Élan Solidaire'
    assert row["objet"] == 'Ateliers « égalité », "parité" et mixité ; çà et là'
    line = data.decode().splitlines()[1]
    assert line.startswith('Métropole Aix-Marseille-Provence,20005478100022,2026-10-12,'
                           'DEL-2026-117,"Association ""Les Amis"", du quartier Nord')


def test_a_title_longer_than_256_characters_is_cut_with_an_ellipsis(world):
    granted(world, title="Projet " + "x" * 293)  # 300 characters
    data = scdl.build_scdl([world.call])
    objet = parse(data)[0]["objet"]
    assert len(objet) == 256
    assert objet == "Projet " + "x" * 248 + "…"
    assert frictionless_errors(data) == []


def test_a_beneficiary_with_two_grants_has_two_rows(world):
    granted(world, euros=5_000, title="Premier projet")
    granted(world, euros=7_000, title="Second projet")
    data = scdl.build_scdl([world.call])
    rows = parse(data)
    assert [(r["idBeneficiaire"], r["objet"], r["montant"]) for r in rows] == [
        (world.org.siret, "Premier projet", "5000.00"),
        (world.org.siret, "Second projet", "7000.00")]
    assert frictionless_errors(data) == []
    assert scdl.check_scdl(data) == []


def test_an_association_with_an_rna_and_no_siret(world):
    org = organisation(world, siret="", rna="W131002345")
    granted(world, org)
    data = scdl.build_scdl([world.call])
    row = parse(data)[0]
    assert (row["idBeneficiaire"], row["rnaBeneficiaire"]) == ("", "W131002345")
    assert frictionless_errors(data) == []
    assert scdl.check_scdl(data) == []


def test_an_organisation_without_rna_leaves_it_empty(world):
    granted(world, organisation(world, rna=None))
    data = scdl.build_scdl([world.call])
    assert parse(data)[0]["rnaBeneficiaire"] == ""
    assert frictionless_errors(data) == []


# -- the custom checks ------------------------------------------------------------------------

def test_the_checks_catch_a_bad_siret_of_the_beneficiary_and_of_the_attributing_body(world):
    world.fund.owner_siret = "20005478100023"  # the last digit of a valid one, changed
    db.session.commit()
    granted(world, organisation(world, siret="73282932000075"))
    data = scdl.build_scdl([world.call])
    assert scdl.check_scdl(data) == [
        "ligne 2 : idAttribuant « 20005478100023 » n'est pas un SIRET valide.",
        "ligne 2 : idBeneficiaire « 73282932000075 » n'est pas un SIRET valide."]
    assert frictionless_errors(data) == []  # 14 digits: only the custom check sees it


def test_the_checks_catch_a_row_with_neither_siret_nor_rna(world):
    granted(world)
    granted(world, organisation(world, siret="", rna=None))
    assert scdl.check_scdl(scdl.build_scdl([world.call])) == [
        "ligne 3 : ni idBeneficiaire ni rnaBeneficiaire n'est renseigné."]


def test_la_postes_siret_passes_the_luhn_exception():
    """SIREN 356 000 000 (La Poste): the digits' sum is a multiple of 5, not Luhn."""
    row = dict.fromkeys(scdl.COLUMNS, "")
    row.update(idAttribuant="20005478100022", idBeneficiaire="35600000000048")
    assert scdl.check_scdl([row]) == []


def test_the_checks_read_rows_a_file_and_its_header(tmp_path):
    good = dict.fromkeys(scdl.COLUMNS, "")
    good.update(idAttribuant="20005478100022", rnaBeneficiaire="W131002345")
    bad = {**good, "rnaBeneficiaire": "", "idBeneficiaire": "12345678901234"}
    assert scdl.check_scdl([good, bad]) == [
        "ligne 3 : idBeneficiaire « 12345678901234 » n'est pas un SIRET valide."]
    path = tmp_path / "subventions.csv"
    path.write_text("nom,siret\r\nA,1\r\n", encoding="utf-8")
    problems = scdl.check_scdl(path)
    assert problems[0].startswith("en-tête : les colonnes doivent être nomAttribuant, ")
    assert problems[1:] == ["ligne 2 : idAttribuant manquant (le SIRET de l'attribuant).",
                            "ligne 2 : ni idBeneficiaire ni rnaBeneficiaire n'est "
                            "renseigné."]


def test_validate_with_schema_reports_what_frictionless_finds(tmp_path):
    path = tmp_path / "subventions.csv"
    path.write_text(HEADER + "\r\nX,123,2026-13-01,,B,,,o,1,aide,unique,2026,,non,1.00,\r\n",
                    encoding="utf-8")
    problems = scdl.validate_with_schema(path)
    # by hand: idAttribuant (pattern), dateConvention (type), nature (enum) and
    # datesPeriodeVersement (pattern) are wrong; the rest is allowed
    assert len(problems) == 4 and all(p.startswith("ligne 2 : ") for p in problems)
    for field, problem in zip(("idAttribuant", "dateConvention", "nature",
                               "datesPeriodeVersement"), problems, strict=True):
        assert f'field "{field}"' in problem


# -- writing ----------------------------------------------------------------------------------

def test_write_to_a_path_a_text_file_and_a_binary_file_with_progress(world, tmp_path):
    for _ in range(3):
        granted(world)
    expected = scdl.build_scdl([world.call])
    calls = []
    assert scdl.write_scdl(tmp_path / "a.csv", [world.call],
                           progress=lambda done, total: calls.append((done, total))) == 3
    assert (tmp_path / "a.csv").read_bytes() == expected
    assert calls[-1] == (3, 3)
    text = io.StringIO(newline="")
    scdl.write_scdl(text, [world.call])
    assert text.getvalue().encode() == expected
    with open(tmp_path / "b.csv", "wb") as binary:
        scdl.write_scdl(binary, [world.call])
        assert not binary.closed  # the caller's file stays open
    assert (tmp_path / "b.csv").read_bytes() == expected
    assert len(parse(expected)) == 3


def test_no_query_per_row(world):
    """The rows come from one query, whatever their number."""
    granted(world)
    call_id = world.call.id
    with count_queries() as one:
        scdl.build_scdl([call_id])
    for _ in range(3):
        granted(world, organisation(world))
    with count_queries() as four:
        assert len(parse(scdl.build_scdl([call_id]))) == 4
    selects = [[q for q in run if q.startswith("SELECT")] for run in (one, four)]
    assert [len(s) for s in selects] == [1, 1]
    # streaming is the query's option, never left on the session's connection
    assert "yield_per" not in db.session.connection().get_execution_options()
