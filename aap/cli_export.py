"""``aap export``: workbooks and open-data files written to a file from the command line.

The CLI runs on the server as the platform operator, for no user: it exports every call
(``--year`` takes every call of the fiscal year; with ``--authority ID``, those of that
authority and of the authorities below it), where the web pages, the API and the
background jobs export the calls that ``policies.exportable_calls`` gives their user.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask.cli import with_appcontext


@click.group("export")
def export() -> None:
    """Export workbooks and open-data files (as the platform operator: every call)."""


def _one_of(call_id: int | None, year: int | None, authority_id: int | None = None) -> None:
    if (call_id is None) == (year is None):
        raise click.UsageError("give either --call ID or --year YYYY, not both")
    if authority_id is not None and year is None:
        raise click.UsageError("--authority goes with --year")


def _known_authority(authority_id: int | None) -> None:
    from aap.extensions import db
    from aap.models import Authority

    if authority_id is not None and db.session.get(Authority, authority_id) is None:
        raise click.ClickException(f"no authority with id {authority_id}")


AUTHORITY = click.option("--authority", "authority_id", type=click.IntRange(min=1),
                         help="With --year: only this authority's calls and those of the "
                              "authorities below it.")


def _write_atomically(out: Path, write) -> None:
    """Write next to ``out``, then rename: a reader never sees half a file."""
    partial = out.with_name(f".{out.name}.part")
    try:
        with partial.open("wb") as handle:
            write(handle)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)


@export.command("balance")
@click.option("--call", "call_id", type=click.IntRange(min=1), help="One call, by id.")
@click.option("--year", type=click.IntRange(2000, 2100),
              help="Every call of this fiscal year.")
@AUTHORITY
@click.option("--out", required=True, help="The .xlsx file to write.",
              type=click.Path(dir_okay=False, writable=True, path_type=Path))
@with_appcontext
def balance(call_id: int | None, year: int | None, authority_id: int | None,
            out: Path) -> None:
    """The balance-sheet workbook (SPEC 6) of a call or of a fiscal year (of an authority
    and its descendants, grouped by authority)."""
    from aap.extensions import db
    from aap.models import Call
    from aap.services.exports import balance as workbook

    _one_of(call_id, year, authority_id)
    _known_authority(authority_id)
    if call_id is not None:
        call = db.session.get(Call, call_id)
        if call is None:
            raise click.ClickException(f"no call with id {call_id}")
        calls = [call]
    else:
        calls = workbook.every_call_of_year(year, authority_id)
    _write_atomically(out, lambda handle: workbook.write_balance(handle, calls))
    click.echo(f"wrote {out} ({len(calls)} call(s))")


@export.command("scdl")
@click.option("--call", "call_id", type=click.IntRange(min=1), help="One call, by id.")
@click.option("--year", type=click.IntRange(2000, 2100),
              help="Every call of this fiscal year.")
@AUTHORITY
@click.option("--out", required=True, help="The .csv file to write.",
              type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--check", is_flag=True,
              help="Check the file written: the official schema (frictionless, when "
                   "installed) and its custom checks (SIRET, an id or an RNA per row); "
                   "exit 1 on any problem.")
@with_appcontext
def scdl_file(call_id: int | None, year: int | None, authority_id: int | None, out: Path,
              check: bool) -> None:
    """The SCDL subventions open-data CSV (SPEC 6) of a call or of a fiscal year (of an
    authority and its descendants)."""
    from aap.extensions import db
    from aap.models import Call
    from aap.services.exports import scdl

    _one_of(call_id, year, authority_id)
    _known_authority(authority_id)
    if call_id is not None and db.session.get(Call, call_id) is None:
        raise click.ClickException(f"no call with id {call_id}")
    calls = [call_id] if call_id is not None else scdl.calls_of_year(year, authority_id)
    written: list[int] = []
    _write_atomically(out, lambda handle: written.append(scdl.write_scdl(handle, calls)))
    click.echo(f"wrote {out} ({written[0]} grant(s), {len(calls)} call(s))")
    if check:
        _check_scdl(out)


def _check_scdl(out: Path) -> None:
    from aap.services.exports import scdl

    schema = scdl.validate_with_schema(out)
    if schema is None:
        click.echo("frictionless is not installed: the schema's types and patterns were "
                   "not checked, only its custom checks", err=True)
    problems = [*(schema or []), *scdl.check_scdl(out)]
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise click.ClickException(f"{out}: {len(problems)} problem(s)")
    click.echo(f"{out} is valid (scdl/subventions 2.1.1)")
