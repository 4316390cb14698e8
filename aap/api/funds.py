from __future__ import annotations

from flask_smorest import Blueprint

from aap.api.auth import SECURITY, current_api_user, roles_required, token_required
from aap.api.schemas import FundIn, FundOut
from aap.api.serializers import fund_out
from aap.services import calls

blp = Blueprint("api_funds", __name__, description="Funds (dispositifs)")


@blp.route("/funds", methods=["POST"])
@blp.doc(security=SECURITY)
@token_required
@roles_required("instructor")
@blp.arguments(FundIn)
@blp.response(201, FundOut)
def create_fund(data):
    return fund_out(calls.create_fund(data, actor=current_api_user()))
