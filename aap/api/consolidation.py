"""An authority's budget of a fiscal year, with each child's (SPEC 7.1)."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from aap.api.auth import SECURITY, current_api_user, roles_required, token_required
from aap.api.schemas import QueryInteger, StrictSchema
from aap.services import consolidation, policies

blp = Blueprint("api_consolidation", __name__, description="Authorities' consolidated budgets")


class FiscalYearArgs(StrictSchema):
    fiscal_year = QueryInteger(required=True, minimum=2000, maximum=2100, metadata={
        "description": "the fiscal year whose calls are summed"})


class BudgetFiguresOut(Schema):
    authority_id = fields.Integer()
    name = fields.String()
    budget_cents = fields.Integer(metadata={"description": "the calls' budgets"})
    granted_cents = fields.Integer(metadata={"description": "what the deliberations granted"})
    paid_cents = fields.Integer(metadata={"description": "what was paid"})
    available_cents = fields.Integer(metadata={
        "description": "budget less what the grants commit"})


class AuthorityBudgetOut(BudgetFiguresOut):
    fiscal_year = fields.Integer()
    children = fields.List(fields.Nested(BudgetFiguresOut), metadata={
        "description": "each direct child, its figures summing its own calls and those of "
                       "every authority below it"})


@blp.route("/authorities/<int:authority_id>/budget", methods=["GET"])
@blp.doc(security=SECURITY)
@token_required
@roles_required(*policies.FIGURE_READERS)
@blp.arguments(FiscalYearArgs, location="query")
@blp.response(200, AuthorityBudgetOut)
def authority_budget(args, authority_id):
    """The money figures of the authority's own calls of the fiscal year (the calls'
    ``budget`` of GET /calls/{id}, summed), and each direct child's, a child's summing
    its own calls and its descendants'. Its staff, its ancestors' staff and platform-wide
    staff read them; any other authority is 404."""
    return consolidation.authority_budget(current_api_user(), authority_id,
                                          args["fiscal_year"])
