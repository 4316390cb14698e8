from __future__ import annotations

import io

from flask import send_file
from flask_smorest import Blueprint

from aap.api.auth import (
    SECURITY,
    call_or_404,
    roles_required,
    token_required,
)
from aap.services.exports import jury

blp = Blueprint("api_exports", __name__, description="Exports")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@blp.route("/calls/<int:call_id>/exports/jury.xlsx", methods=["GET"])
@blp.doc(security=SECURITY)
@token_required
@roles_required("instructor")
@blp.response(200, content_type=XLSX)
def jury_report(call_id):
    """The jury report: scores per juror and criterion, aggregates, flags (instructor)."""
    call = call_or_404(call_id)
    return send_file(io.BytesIO(jury.build(call)), mimetype=XLSX, as_attachment=True,
                     download_name=f"jury-appel-{call.id}.xlsx")
