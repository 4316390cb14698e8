"""The decision annex (SPEC 6; issue 9, item 5): the beneficiaries of one deliberation of
a call, read back with openpyxl and compared with hand-computed totals."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from aap.errors import NotFound
from aap.extensions import db
from aap.models import Envelope
from aap.services import deliberations
from aap.services.exports import annex
from tests import factories

E = 100
DELIBERATION = {"body": "Bureau de la Métropole", "reference": "DEL-2026-117",
                "date": "2026-10-12"}
HEADERS = ["Bénéficiaire", "SIRET", "RNA", "Projet", "Référence du dossier",
           "Montant accordé (€)", "Chapitre", "Nature", "Fonction", "Sous-politique",
           "Enveloppe"]


def proposed(world, org, requested_euros: int, amount_cents: int, **fields):
    app = factories.make_application(world.call, org, requested_cents=requested_euros * E,
                                     **fields)
    app = world.bring_to(app, "reviewed")
    return world.fire(app, "propose", {"amount_cents": amount_cents})


@pytest.fixture
def granted(world):
    """Three beneficiaries of DEL-2026-117 (4 000 €, 2 500,50 €, 1 234,56 €: 7 735,06 €)
    and one of another deliberation (3 000 €), in a call with envelope « Nord »."""
    world.call.envelopes = [Envelope(key="nord", label="Nord", budget_cents=50_000 * E)]
    db.session.commit()
    nord = world.call.envelopes[0]
    member = [world.users["applicant"]]
    zebre = factories.make_organisation(member, name="Zèbres solidaires", rna=None)
    alpha = factories.make_organisation(member, name="Alpha Égalité")
    other = factories.make_organisation(member, name="Autre délibération")
    a = proposed(world, zebre, 4000, 4000_00, envelope_id=nord.id)
    b = proposed(world, alpha, 3000, 2500_50, envelope_id=nord.id)
    c = proposed(world, world.org, 2000, 1234_56, envelope_id=nord.id)
    d = proposed(world, other, 3000, 3000_00, envelope_id=nord.id)
    instructor = world.users["instructor"]
    outcome = deliberations.grant(world.call, instructor, DELIBERATION, [a.id, b.id, c.id])
    assert len(outcome.granted) == 3
    deliberations.grant(world.call, instructor,
                        {**DELIBERATION, "reference": "DEL-2026-200"}, [d.id])
    return {"zebre": (zebre, a), "alpha": (alpha, b), "own": (world.org, c)}


def _sheet(content: bytes, data_only: bool = True):
    book = load_workbook(io.BytesIO(content), data_only=data_only)
    return book["Annexe"]


def test_the_annex_lists_the_beneficiaries_of_the_deliberation_with_a_total(world, granted):
    sheet = _sheet(annex.build(world.call, "DEL-2026-117"))
    assert sheet["A1"].value == ("Annexe à la délibération DEL-2026-117 du 12/10/2026 — "
                                 "Bureau de la Métropole")
    assert world.call.title in sheet["A2"].value
    assert [c.value for c in sheet[3]] == HEADERS
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=4, max_row=6)]
    zebre, _ = granted["zebre"]
    alpha, b = granted["alpha"]
    own, _ = granted["own"]
    # by beneficiary name; the imputation is the fund's (65 / 65748 / 552, D110)
    names = sorted([zebre.name, alpha.name, own.name])
    assert [r[0] for r in rows] == names
    by_name = {r[0]: r for r in rows}
    assert by_name[alpha.name] == [alpha.name, alpha.siret, alpha.rna, b.title, b.reference,
                                   2500.5, "65", "65748", "552", "D110", "Nord"]
    assert by_name[zebre.name][1:3] == [zebre.siret, None]  # no RNA: an empty cell
    assert by_name[zebre.name][5] == 4000 and by_name[own.name][5] == 1234.56
    total = [c.value for c in sheet[7]]
    assert total[0] == "Total (3 bénéficiaires)"
    assert round(total[5] * 100) == 4000_00 + 2500_50 + 1234_56 == 7735_06
    assert sheet.max_row == 7  # the other deliberation's beneficiary is not listed


def test_the_annex_is_formatted_for_print_and_filtering(world, granted):
    sheet = _sheet(annex.build(world.call, "DEL-2026-117"), data_only=False)
    assert sheet.freeze_panes == "A4"
    assert sheet.auto_filter.ref == "A3:K6"
    assert sheet["F7"].value == "=SUM(F4:F6)"
    for cell in ("F4", "F5", "F6", "F7"):
        assert "€" in sheet[cell].number_format and "0.00" in sheet[cell].number_format
    assert sheet["B4"].number_format == "@"  # SIRET kept as text
    widths = {col: sheet.column_dimensions[col].width for col in "ABDF"}
    longest = max(len(o.name) for o, _ in granted.values())
    assert widths["A"] >= longest and widths["B"] >= 14
    assert widths["D"] >= len(granted["alpha"][1].title)
    assert widths["F"] >= len("Montant accordé (€)")


def test_an_unknown_deliberation_has_no_annex(world, granted):
    with pytest.raises(NotFound):
        annex.build(world.call, "DEL-1999-001")
    other = factories.make_call(world.fund, title="Autre appel")
    with pytest.raises(NotFound):
        annex.build(other, "DEL-2026-117")


def test_the_file_name_is_safe(world):
    assert annex.filename("DEL 2026/117 – Bureau") == "annexe-DEL-2026-117-Bureau.xlsx"
    assert annex.filename("///") == "annexe-deliberation.xlsx"
