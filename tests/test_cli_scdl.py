"""``aap export scdl --call ID | --year YYYY --out FILE [--check]``: the SCDL subventions
CSV on disk, read back; every call of the year; ``--check`` runs the official schema
(frictionless) and its custom checks and exits 1 on a problem."""

from __future__ import annotations

import csv

from aap.extensions import db
from tests.factories import make_call, make_organisation
from tests.services.test_scdl_export import HEADER, another_call, granted


def _run(app, *args: str):
    return app.test_cli_runner().invoke(args=["export", "scdl", *args])


def _rows(path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def test_the_call_file_is_written_and_checked(app, world, tmp_path):
    granted(world, euros=7_500)
    out = tmp_path / "subventions.csv"
    result = _run(app, "--call", str(world.call.id), "--out", str(out), "--check")
    assert result.exit_code == 0, result.output
    assert f"wrote {out} (1 grant(s), 1 call(s))" in result.output
    assert f"{out} is valid (scdl/subventions 2.1.1)" in result.output
    assert out.read_text(encoding="utf-8").splitlines()[0] == HEADER
    assert [(r["nomBeneficiaire"], r["montant"]) for r in _rows(out)] == [
        (world.org.name, "7500.00")]
    assert [p.name for p in tmp_path.iterdir()] == ["subventions.csv"]  # no partial file


def test_the_year_file_takes_every_call_of_the_year(app, world, tmp_path):
    granted(world, euros=5_000, title="Premier appel")
    granted(world, euros=6_000, title="Second appel", call=another_call(world, "Second"))
    earlier = make_call(world.fund, title="AAP 2025", fiscal_year=2025)
    from aap.services.calls import set_jury

    set_jury(earlier, [world.users["juror"].id])
    granted(world, euros=4_000, title="Appel 2025", call=earlier)
    out = tmp_path / "subventions-2026.csv"
    result = _run(app, "--year", "2026", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "(2 grant(s), 2 call(s))" in result.output
    assert sorted(r["objet"] for r in _rows(out)) == ["Premier appel", "Second appel"]


def test_check_fails_on_a_bad_siret_and_names_it(app, world, tmp_path):
    granted(world, make_organisation([world.users["applicant"]], siret="73282932000075"))
    out = tmp_path / "subventions.csv"
    result = _run(app, "--call", str(world.call.id), "--out", str(out), "--check")
    assert result.exit_code == 1
    assert "ligne 2 : idBeneficiaire « 73282932000075 » n'est pas un SIRET valide." in \
        result.output
    assert f"{out}: 1 problem(s)" in result.output
    assert out.exists()  # written, then refused by the check


def test_check_reports_what_the_schema_refuses(app, world, tmp_path):
    world.fund.owner_siret = "2000547810002"  # 13 digits: the schema's pattern refuses it
    db.session.commit()
    granted(world)
    out = tmp_path / "subventions.csv"
    result = _run(app, "--call", str(world.call.id), "--out", str(out), "--check")
    assert result.exit_code == 1
    assert 'field "idAttribuant"' in result.output


def test_call_and_year_are_mutually_exclusive_and_a_call_must_exist(app, world, tmp_path):
    out = tmp_path / "x.csv"
    both = _run(app, "--call", str(world.call.id), "--year", "2026", "--out", str(out))
    assert both.exit_code == 2
    assert _run(app, "--out", str(out)).exit_code == 2
    unknown = _run(app, "--call", str(world.call.id + 1000), "--out", str(out))
    assert unknown.exit_code == 1
    assert f"no call with id {world.call.id + 1000}" in unknown.output
    assert not out.exists()
