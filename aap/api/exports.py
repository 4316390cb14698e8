from __future__ import annotations

import io
import tempfile
from collections.abc import Callable
from functools import wraps

from flask import send_file
from flask_smorest import Blueprint

from aap.api.auth import (
    SECURITY,
    call_or_404,
    current_api_user,
    roles_required,
    token_required,
)
from aap.api.schemas import MAX_ID, QueryInteger, StrictSchema
from aap.services.exports import balance, jury

blp = Blueprint("api_exports", __name__, description="Exports")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WORKBOOK = "The workbook (xlsx), as an attachment."


def exporters_only(view: Callable) -> Callable:
    """403 unless the caller may export at all (``policies.may_export``: finance,
    instructor), before the call is looked up or the query string read."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        balance.check_exporter(current_api_user())
        return view(*args, **kwargs)

    return wrapper


class BalanceYearArgs(StrictSchema):
    fiscal_year = QueryInteger(required=True, minimum=2000, maximum=2100, metadata={
        "description": "the fiscal year whose calls the workbook covers"})
    authority_id = QueryInteger(maximum=MAX_ID, metadata={
        "description": "only the calls of this authority and of the authorities below it "
                       "(404 when the caller does not read it); without it, every call of "
                       "the year that the caller may export"})


def _workbook(calls: list, filename: str):
    """The workbook written to a temporary file (memory stays bounded), then streamed."""
    handle = tempfile.TemporaryFile()  # noqa: SIM115 (the response closes it once sent)
    try:
        balance.write_balance(handle, calls)
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    return send_file(handle, mimetype=XLSX, as_attachment=True, download_name=filename)


@blp.route("/calls/<int:call_id>/exports/balance.xlsx", methods=["GET"])
@blp.doc(security=SECURITY)
@token_required
@exporters_only
@blp.response(200, {"type": "string", "format": "binary"}, content_type=XLSX,
              description=WORKBOOK)
def balance_of_call(call_id):
    """The balance-sheet workbook of a call: summary, attributions, pivots per territory,
    domain and ground, payments and reports (finance, instructor)."""
    call = balance.call_for(current_api_user(), call_id)
    return _workbook([call], balance.filename(call=call))


@blp.route("/exports/balance.xlsx", methods=["GET"])
@blp.doc(security=SECURITY)
@token_required
@exporters_only
@blp.arguments(BalanceYearArgs, location="query")
@blp.response(200, {"type": "string", "format": "binary"}, content_type=XLSX,
              description=WORKBOOK)
def balance_of_year(args):
    """The balance-sheet workbook of every call of the fiscal year that the caller may
    export (finance, instructor), or, with ``authority_id``, of that authority and its
    descendants, grouped by authority; a year without calls gives the sheets with their
    headers alone."""
    year, authority_id = args["fiscal_year"], args.get("authority_id")
    calls = balance.calls_for_year(current_api_user(), year, authority_id)
    return _workbook(calls, balance.filename(year=year, authority_id=authority_id))


@blp.route("/calls/<int:call_id>/exports/jury.xlsx", methods=["GET"])
@blp.doc(security=SECURITY)
@token_required
@roles_required("instructor")
@blp.response(200, content_type=XLSX)
def jury_report(call_id):
    """The jury report: scores per juror and criterion, aggregates, flags (instructor)."""
    call = call_or_404(call_id, "instructor")
    return send_file(io.BytesIO(jury.build(call)), mimetype=XLSX, as_attachment=True,
                     download_name=f"jury-appel-{call.id}.xlsx")
