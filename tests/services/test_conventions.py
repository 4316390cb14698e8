"""The convention of a grant (SPEC 3; issue 9, item 6): the PDF is read back with pypdf
and must name the parties and their SIRET, the amount (in figures and words), the
schedule and the imputation; who may have it; amounts in words and the schedule's cents
against hand-written values."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from pypdf import PdfReader

from aap.errors import Conflict, Forbidden, NotFound
from aap.extensions import db
from aap.services import conventions


def text_of(pdf: bytes) -> str:
    """The PDF's text, with every kind of space as one plain space."""
    raw = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"[\s\u00a0\u202f]+", " ", raw)


@pytest.fixture
def granted(world):
    """25 000,50 € granted by DEL-2026-117 of 12/10/2026 (above the 23 000 € threshold);
    the action ends on 30/06/2027."""
    app = world.bring_to(world.application(requested_cents=25_000_50), "granted")
    assert app.granted_cents == 25_000_50 and app.ends_on == date(2027, 6, 30)
    return app


def test_the_convention_names_the_parties_the_amount_the_schedule_and_the_imputation(
        world, granted):
    doc = conventions.document(world.users["instructor"], granted.id)
    assert doc.required and doc.draft and doc.reference == f"CONV-{granted.reference}"
    text = text_of(conventions.render_pdf(doc))
    org, fund = world.org, world.fund
    for expected in (
        "Convention attributive de subvention", "Projet de convention",
        # the parties and their identifiers
        "Métropole Aix-Marseille-Provence", "SIRET 20005478100022",
        org.name, f"SIRET {org.siret}", f"RNA {org.rna}", "Camille Martin",
        # the decision and the object
        "DEL-2026-117 du 12/10/2026", "Bureau de la Métropole", granted.title,
        # the amount, in figures and words: 25 000,50 € of a 30 000,50 € project
        "25 000,50 €", "vingt-cinq mille euros et cinquante centimes",
        "83,3 % du coût total prévisionnel", "30 000,50 €",
        # 80 % advance = 20 000,40 €, 20 % balance = 5 000,10 €
        "Avance", "80 %", "20 000,40 €", "Solde", "20 %", "5 000,10 €",
        # the imputation of the fund
        "Chapitre 65", "Nature 65748", "Fonction 552", "Sous-politique D110",
        # obligations: the report within six months of the end (30/06/2027)
        "CERFA n° 15059", "30/12/2027", "15 %", "titre de recette",
        "Pour l'attribuant", "Pour le bénéficiaire",
    ):
        assert expected in text, expected
    assert fund.owner_siret == "20005478100022"


def test_a_signed_convention_uses_its_reference_and_schedule(world, granted):
    world.fire(granted, "sign_convention", {"convention": {
        "reference": "CONV-2026-0042", "signed_on": "2026-10-20",
        "schedule": [{"kind": "advance", "share": "0.5"}, {"kind": "instalment", "share": "0.3"},
                     {"kind": "balance", "share": "0.2"}]}})
    doc = conventions.document(world.users["finance"], granted.id)
    assert (doc.reference, doc.draft, doc.signed_on) == ("CONV-2026-0042", False,
                                                         date(2026, 10, 20))
    # 50 % = 12 500,25 €; 30 % = 7 500,15 €; the balance takes the rest: 5 000,10 €
    assert [(i.kind, i.amount_cents) for i in doc.schedule] == [
        ("advance", 12_500_25), ("instalment", 7_500_15), ("balance", 5_000_10)]
    text = text_of(conventions.render_pdf(doc))
    assert "CONV-2026-0042" in text and "signée le 20/10/2026" in text
    assert "Projet de convention" not in text and "12 500,25 €" in text


def test_who_may_have_the_convention(world, granted):
    for role in ("instructor", "finance", "applicant"):
        assert conventions.document(world.users[role], granted.id).amount_cents == 25_000_50
    with pytest.raises(Forbidden):
        conventions.document(world.users["juror"], granted.id)  # assigned juror: sees it
    with pytest.raises(NotFound):
        conventions.document(world.users["foreign_applicant"], granted.id)


def test_no_convention_before_the_grant_nor_after_a_cancellation(world, granted):
    proposed = world.bring_to(world.application(), "proposed")
    for role in ("instructor", "applicant"):
        with pytest.raises(Conflict):
            conventions.document(world.users[role], proposed.id)
    world.fire(granted, "cancel")
    with pytest.raises(Conflict):
        conventions.document(world.users["instructor"], granted.id)


def test_required_above_the_call_threshold_only(world):
    at_threshold = world.bring_to(world.application(requested_cents=23_000_00), "granted")
    assert not conventions.required(at_threshold)  # « au-delà » : strictly above
    world.call.convention_threshold_cents = 10_000_00
    db.session.commit()
    assert conventions.required(at_threshold)
    assert conventions.build(at_threshold).threshold == "10\u202f000,00\xa0€"


@pytest.mark.parametrize(("cents", "words"), [
    (100, "un euro"),
    (2100, "vingt et un euros"),
    (7100, "soixante et onze euros"),
    (8000, "quatre-vingts euros"),
    (8100, "quatre-vingt-un euros"),
    (9900, "quatre-vingt-dix-neuf euros"),
    (100_100, "mille un euros"),
    (1_250_000, "douze mille cinq cents euros"),
    (2_300_050, "vingt-trois mille euros et cinquante centimes"),
    (8_000_000, "quatre-vingt mille euros"),
    (20_000_000, "deux cent mille euros"),
    (200_000_000, "deux millions d'euros"),
    (123_456_789, "un million deux cent trente-quatre mille cinq cent soixante-sept euros "
                  "et quatre-vingt-neuf centimes"),
    (1, "zéro euro et un centime"),
])
def test_amounts_in_words(cents, words):
    assert conventions.amount_in_words(cents) == words


def test_the_schedule_adds_up_to_the_cent():
    # 1 001 × 0,8 = 800,8 → 801; the balance takes 200
    rows = conventions.schedule(1001, conventions.DEFAULT_SCHEDULE)
    assert [r.amount_cents for r in rows] == [801, 200]
    # 999 × 0,5 = 499,5 → 500; × 0,3 = 299,7 → 300; the balance 199
    thirds = [{"kind": "advance", "share": "0.5"}, {"kind": "instalment", "share": "0.3"},
              {"kind": "balance", "share": "0.2"}]
    assert [r.amount_cents for r in conventions.schedule(999, thirds)] == [500, 300, 199]


def test_six_months_after_the_end_of_the_action():
    assert conventions.add_months(date(2027, 6, 30), 6) == date(2027, 12, 30)
    assert conventions.add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert conventions.add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)
