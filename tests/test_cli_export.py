"""``aap export balance --call ID | --year YYYY --out FILE``: the workbook on disk, read
back; the platform operator's scope (every call of the year); clear refusals."""

from __future__ import annotations

from openpyxl import load_workbook

from tests.factories import make_application, make_call

SHEETS = ["Synthèse", "Attributions", "Par territoire", "Par domaine", "Par motif",
          "Versements", "Comptes rendus"]


def _references(path) -> list[str]:
    sheet = load_workbook(path, data_only=True)["Attributions"]
    return [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)
            if row[0] not in (None, "Total")]


def _run(app, *args: str):
    return app.test_cli_runner().invoke(args=["export", "balance", *args])


def test_the_call_workbook_is_written_and_readable(app, world, tmp_path):
    granted = world.bring_to(world.application(), "granted")
    out = tmp_path / "bilan.xlsx"
    result = _run(app, "--call", str(world.call.id), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert str(out) in result.output
    assert load_workbook(out).sheetnames == SHEETS
    assert _references(out) == [granted.reference]
    assert [p.name for p in tmp_path.iterdir()] == ["bilan.xlsx"]  # no partial file left


def test_the_year_workbook_takes_every_call_of_the_year(app, world, tmp_path):
    first = world.bring_to(world.application(), "submitted")
    other = make_call(world.fund, title="Second appel 2026")
    second = world.bring_to(make_application(other, world.org), "submitted")
    earlier = make_call(world.fund, title="AAP 2025", fiscal_year=2025)
    world.bring_to(make_application(earlier, world.org), "submitted")
    out = tmp_path / "bilan-2026.xlsx"
    result = _run(app, "--year", "2026", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "2 call(s)" in result.output
    assert sorted(_references(out)) == sorted([first.reference, second.reference])


def test_call_and_year_are_mutually_exclusive(app, world, tmp_path):
    out = tmp_path / "x.xlsx"
    both = _run(app, "--call", str(world.call.id), "--year", "2026", "--out", str(out))
    assert both.exit_code == 2
    assert "either --call ID or --year YYYY, not both" in both.output
    neither = _run(app, "--out", str(out))
    assert neither.exit_code == 2
    assert "either --call ID or --year YYYY" in neither.output
    assert not out.exists()


def test_an_unknown_call_and_a_missing_out_are_refused(app, world, tmp_path):
    unknown = _run(app, "--call", str(world.call.id + 1000), "--out", str(tmp_path / "x.xlsx"))
    assert unknown.exit_code == 1
    assert f"no call with id {world.call.id + 1000}" in unknown.output
    assert not (tmp_path / "x.xlsx").exists()
    missing = _run(app, "--call", str(world.call.id))
    assert missing.exit_code == 2 and "--out" in missing.output
