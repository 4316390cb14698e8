from __future__ import annotations

from flask_smorest import Blueprint

from aap.api.auth import SECURITY, current_api_user, require_role, token_required
from aap.api.schemas import OrganisationIn, OrganisationOut
from aap.api.serializers import organisation_out
from aap.services import organisations

blp = Blueprint("api_organisations", __name__, description="Organisations (porteurs)")


@blp.route("/organisations", methods=["POST"])
@blp.doc(security=SECURITY)
@token_required
@blp.arguments(OrganisationIn)
@blp.response(201, OrganisationOut)
def create_organisation(data):
    """Create an organisation; SIRET, RNA, IBAN and BIC are checked. The caller joins it."""
    user = current_api_user()
    require_role(user, "applicant")
    return organisation_out(organisations.create_organisation(user, data))
