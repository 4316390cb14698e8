"""Open data: the SCDL *subventions* CSV of a call (SPEC 6 and 7.1)."""

from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint

from aap.api.auth import SECURITY, current_api_user, token_required
from aap.services.exports import scdl

blp = Blueprint("api_open_data", __name__, description="Open data")


@blp.route("/calls/<int:call_id>/exports/scdl.csv", methods=["GET"])
@blp.doc(security=SECURITY)
@token_required
@blp.response(200, {"type": "string"}, content_type="text/csv",
              description="The CSV (UTF-8, comma-separated, a header line then one row "
                          "per granted application), as an attachment.")
def scdl_csv(call_id):
    """The SCDL subventions CSV of the call: one row per granted application, valid
    against the official schema scdl/subventions 2.1.1 (finance, instructor)."""
    call = scdl.call_for(current_api_user(), call_id)
    return Response(scdl.build_scdl([call]), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{scdl.filename(call)}"'})
